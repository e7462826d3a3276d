"""One ``tapwork run`` per database: a second refuses in one line, a crash frees the lock."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from bot.app import running
from bot.domain.errors import AlreadyRunning
from bot.runlock import RunLock
from bot.sim.standin import BotApiStandIn
from tests.conftest import e2e_config, polling_config, start_bot, stop_bot

START_TIMEOUT = 30.0


async def _polling(server: BotApiStandIn, process: asyncio.subprocess.Process,
                   since: int) -> None:
    """Until the process has started polling (PTB deletes the webhook right before)."""
    for _ in range(int(START_TIMEOUT / 0.05)):
        if server.count("deleteWebhook") > since:
            return
        if process.returncode is not None:
            err = (await process.stderr.read()).decode() if process.stderr else ""
            pytest.fail(f"the bot exited {process.returncode} before polling: {err[-2000:]}")
        await asyncio.sleep(0.05)
    pytest.fail(f"the bot did not start polling in {START_TIMEOUT} s")


async def test_a_second_run_refuses_and_a_killed_one_frees_the_database(tmp_path: Path
                                                                        ) -> None:
    async with BotApiStandIn() as server:
        config = polling_config(server, tmp_path)
        first = await start_bot(config)
        second = third = None
        try:
            await _polling(server, first, 0)

            second = await start_bot(config)
            await asyncio.wait_for(second.wait(), START_TIMEOUT)
            assert second.stderr is not None
            err = (await second.stderr.read()).decode()
            assert second.returncode == 2, err
            assert err.splitlines() == [
                f"tapwork: another tapwork run is using {tmp_path / 'tapwork.db'} "
                f"(pid {first.pid})"]
            phone = server.phone(90, "Kim")
            await phone.send("/start")  # the first one carries on, alone
            await phone.wait_for(lambda p: p.messages, 20)
            assert first.returncode is None

            first.send_signal(signal.SIGKILL)
            await first.wait()
            webhooks = server.count("deleteWebhook")
            third = await start_bot(config)
            await _polling(server, third, webhooks)  # the kernel dropped the dead one's lock
            assert (tmp_path / "tapwork.db.lock").read_text() == f"{third.pid}\n"
            await stop_bot(third)
            assert third.returncode == 0
        finally:
            for process in (first, second, third):
                if process is not None:
                    await stop_bot(process)


def test_the_lock_is_one_per_database_path(tmp_path: Path) -> None:
    db = tmp_path / "tapwork.db"
    with RunLock(db) as held:
        assert held.held
        with pytest.raises(AlreadyRunning, match=rf"using {db} \(pid {os.getpid()}\)"):
            RunLock(db).acquire()
        with RunLock(tmp_path / "other.db") as other:  # another database is another lock
            assert other.held
    with RunLock(db) as again:  # released on exit
        assert again.held
    with RunLock(":memory:") as memory:
        assert not memory.held


async def test_an_in_process_bot_holds_its_database_until_it_stops(
        server: BotApiStandIn, tmp_path: Path) -> None:
    config = e2e_config(server, tmp_path / "tapwork.db")
    async with running(config, poll_timeout=1):
        with pytest.raises(AlreadyRunning):
            async with running(config, poll_timeout=1):
                pass
    async with running(config, poll_timeout=1) as (_app, services):
        assert await services.workers.get(1) is None  # the same database opens again


def test_webhook_replicas_share_the_lock_and_never_run_beside_a_polling_bot(
        tmp_path: Path) -> None:
    db = tmp_path / "tapwork.db"
    # two replicas; a polling run beside them would delete their webhook
    with RunLock(db, shared=True), RunLock(db, shared=True), pytest.raises(AlreadyRunning):
        RunLock(db).acquire()
    with RunLock(db), pytest.raises(AlreadyRunning):
        RunLock(db, shared=True).acquire()
