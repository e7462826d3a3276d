"""The time-zone line of /settings: a picker by UTC offset with a city in the reader's
words ("UTC+9 · 서울"); the button data carries the zone name, checked against the
picker's own list, so a forged one changes nothing."""

from __future__ import annotations

import re
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import timezones
from bot.i18n import Gettext, gettext_for
from handlers import say
from handlers.common import Context, services_of
from handlers.settings import settings_screen

#: ``set:tz`` opens the picker, ``set:tz:<zone>`` chooses, ``set:tz:back`` leaves it
_DATA = re.compile(r"^set:tz(?::([A-Za-z0-9_+\-/]{1,40}))?$")
BACK = "back"


def zone_screen(current: str, now: datetime, _: Gettext) -> InlineKeyboardMarkup:
    """Two places a row, west to east; the worker's own zone is ticked."""
    buttons = [InlineKeyboardButton(("✓ " if name == current else "") + text,
                                    callback_data=f"set:tz:{name}")
               for name, text in timezones.picker(now, _.language)]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(_("◀️ Back"), callback_data=f"set:tz:{BACK}")])
    return InlineKeyboardMarkup(rows)


async def callback(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    services = services_of(context)
    worker = await services.workers.get(user.id)
    match = _DATA.match(query.data or "")
    chosen = match.group(1) if match else None
    if worker is None or match is None or (
            chosen not in (None, BACK) and not timezones.offered(chosen)):
        await query.answer(gettext_for(worker.language if worker else "en")(
            "Sorry, this button does not work any more."))
        return
    _ = gettext_for(worker.language)
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
