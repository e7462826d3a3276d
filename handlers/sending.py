"""Telegram's ``Sender`` (``bot/services/sending.py``): one message through ``handlers/say.py``,
and what came of it, told apart the way the delivery rules need.

What matters is whether a failed send may have arrived: Telegram refused it (400, 403,
429) or the request never left (no connection) means certainly not; anything else (no
answer in time, a dropped connection, a 5xx) may have, and is never sent again.
"""

from __future__ import annotations

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden
from telegram.error import RetryAfter as TelegramRetryAfter

from bot.services.sending import (
    Blocked,
    Failed,
    Outgoing,
    RetryAfter,
    SendResult,
    Sent,
    Unconfirmed,
)
from handlers import say
from handlers.common import never_left


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, message: Outgoing) -> SendResult:
        try:
            sent = await say.send(self.bot, chat_id, message.text,
                                  reply_markup=_markup(message),
                                  allow_paid_broadcast=True if message.paid else None)
        except Exception as exc:
            return outcome(exc)
        return Sent(sent.message_id)

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> SendResult:
        try:
            await say.edit_by_id(self.bot, chat_id, message_id, message.text,
                                 reply_markup=_markup(message))
        except Exception as exc:
            return outcome(exc)
        return Sent(message_id)


def _markup(message: Outgoing) -> InlineKeyboardMarkup | None:
    buttons = message.buttons
    return buttons if isinstance(buttons, InlineKeyboardMarkup) else None


def outcome(exc: Exception) -> SendResult:
    """What a send that raised ``exc`` means for the delivery rules."""
    why = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TelegramRetryAfter):  # the rate limiter's retries ran out
        delay = exc.retry_after
        return RetryAfter(float(delay.total_seconds() if hasattr(delay, "total_seconds")
                                else delay))
    if isinstance(exc, Forbidden):
        return Blocked()
    if isinstance(exc, BadRequest):
        return Failed(why)
    if never_left(exc):
        return Failed(why, transient=True)
    return Unconfirmed(why)
