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

from aiohttp import web
from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes, Defaults, JobQueue, TypeHandler
from telegram.request import BaseRequest, HTTPXRequest

import handlers
import handlers.bursts
import handlers.menu
import handlers.notices
from bot.clock import Clock
from bot.config import TOKEN_ENV, Config
from bot.domain.errors import BotApiError
from bot.runlock import RunLock
from bot.services.broadcast_runner import BroadcastRunner, PaceFor
from bot.services.notices import IN_FLIGHT_TIMEOUT
from bot.services.pacing import SharedBucket, SharedPace
from bot.wiring import Services
from handlers.broadcast import invitation_message
from handlers.common import App, Context
from handlers.context import TapworkContext
from handlers.http import AiohttpRequest
from handlers.ratelimit import TapworkRateLimiter
from handlers.sending import TelegramSender
from handlers.web.dashboard import dashboard_app
from handlers.web.metrics import Metrics
from handlers.web.miniapp import add_routes as add_miniapp
from handlers.web.miniapp.chat import next_question_in_chat, next_task_in_chat
from handlers.web.server import Mount, WebServer, build_web_app

log = logging.getLogger(__name__)
#: opt in to PTB 22's durations as ``timedelta`` (it warns on every ``RetryAfter`` otherwise)
os.environ.setdefault("PTB_TIMEDELTA", "true")

#: how many updates are handled at once; correctness never depends on order because
#: every state change is a conditional write in one transaction
CONCURRENT_UPDATES = 64
#: HTTP connections to the Bot API, and how long a call may wait for a free one
CONNECTIONS = 8
POOL_TIMEOUT = 30.0
#: how often replicas settle what a dead replica left in flight, and prune old claims
SWEEP_SECONDS = 60.0


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


def build_application(services: Services, metrics: Metrics | None = None) -> App:
    """The PTB application. In webhook mode (``webhook.url``) it has no ``Updater``: the
    web server feeds it, and the send rates are shared with the other replicas through
    the database."""
    tg = services.config.telegram
    metrics = metrics or Metrics()
    replicas = services.config.webhook.enabled
    calls, polls = http_requests(tg.http)
    shared = SharedBucket(services.db, "telegram", tg.max_rate) \
        if replicas and tg.max_rate > 0 else None
    builder = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.api_base_url)
        .base_file_url(tg.file_base_url)
        .rate_limiter(TapworkRateLimiter(max_rate=tg.max_rate, max_retries=tg.max_retries,
                                         shared=shared, on_429=metrics.too_many.inc))
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(calls)
        # every handler and job gets our context: services typed, the worker read once
        .context_types(ContextTypes(context=TapworkContext, bot_data=dict))
        # every text is HTML, escaped once by handlers/say.py
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .job_queue(JobQueue[Context]())
    )
    builder = builder.updater(None) if replicas else builder.get_updates_request(polls)
    application = builder.build()
    application.bot_data["services"] = services
    application.bot_data["metrics"] = metrics
    application.bot_data["broadcasts"] = BroadcastRunner(
        services.broadcasts, services.workers, TelegramSender(application.bot),
        invitation_message, pace=_shared_pace(services) if replicas else None)
    if not replicas:  # the web server counts what it is posted; polling counts here
        application.add_handler(TypeHandler(Update, _counter(metrics)), group=-100)
    handlers.register(application)
    assert application.job_queue is not None, "install python-telegram-bot[job-queue]"
    for name, job, interval in _jobs(services):
        application.job_queue.run_repeating(_counted(name, job, metrics), interval=interval,
                                            first=1, name=name)
    return application


def _shared_pace(services: Services) -> PaceFor:
    """Each broadcast's pace in a bucket of its own, shared by every replica."""
    db = services.db
    return lambda b: SharedPace(SharedBucket(db, f"broadcast:{b.id}", b.rate))


def _counter(metrics: Metrics) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    async def count(update: Update, context: Context) -> None:
        metrics.update("handled")
    return count


Job = Callable[[Context], Coroutine[Any, Any, None]]


def _counted(name: str, job: Job, metrics: Metrics) -> Job:
    async def run(context: Context) -> None:
        metrics.jobs.labels(name).inc()
        try:
            await job(context)
        except Exception:
            metrics.job_failures.labels(name).inc()
            raise
    return run


def _jobs(services: Services) -> list[tuple[str, Job, float]]:
    """Every repeating job, by name, in the order they first run: events become notices
    before notices go out, so a project's invitation can leave in the same round. Each
    may run on every replica at once: each claims its work in a write transaction
    (README, "Deployment")."""
    work = services.config.work
    jobs: list[tuple[str, Job, float]] = [
        ("expire-leases", _expire_leases, work.lease_check_seconds),
        ("settle-units", _settle, work.settle_check_seconds),
        ("queue-notices", _queue_notices, work.lease_check_seconds),
        ("deliver-notices", handlers.notices.deliver_notices, work.lease_check_seconds),
        ("start-broadcasts", _start_broadcasts, work.lease_check_seconds),
        ("end-bursts", handlers.bursts.end_bursts, work.lease_check_seconds),
    ]
    if services.config.webhook.enabled:
        jobs += [("settle-in-doubt", _settle_in_doubt, SWEEP_SECONDS),
                 ("prune-update-claims", _prune_claims, SWEEP_SECONDS)]
    return jobs


async def _settle_in_doubt(context: Context) -> None:
    """Replicas: what a dead replica left on the wire is in doubt once it is old enough
    (one process does this at start-up, under the run lock)."""
    services = context.services
    await services.notices.settle_in_flight(IN_FLIGHT_TIMEOUT)
    await services.broadcasts.resumable(IN_FLIGHT_TIMEOUT)


async def _prune_claims(context: Context) -> None:
    pruned = await context.services.updates.prune()
    if pruned:
        log.info("forgot %d handled updates older than 48 hours", pruned)


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
                  poll_timeout: int = 10, set_webhook: bool = True
                  ) -> AsyncIterator[tuple[App, Services]]:
    """Open the services, start the bot (polling, or taking webhook posts), and shut
    everything down in order.

    Used by ``tapwork run``, the demo, the benchmarks and the end-to-end tests, so they
    all start the bot the same way. ``set_webhook=False`` (``--no-set-webhook``) leaves
    Telegram's webhook as it is.
    """
    replicas = config.webhook.enabled
    # one running bot per database, taken before anything is opened or migrated; webhook
    # replicas share it with each other, never with a polling run
    with RunLock(config.storage.target, shared=replicas):
        metrics = Metrics()
        services = await Services.open(config, clock, meter=metrics)
        try:
            # a bot runs for days: keep SQLite's checkpoints off the event loop
            await services.db.checkpoint_in_background()
            # notices a dead process left on the wire are in doubt: counted, never resent
            # (before the jobs start, so no claim of this process is among them; with
            # replicas only old claims, as another replica may be sending the rest)
            older = IN_FLIGHT_TIMEOUT if replicas else None
            await services.notices.settle_in_flight(older)
            # an import a crash interrupted is published in full, or removed if it had not
            # reached its commit (bot/loader.py)
            await services.catalog.recover_imports()
            application = build_application(services, metrics)
            web = WebServer(build_web_app(application, services, metrics,
                                          mounts=_pages(application, services)), config) \
                if config.webhook.address is not None else None
            async with application:
                await handlers.menu.set_menus(application.bot, services)
                await application.start()
                runner: BroadcastRunner = application.bot_data["broadcasts"]
                await runner.resume(older)
                try:
                    await _take_updates(application, config, web, poll_timeout, set_webhook)
                    yield application, services
                finally:
                    if web is not None:  # no more posts, then no more polling
                        await web.stop()
                    if application.updater is not None and application.updater.running:
                        await application.updater.stop()
                    await runner.stop()
                    await application.stop()
        finally:
            await services.close()


def _pages(application: App, services: Services) -> list[Mount]:
    """What the web server serves beside Telegram's posts and health: the operators'
    dashboard under /dashboard (its sign-in links are built as PUBLIC_URL/dashboard/…)
    and the Mini App under /app, both talking to this process's running bot."""
    runner: BroadcastRunner = application.bot_data["broadcasts"]

    def dashboard(app: web.Application) -> None:
        app.add_subapp("/dashboard", dashboard_app(services, launch=runner.launch))

    def miniapp(app: web.Application) -> None:
        add_miniapp(app, services, next_task_in_chat(application),
                    next_question_in_chat(application))

    return [dashboard, miniapp]


async def _take_updates(application: App, config: Config, web: WebServer | None,
                        poll_timeout: int, set_webhook: bool) -> None:
    """Start the web server, then ask Telegram to post there (webhook mode), or poll."""
    if web is not None:
        await web.start()
    hook = config.webhook
    if not hook.enabled:
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)
        return
    if not set_webhook:
        return
    # the same url, secret and updates from every replica: whichever starts first sets
    # it, the others set it again unchanged (Telegram keeps pending updates)
    try:
        await application.bot.set_webhook(hook.url, secret_token=hook.secret_token,
                                          allowed_updates=Update.ALL_TYPES)
    except (InvalidToken, NetworkError):
        raise  # run_forever says it in one line
    except TelegramError as exc:
        raise BotApiError("Telegram refused the webhook {url}: {why}", url=hook.url,
                          why=exc.message) from None
    log.info("Telegram posts updates to %s", hook.url)


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


async def run_forever(config: Config, clock: Clock | None = None, *,
                      set_webhook: bool = True) -> None:
    """``tapwork run``: poll (or take webhook posts) until SIGINT or SIGTERM."""
    await check_bot_api(config)
    stop = asyncio.Event()
    event_loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            event_loop.add_signal_handler(sig, stop.set)
    try:
        async with running(config, clock, set_webhook=set_webhook):
            log.info("tapwork is running; press Ctrl+C to stop")
            await stop.wait()
    except (InvalidToken, NetworkError) as exc:  # the token was revoked, or the network
        raise bot_api_error(exc, config) from None  # went, between the check and start
