"""The composition root: builds the python-telegram-bot ``Application`` around ``Services``.

Tests, the demo and ``tapwork run`` all come through ``build_application`` so that what is
tested is what runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, Application, ContextTypes, Defaults, JobQueue
from telegram.request import BaseRequest, HTTPXRequest

import handlers
import handlers.bursts
import handlers.menu
import handlers.notices
from bot.clock import Clock
from bot.config import TOKEN_ENV, Config
from bot.domain.errors import BotApiError
from bot.runlock import RunLock
from bot.services.broadcast_runner import BroadcastRunner
from bot.wiring import Services
from handlers.broadcast import invitation_message
from handlers.common import App, Context
from handlers.context import TapworkContext
from handlers.http import AiohttpRequest
from handlers.sending import TelegramSender

log = logging.getLogger(__name__)
#: opt in to PTB 22's durations as ``timedelta`` (it warns on every ``RetryAfter`` otherwise)
os.environ.setdefault("PTB_TIMEDELTA", "true")

#: how many updates are handled at once; correctness never depends on order because
#: every state change is a conditional write in one transaction
CONCURRENT_UPDATES = 64
#: HTTP connections to the Bot API, and how long a call may wait for a free one
CONNECTIONS = 8
POOL_TIMEOUT = 30.0


def http_requests(http: str) -> tuple[BaseRequest, BaseRequest]:
    """The requests for Bot API calls and for the long poll, on ``telegram.http``'s client.

    Few connections, waited for patiently: httpcore's pool bookkeeping grows with the
    square of open connections, which cost more than queueing for one (aiohttp gets the
    same settings, so the two compare fairly). The long poll has a connection of its own,
    as PTB's builder gives it.
    """
    if http == "httpx":
        return (HTTPXRequest(connection_pool_size=CONNECTIONS, pool_timeout=POOL_TIMEOUT),
                HTTPXRequest(connection_pool_size=1))
    return (AiohttpRequest(connection_pool_size=CONNECTIONS, pool_timeout=POOL_TIMEOUT),
            AiohttpRequest(connection_pool_size=1))


def build_application(services: Services) -> App:
    tg = services.config.telegram
    calls, polls = http_requests(tg.http)
    application = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.api_base_url)
        .base_file_url(tg.file_base_url)
        .rate_limiter(AIORateLimiter(overall_max_rate=tg.max_rate, group_max_rate=0,
                                     max_retries=tg.max_retries))
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(calls)
        .get_updates_request(polls)
        # every handler and job gets our context: services typed, the worker read once
        .context_types(ContextTypes(context=TapworkContext, bot_data=dict))
        # every text is HTML, escaped once by handlers/say.py
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .job_queue(JobQueue[Context]())
        .build()
    )
    application.bot_data["services"] = services
    application.bot_data["broadcasts"] = BroadcastRunner(
        services.broadcasts, services.workers, TelegramSender(application.bot),
        invitation_message)
    handlers.register(application)
    assert application.job_queue is not None, "install python-telegram-bot[job-queue]"
    for name, job, interval in _jobs(services):
        application.job_queue.run_repeating(job, interval=interval, first=1, name=name)
    return application


Job = Callable[[Context], Coroutine[Any, Any, None]]


def _jobs(services: Services) -> list[tuple[str, Job, float]]:
    """Every repeating job, by name, in the order they first run: events become notices
    before notices go out, so a project's invitation can leave in the same round."""
    work = services.config.work
    return [
        ("expire-leases", _expire_leases, work.lease_check_seconds),
        ("settle-units", _settle, work.settle_check_seconds),
        ("queue-notices", _queue_notices, work.lease_check_seconds),
        ("deliver-notices", handlers.notices.deliver_notices, work.lease_check_seconds),
        ("start-broadcasts", _start_broadcasts, work.lease_check_seconds),
        ("end-bursts", handlers.bursts.end_bursts, work.lease_check_seconds),
    ]


async def _queue_notices(context: Context) -> None:
    """Project events and the evening's daily summaries become outbox notices."""
    services = context.services
    await services.broadcasts.notify_events()
    await services.broadcasts.daily_summaries(services.payroll)


async def _start_broadcasts(context: Context) -> None:
    """Broadcasts queued by another process (``tapwork broadcast``) start sending."""
    runner: BroadcastRunner = context.bot_data["broadcasts"]
    await runner.poll()


async def _settle(context: Context) -> None:
    services = context.services
    settled = await services.payroll.settle_due()
    if settled:
        log.info("settled %d units", settled)


async def _expire_leases(context: Context) -> None:
    services = context.services
    returned = await services.work.expire_leases()
    if returned:
        log.info("returned %d items whose lease expired", returned)


@contextlib.asynccontextmanager
async def running(config: Config, clock: Clock | None = None, *,
                  poll_timeout: int = 10) -> AsyncIterator[tuple[App, Services]]:
    """Open the services, start the bot polling, and shut everything down in order.

    Used by ``tapwork run``, the demo, the benchmarks and the end-to-end tests, so they
    all start the bot the same way.
    """
    # one running bot per database, taken before anything is opened or migrated
    with RunLock(config.storage.target):
        services = await Services.open(config, clock)
        try:
            # a bot runs for days: keep SQLite's checkpoints off the event loop
            await services.db.checkpoint_in_background()
            # notices a dead process left on the wire are in doubt: counted, never resent
            # (before the jobs start, so no claim of this process is among them)
            await services.notices.settle_in_flight()
            # an import a crash interrupted is published in full, or removed if it had not
            # reached its commit (bot/loader.py)
            await services.catalog.recover_imports()
            application = build_application(services)
            async with application:
                await handlers.menu.set_menus(application.bot, services)
                await application.start()
                runner: BroadcastRunner = application.bot_data["broadcasts"]
                await runner.resume()
                assert application.updater is not None
                await application.updater.start_polling(
                    poll_interval=0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)
                try:
                    yield application, services
                finally:
                    await application.updater.stop()
                    await runner.stop()
                    await application.stop()
        finally:
            await services.close()


async def check_bot_api(config: Config) -> None:
    """Ask Telegram who the bot is before anything else opens, so that a wrong token or
    no network ends ``tapwork run`` with one line instead of a traceback (and before the
    database file is created)."""
    tg = config.telegram
    calls, polls = http_requests(tg.http)
    try:
        async with Bot(tg.token, base_url=tg.api_base_url, base_file_url=tg.file_base_url,
                       request=calls, get_updates_request=polls):
            pass  # initialize() calls getMe
    except TelegramError as exc:
        raise bot_api_error(exc, config) from None


def bot_api_error(exc: TelegramError, config: Config) -> BotApiError:
    """One line an operator can act on; never the token (PTB's own text contains it)."""
    parts = urlsplit(config.telegram.api_base_url)
    server = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "the configured URL"
    if isinstance(exc, InvalidToken):
        return BotApiError("Telegram refused the bot token (check telegram.token in {where} "
                           "or {env})", where=config.source, env=TOKEN_ENV)
    if isinstance(exc, TimedOut):
        return BotApiError("cannot reach the Bot API at {server}: no answer in time",
                           server=server)
    if isinstance(exc, NetworkError):
        # the text is "httpx.ConnectError: <why>" (or "aiohttp.…"): the class name says
        # nothing more
        why = exc.message.split(": ", 1)[-1] \
            if exc.message.startswith(("httpx.", "aiohttp.")) else exc.message
        return BotApiError("cannot reach the Bot API at {server}: {why}", server=server,
                           why=why or type(exc).__name__)
    return BotApiError("the Bot API at {server} answered with an error: {why}",
                       server=server, why=exc.message)


async def run_forever(config: Config, clock: Clock | None = None) -> None:
    """``tapwork run``: poll until SIGINT or SIGTERM."""
    await check_bot_api(config)
    stop = asyncio.Event()
    event_loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            event_loop.add_signal_handler(sig, stop.set)
    try:
        async with running(config, clock):
            log.info("tapwork is running; press Ctrl+C to stop")
            await stop.wait()
    except (InvalidToken, NetworkError) as exc:  # the token was revoked, or the network
        raise bot_api_error(exc, config) from None  # went, between the check and start
