"""What every handler needs: its context type, counting for phones, and safe sending."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, ExtBot, JobQueue

from bot.services.catalog import MANY
from handlers.context import TapworkContext
from handlers.http import NEVER_SENT

#: the context of every handler and job (``handlers.context``): services, worker, language
Context = TapworkContext
#: what PTB's handler classes accept as a callback: an ``async def`` (a coroutine
#: function, not any awaitable-returning callable, since PTB schedules it as a task)
Handler = Callable[[Update, Context], Coroutine[Any, Any, Any]]
#: the Application bot/app.py builds: our context, plain dicts for data, and a bot typed
#: by its rate limiter's per-call argument (``Any``: it is not passed per call)
App = Application[ExtBot[Any], Context, dict[Any, Any], dict[Any, Any], dict[Any, Any],
                  JobQueue[Context]]


def many(count: int) -> int | str:
    """A count of waiting items as a phone shows it: the counting stops past ``MANY``."""
    return count if count <= MANY else f"{MANY}+"


def never_left(error: Exception) -> bool:
    """Whether a failed send certainly did not reach the chat, so sending it again cannot
    make a second copy: Telegram answered and refused it (400, 403, 429), or the request
    never left (no connection, no free connection in the pool). Anything else (no answer
    in time, a dropped connection, a 5xx, an unexpected error) may have been delivered.
    """
    if isinstance(error, BadRequest | Forbidden | RetryAfter | InvalidToken):
        return True
    return isinstance(error, NetworkError) and isinstance(error.__cause__, NEVER_SENT)
