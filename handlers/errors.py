"""The last line of defence: blocked users, network trouble and our own bugs."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut
from telegram.ext import ApplicationHandlerStop

from bot.domain.errors import DatabaseBusy
from handlers import say
from handlers.common import Context

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    error = context.error
    user = update.effective_user if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        if user is not None:
            log.info("user %s blocked the bot; marking them inactive", user.id)
            await context.services.workers.blocked(user.id)
        return
    if isinstance(error, BadRequest):
        # e.g. a callback answered too late; the user's data is unaffected
        log.warning("Telegram refused a call: %s", error)
        return
    if isinstance(error, TimedOut | NetworkError):
        # the answer is already committed; /tasks shows the open task again
        log.warning("Telegram did not answer in time: %s", error)
        return
    if isinstance(error, DatabaseBusy):
        # another program held the database's write lock too long: what failed wrote
        # nothing, so the same tap again works; say so once and stop this update here
        log.warning("database busy%s: %s", f" for user {user.id}" if user else "", error)
        if isinstance(update, Update) and update.effective_chat is not None:
            _ = await context.gettext()
            try:
                if update.callback_query is not None:
                    with contextlib.suppress(BadRequest):  # answered before it failed
                        await update.callback_query.answer()
                await say.send(context.bot, update.effective_chat.id,
                               _("The bot is busy, please try again in a moment."))
            except Exception:
                log.debug("could not tell the user the bot is busy", exc_info=True)
        raise ApplicationHandlerStop
    log.error("unhandled error for update %r", update, exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        _ = await context.gettext()
        try:
            await say.send(
                context.bot, update.effective_chat.id,
                _("Sorry, something went wrong on our side. Your answers are safe; tap /tasks "
                  "to carry on."))
        except Exception:
            log.debug("could not tell the user about the error", exc_info=True)
