"""The composition root: builds the python-telegram-bot ``Application`` around ``Services``.

Tests, the demo and ``tapwork run`` all come through ``build_application`` so that what is
tested is what runs.
"""

from __future__ import annotations

import logging

from telegram import BotCommand
from telegram.ext import AIORateLimiter, Application, ContextTypes

import handlers
from bot.services import Services

log = logging.getLogger(__name__)

#: how many updates are handled at once; correctness never depends on order because
#: every state change is a conditional write in one transaction
CONCURRENT_UPDATES = 64


def build_application(services: Services) -> Application:
    tg = services.config.telegram
    application = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.api_base_url)
        .base_file_url(tg.file_base_url)
        .rate_limiter(AIORateLimiter(overall_max_rate=tg.max_rate, group_max_rate=0,
                                     max_retries=tg.max_retries))
        .concurrent_updates(CONCURRENT_UPDATES)
        .context_types(ContextTypes(bot_data=dict))
        .post_init(_post_init)
        .build()
    )
    application.bot_data["services"] = services
    handlers.register(application)
    assert application.job_queue is not None, "install python-telegram-bot[job-queue]"
    application.job_queue.run_repeating(
        _expire_leases, interval=services.config.work.lease_check_seconds, first=1,
        name="expire-leases")
    return application


async def _expire_leases(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.bot_data["services"]
    returned = await services.loop.expire_leases()
    if returned:
        log.info("returned %d items whose lease expired", returned)


async def _post_init(application: Application) -> None:
    """Set the command menu; runs under ``run_polling`` only, and nothing depends on it."""
    await application.bot.set_my_commands(
        [BotCommand("tasks", "Tasks"), BotCommand("help", "Help")])
