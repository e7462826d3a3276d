"""Buttons and keyboards that several screens share, built in one place.

Every button's data is packed here from its typed kind (``handlers.callbacks``), so no
screen writes callback data by hand. Seniors tap big buttons: :func:`column` puts each
on a row of its own, the shape nearly every keyboard of the bot has.
"""

from __future__ import annotations

from collections.abc import Iterable

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Gettext
from handlers.callbacks import CallbackData, K, Pick, Tasks


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data.pack())


def column(buttons: Iterable[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """One button per row: the whole width of the phone for each."""
    return [[b] for b in buttons]


def other_projects(_: Gettext) -> InlineKeyboardButton:
    """ "📋 Other projects": back to /tasks, under nearly every screen of the work loop."""
    return button(_("📋 Other projects"), Tasks())


def only_other_projects(_: Gettext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[other_projects(_)]])


def start_project(text: str, project_id: int) -> InlineKeyboardButton:
    """ "▶️ Continue", "▶️ Start working", "▶️ Start": into a project."""
    return button(text, Pick(project_id))


async def stale(query: CallbackQuery, _: Gettext) -> None:
    """The answer to a button that is forged, malformed or left over from an earlier
    screen: nothing happened, and the worker is told so in a pop-up."""
    await query.answer(_("Sorry, this button does not work any more."))


async def read_tap(query: CallbackQuery, kind: type[K], _: Gettext) -> K | None:
    """The button ``kind`` this tap carries, or None once the tapper has been told the
    button is stale: the one way a handler taking a single kind reads its data."""
    parsed = kind.parse(query.data)
    if parsed is None:
        await stale(query, _)
    return parsed
