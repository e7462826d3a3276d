"""What every handler needs: the services, the worker's language, and safe sending."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram import Update, User
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, ContextTypes, ExtBot, JobQueue

from bot.catalog import MANY
from bot.i18n import Gettext, gettext_for, language_for
from bot.records import Worker
from bot.services import Services

Context = ContextTypes.DEFAULT_TYPE
#: what PTB's handler classes accept as a callback: an ``async def`` (a coroutine
#: function, not any awaitable-returning callable, since PTB schedules it as a task)
Handler = Callable[[Update, Context], Coroutine[Any, Any, Any]]
#: the Application bot/app.py builds: PTB's default context, plain dicts for data, and a
#: bot typed by its rate limiter's per-call argument (``Any``: it is not passed per call)
App = Application[ExtBot[Any], Context, dict[Any, Any], dict[Any, Any], dict[Any, Any],
                  JobQueue[Context]]


def many(count: int) -> int | str:
    """A count of waiting items as a phone shows it: the counting stops past ``MANY``."""
    return count if count <= MANY else f"{MANY}+"


def services_of(context: Context) -> Services:
    services: Services = context.bot_data["services"]
    return services


async def gettext_of(update: Update, context: Context) -> Gettext:
    """The worker's chosen language if we know them, else Telegram's language setting."""
    user = update.effective_user
    if user is None:
        return gettext_for("en")
    return gettext_in(await services_of(context).workers.get(user.id), user)


def gettext_in(worker: Worker | None, user: User) -> Gettext:
    """The language of a worker whose row the caller has (the task loop gets it back from
    the answer's own transaction), else Telegram's setting."""
    return gettext_for(worker.language if worker else language_for(user.language_code))


def never_left(error: Exception) -> bool:
    """Whether a failed send certainly did not reach the chat, so sending it again cannot
    make a second copy: Telegram answered and refused it (400, 403, 429), or the request
    never left (no connection, no free connection in the pool). Anything else (no answer
    in time, a dropped connection, a 5xx, an unexpected error) may have been delivered.
    """
    if isinstance(error, BadRequest | Forbidden | RetryAfter | InvalidToken):
        return True
    return isinstance(error, NetworkError) and isinstance(
        error.__cause__, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
