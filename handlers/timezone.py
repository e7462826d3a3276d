"""The time-zone line of /settings: a picker by UTC offset with a city in the reader's
words ("UTC+9 · 서울"); the button data carries the zone name, checked against the
picker's own list, so a forged one changes nothing."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardMarkup, Update

from bot.domain import timezones
from bot.i18n import Gettext
from handlers import say
from handlers.callbacks import TimeZone
from handlers.common import Context
from handlers.keyboards import button, stale
from handlers.settings import settings_screen

#: ``TimeZone()`` opens the picker, ``TimeZone(zone)`` chooses, ``TimeZone(BACK)`` leaves
BACK = "back"


def zone_screen(current: str, now: datetime, _: Gettext) -> InlineKeyboardMarkup:
    """Two places a row, west to east; the worker's own zone is ticked."""
    buttons = [button(("✓ " if name == current else "") + text, TimeZone(name))
               for name, text in timezones.picker(now, _.language)]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(_("◀️ Back"), TimeZone(BACK))])
    return InlineKeyboardMarkup(rows)


async def callback(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    services = context.services
    worker = await context.worker()
    tapped = TimeZone.parse(query.data)
    chosen = tapped.zone if tapped else None
    _ = await context.gettext()
    if worker is None or tapped is None or (
            chosen not in (None, BACK) and not timezones.offered(chosen)):
        await stale(query, _)
        return
    now = services.clock.now()
    if chosen is None:
        await query.answer()
        await say.edit_query(query, _("Pick a place that has the same time as you."),
                             reply_markup=zone_screen(worker.timezone, now, _))
        return
    if chosen == BACK:
        await query.answer()
    else:
        worker = await services.workers.update(user.id, timezone=chosen)
        await query.answer(_("Saved."))
    text, markup = settings_screen(worker, _, now=now)
    await say.edit_query(query, text, reply_markup=markup)
