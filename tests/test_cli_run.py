"""``tapwork run`` as an operator starts it: in a subprocess, against the Bot API stand-in.

A wrong token or an unreachable Bot API is one line and exit code 2, and the token never
shows up in anything the process prints, quiet or ``--verbose``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest
from telegram.error import InvalidToken, NetworkError, TimedOut

from bot.app import bot_api_error
from bot.config import Config, TelegramConfig
from bot.redact import Redactor
from bot.sim.standin import BotApiStandIn
from tests.conftest import start_bot, stop_bot

WRONG = "654321:WRONG-secret-token-value_0123456789"


def write_config(tmp_path: Path, base: str, token: str | None) -> Path:
    file = tmp_path / "config.toml"
    token_line = f'token = "{token}"\n' if token else ""
    file.write_text(f'[telegram]\n{token_line}api_base_url = "{base}/bot"\n'
                    f'file_base_url = "{base}/file/bot"\n'
                    '[storage]\npath = "tapwork.db"\n'
                    "[work]\nlease_check_seconds = 0.2\nsettle_check_seconds = 0.2\n")
    return file


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket closes


async def test_wrong_token_is_one_line_without_the_token(server: BotApiStandIn,
                                                         tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{server.port}"
    config = write_config(tmp_path, base, WRONG)
    code, out, err = await finish(await start_bot(config, cwd=tmp_path, stdout=PIPE))
    assert code == 2
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith("tapwork: Telegram refused the bot token (check telegram.token")
    assert "TAPWORK_TOKEN" in err
    assert server.count("getMe") == 1  # it was Telegram (the stand-in) that refused
    assert not (tmp_path / "tapwork.db").exists()  # nothing was opened before the check

    # the same from the environment and with every log line on: still no token anywhere
    config = write_config(tmp_path, base, None)
    code, out, err = await finish(await start_bot(config, "-v", token=WRONG, cwd=tmp_path,
                                                  stdout=PIPE))
    assert code == 2 and "Traceback" not in err
    assert "/bot***/getMe" in err  # httpx's request line, masked
    assert WRONG not in out + err and WRONG.split(":")[1] not in out + err
    assert err.splitlines()[-1].startswith("tapwork: Telegram refused the bot token")


async def test_unreachable_bot_api_is_one_line(tmp_path: Path) -> None:
    port = closed_port()
    config = write_config(tmp_path, f"http://127.0.0.1:{port}", WRONG)
    code, out, err = await finish(await start_bot(config, cwd=tmp_path, stdout=PIPE))
    assert code == 2
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"tapwork: cannot reach the Bot API at http://127.0.0.1:{port}: ")
    assert WRONG not in err
    assert not (tmp_path / "tapwork.db").exists()


@pytest.mark.parametrize(("exc", "expected"), [
    (InvalidToken(f"The token `{WRONG}` was rejected by the server."),
     "Telegram refused the bot token (check telegram.token in c.toml or TAPWORK_TOKEN)"),
    (TimedOut(), "cannot reach the Bot API at https://api.telegram.org: no answer in time"),
    (NetworkError("httpx.ConnectError: [Errno -3] Temporary failure in name resolution"),
     "cannot reach the Bot API at https://api.telegram.org: [Errno -3] Temporary failure "
     "in name resolution"),
])
def test_start_up_failures_read_as_one_line(exc: Exception, expected: str) -> None:
    """DNS failures and time-outs cannot be made here without a network: their wording."""
    config = Config(telegram=TelegramConfig(token=WRONG), source="c.toml")
    assert str(bot_api_error(exc, config)) == expected  # type: ignore[arg-type]


async def wait_for_line(path: Path, text: str, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if text in await asyncio.to_thread(path.read_text, errors="replace"):
            return
        await asyncio.sleep(0.05)
    log = await asyncio.to_thread(path.read_text, errors="replace")
    raise AssertionError(f"{text!r} never appeared in the bot's log:\n{log}")


async def run_until(tmp_path: Path, server: BotApiStandIn, *flags: str, wait: str,
                    linger: float = 0.0) -> tuple[int, str]:
    """Start the bot with a working token, let a phone talk to it, wait for ``wait`` in
    its log (and ``linger`` seconds more), then stop it with SIGTERM."""
    config = write_config(tmp_path, f"http://127.0.0.1:{server.port}", server.token)
    log = tmp_path / f"stderr{len(flags)}.txt"
    with log.open("wb") as stderr:
        process = await start_bot(config, *flags, cwd=tmp_path, stdout=stderr, stderr=stderr)
    try:
        await wait_for_line(log, "tapwork is running")
        phone = server.phone(901, "Ann")
        await phone.send("/help")
        await phone.wait_for(lambda p: p.last)
        await wait_for_line(log, wait)
        await asyncio.sleep(linger)
    finally:
        await stop_bot(process)
    assert process.returncode is not None
    return process.returncode, log.read_text()


async def test_verbose_shows_job_runs_and_requests_with_the_token_masked(
        server: BotApiStandIn, tmp_path: Path) -> None:
    code, err = await run_until(tmp_path, server, "--verbose", wait="executed successfully")
    assert code == 0
    assert "Running job" in err and "HTTP Request: POST" in err
    assert "/bot***/getUpdates" in err
    assert server.token not in err and "TEST-TOKEN" not in err


async def test_quiet_run_prints_no_job_or_request_lines(server: BotApiStandIn,
                                                        tmp_path: Path) -> None:
    # the jobs run every 0.2 s from the first second after start: lingering 1.5 s after
    # "running" covers several runs (a slow machine could make this pass without them;
    # it cannot make it fail wrongly)
    code, err = await run_until(tmp_path, server, wait="tapwork is running", linger=1.5)
    assert code == 0
    assert "tapwork is running" in err
    assert "Running job" not in err and "executed successfully" not in err
    assert "HTTP Request" not in err
    assert server.token not in err


def test_redactor_masks_messages_arguments_and_tracebacks() -> None:
    redactor = Redactor(["123456:ABCdef-secret"])
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s",
                               ("POST", "http://x/bot123456:ABCdef-secret/getMe"), None)
    try:
        raise InvalidToken("The token `123456:ABCdef-secret` was rejected by the server.")
    except InvalidToken:
        record.exc_info = sys.exc_info()
    assert redactor.filter(record)
    assert record.getMessage() == "HTTP Request: POST http://x/bot***/getMe"
    assert record.exc_text and "ABCdef-secret" not in record.exc_text
    assert "The token `***` was rejected" in record.exc_text
    # a token nobody registered is still masked inside a Bot API URL
    assert Redactor().redact("GET /file/bot42:xyz_TOKEN/photos/1.jpg") == \
        "GET /file/bot***/photos/1.jpg"
