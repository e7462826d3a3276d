"""Each outbox notice reaches its worker at most once: two deliveries racing on one outbox,
and a bot killed (SIGKILL) while a pay notice is on the wire and started again."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from bot.app import build_application
from bot.config import Config, StorageConfig
from bot.sim.standin import BotApiStandIn
from bot.wiring import Services
from handlers.common import never_left
from handlers.context import TapworkContext
from handlers.notices import deliver_notices
from tests.conftest import Running, e2e_config, polling_config, start_bot, stop_bot
from tests.state import notice_outcomes

WORKERS = list(range(5000, 5020))
BONUS = "You got a bonus of"


async def _queue_bonuses(db: Path, workers: list[int]) -> None:
    """One pay notice per worker, written the way ``tapwork bonus`` writes it."""
    services = await Services.open(Config(storage=StorageConfig(path=str(db))))
    try:
        for w in workers:
            await services.workers.seen(w, f"W{w}", "en")
            await services.workers.consent(w)
            assert await services.payroll.bonus(w, 10_000, "USD", "thanks", f"k{w}")
    finally:
        await services.close()


def _bonuses(server: BotApiStandIn, worker: int) -> int:
    phone = server.phone(worker)
    return sum(1 for m in phone.messages if BONUS in (phone.text(m) or ""))


@contextlib.asynccontextmanager
async def _delivery(server: BotApiStandIn, db: Path) -> AsyncIterator[Application]:
    """A bot's Application on its own connection to ``db``, not polling: a second process
    delivering the same outbox, as two ``tapwork run`` did before the run lock."""
    services = await Services.open(e2e_config(server, db))
    try:
        application = build_application(services)
        async with application:
            yield application
    finally:
        await services.close()


async def test_two_deliveries_racing_on_one_outbox_send_each_notice_once(
        server: BotApiStandIn, tmp_path: Path) -> None:
    db = tmp_path / "tapwork.db"
    for w in WORKERS:
        server.phone(w, f"W{w}")
    await _queue_bonuses(db, WORKERS)
    # every answer comes late (the message itself arrives at once), so both loops are
    # always in the middle of a send when the other looks at the outbox
    server.delay("sendMessage", 0.02, times=len(WORKERS) * 2)
    async with _delivery(server, db) as first, _delivery(server, db) as second:
        await asyncio.gather(deliver_notices(TapworkContext(first)),
                             deliver_notices(TapworkContext(second)))
        await asyncio.gather(deliver_notices(TapworkContext(first)),
                             deliver_notices(TapworkContext(second)))
        outcomes = await first.bot_data["services"].notices.outcomes()

    assert [_bonuses(server, w) for w in WORKERS] == [1] * len(WORKERS)
    assert outcomes == {"sent": len(WORKERS)}


async def _until(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what}: not within {timeout} s")


async def test_a_bot_killed_while_sending_pay_notices_sends_none_twice(tmp_path: Path
                                                                       ) -> None:
    db = tmp_path / "tapwork.db"
    workers = WORKERS[:8]
    await _queue_bonuses(db, workers)
    async with BotApiStandIn() as server:
        for w in workers:
            server.phone(w, f"W{w}")
        config = polling_config(server, tmp_path)
        # each notice reaches its phone at once and Telegram's answer comes a second
        # later: the kill below lands while one is delivered but not yet confirmed
        server.delay("sendMessage", 1.0, times=3)
        process = await start_bot(config)
        try:
            await _until(lambda: sum(_bonuses(server, w) for w in workers) == 3, 30,
                         "three notices delivered")
            process.send_signal(signal.SIGKILL)
            await process.wait()
            assert notice_outcomes(db).get("sent", 0) == 2  # the third was not yet confirmed

            process = await start_bot(config)
            await _until(lambda: "open" not in notice_outcomes(db), 30, "the outbox emptied")
        finally:
            await stop_bot(process)
        log = (await process.stderr.read()).decode() if process.stderr else ""

    counts = [_bonuses(server, w) for w in workers]
    assert max(counts) == 1, counts  # nobody got one notice twice
    # the one on the wire when the process died arrived, is counted in doubt, and was not
    # sent again; every other notice was sent and confirmed once
    assert counts == [1] * len(workers)
    assert notice_outcomes(db) == {"sent": len(workers) - 1, "in_doubt": 1}
    assert process.returncode == 0, log[-2000:]
    assert "1 notice(s) were being sent when tapwork last stopped" in log


async def test_a_refused_notice_is_sent_later_and_an_unanswered_one_never_again(
        bot: Running) -> None:
    refused, lost = bot.server.phone(6001, "Ann"), bot.server.phone(6002, "Bo")
    bot.server.inject("sendMessage", 400, chat_id=refused.id)  # Telegram said no: not sent
    bot.server.inject("sendMessage", 502, chat_id=lost.id)  # no telling whether it went
    db = bot.services.db
    for worker in (refused.id, lost.id):
        await bot.services.workers.seen(worker, f"W{worker}", "en")
        await bot.services.workers.consent(worker)
        assert await bot.services.payroll.bonus(worker, 10_000, "USD", "thanks",
                                                f"k{worker}")
    await _until(lambda: notice_outcomes(db) == {"open": 1, "in_doubt": 1}, 10,
                 "one refused and one in doubt")
    bot.clock.advance(minutes=2)  # past the retry delay
    await _until(lambda: notice_outcomes(db) == {"sent": 1, "in_doubt": 1}, 10,
                 "the refused one sent on the next try")
    assert _bonuses(bot.server, refused.id) == 1
    assert _bonuses(bot.server, lost.id) == 0  # in doubt: never sent again


def test_only_a_send_that_certainly_never_arrived_is_tried_again() -> None:
    def caused(error: TelegramError, cause: Exception) -> TelegramError:
        error.__cause__ = cause
        return error

    request = httpx.Request("POST", "http://127.0.0.1/")
    refused = [BadRequest("Bad Request: chat not found"), RetryAfter(timedelta(seconds=1)),
               caused(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused")),
               caused(TimedOut("Pool timeout"), httpx.PoolTimeout("pool")),
               caused(TimedOut(), httpx.ConnectTimeout("connect"))]
    maybe = [TimedOut(), caused(TimedOut(), httpx.ReadTimeout("read", request=request)),
             NetworkError("Bad Gateway"), NetworkError("Internal Server Error (500)"),
             caused(NetworkError("httpx.RemoteProtocolError"),
                    httpx.RemoteProtocolError("Server disconnected")),
             ValueError("a bug after the request went out")]
    assert [never_left(e) for e in refused] == [True] * len(refused)
    assert [never_left(e) for e in maybe] == [False] * len(maybe)
