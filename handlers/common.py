"""What every handler needs: the services, the worker's language, and safe sending."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import Gettext, gettext_for, language_for
from bot.services import Services
from storage.workers import WorkerRow

Context = ContextTypes.DEFAULT_TYPE


def services_of(context: Context) -> Services:
    return context.bot_data["services"]  # type: ignore[no-any-return]


async def gettext_of(update: Update, context: Context) -> Gettext:
    """The worker's chosen language if we know them, else Telegram's language setting."""
    return (await reader_of(update, context))[1]


async def reader_of(update: Update, context: Context) -> tuple[WorkerRow | None, Gettext]:
    """Who is reading (None before their first visit) and in which language, in one read:
    the task loop needs both on every tap."""
    user = update.effective_user
    if user is None:
        return None, gettext_for("en")
    worker = await services_of(context).workers.get(user.id)
    return worker, gettext_for(worker.language if worker else language_for(user.language_code))
