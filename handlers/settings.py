"""/settings: one screen of big buttons; each tap changes one thing and redraws it."""

from __future__ import annotations

import re
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import LANGUAGES, Gettext, autonym, gettext_for
from bot.languages import pack
from bot.records import Worker
from bot.timezones import label as zone_label
from handlers import say
from handlers.common import Context, services_of

#: quiet-hour choices, minutes after local midnight (start, end); None = no quiet hours
QUIET_PRESETS: tuple[tuple[int, int] | None, ...] = (
    None, (22 * 60, 7 * 60), (21 * 60, 8 * 60), (23 * 60, 9 * 60))
LANGUAGE_NAMES = {"en": "English", "ko": "한국어", "zh": "中文"}
_DATA = re.compile(r"^set:(lang|senior|notify|quiet|tz|name|daily)(?::(\w{2}))?$")
#: the languages one reads, a multi-select apart from the interface language:
#: ``set:reads`` opens it, ``set:read:<code>`` toggles one, ``set:back`` returns
_READS = re.compile(r"^set:(?:reads|back|read:([a-z]{2,3}))$")


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def settings_screen(worker: Worker, _: Gettext, *, now: datetime
                    ) -> tuple[str, InlineKeyboardMarkup]:
    on, off = _("on"), _("off")
    quiet = (_("{start} to {end}", start=_clock(worker.quiet_start),
               end=_clock(worker.quiet_end))
             if worker.quiet_start is not None and worker.quiet_end is not None else off)
    rows = [
        [InlineKeyboardButton(_("🌐 Language: {name}", name=LANGUAGE_NAMES[_.language]),
                              callback_data="set:lang")],
        [InlineKeyboardButton(_("📖 I can read: {languages}",
                                languages=" · ".join(autonym(c) for c in worker.reads)),
                              callback_data="set:reads")],
        [InlineKeyboardButton(_("🔠 Bigger text: {state}", state=on if worker.senior else off),
                              callback_data="set:senior")],
        [InlineKeyboardButton(_("🔔 Notifications: {state}",
                                state=on if worker.notify else off),
                              callback_data="set:notify")],
        [InlineKeyboardButton(_("🌙 Quiet hours: {hours}", hours=quiet),
                              callback_data="set:quiet")],
        [InlineKeyboardButton(_("🕒 Time zone: {zone}",
                                zone=zone_label(worker.timezone, now, _.language)),
                              callback_data="set:tz")],
        [InlineKeyboardButton(_("📰 Daily summary: {state}",
                                state=on if worker.daily_summary else off),
                              callback_data="set:daily")],
        [InlineKeyboardButton(_("🏷 My name on /top: {state}",
                                state=_("shown") if worker.display_name else _("hidden")),
                              callback_data="set:name")],
    ]
    return _("Your settings. Tap a line to change it."), InlineKeyboardMarkup(rows)


def language_screen(_: Gettext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(LANGUAGE_NAMES[code],
                                                       callback_data=f"set:lang:{code}")]
                                 for code in LANGUAGES])


def reads_screen(worker: Worker, _: Gettext) -> tuple[str, InlineKeyboardMarkup]:
    """One toggle per language (each in its own words), ✓ on those the worker reads."""
    codes = [*LANGUAGES, *(c for c in worker.reads if c not in LANGUAGES)]
    rows = [[InlineKeyboardButton(f"{'✓ ' if code in worker.reads else ''}{autonym(code)}",
                                  callback_data=f"set:read:{code}")] for code in codes]
    rows.append([InlineKeyboardButton(_("⬅️ Done"), callback_data="set:back")])
    return (_("Which languages can you read? You get tasks in these languages. Tap to "
              "change."), InlineKeyboardMarkup(rows))


async def reads(update: Update, context: Context) -> None:
    """The "I can read" screen: open it, toggle a language, or go back to settings."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    services = services_of(context)
    worker = await services.workers.get(user.id)
    match = _READS.match(query.data or "")
    _ = gettext_for(worker.language if worker else "en")
    if worker is None or match is None:
        await query.answer(_("Sorry, this button does not work any more."))
        return
    code = match.group(1)
    if (query.data or "").endswith(":back"):
        await query.answer()
        text, markup = settings_screen(worker, _, now=services.clock.now())
    else:
        if code is not None:
            if code not in LANGUAGES and code not in worker.reads:
                await query.answer(_("Sorry, this button does not work any more."))
                return
            chosen = set(worker.reads) ^ {code}
            if not chosen:  # nobody reads nothing: the last language stays
                await query.answer(_("Keep at least one language."))
                return
            worker = await services.workers.update(user.id, reads=pack(chosen))
            await query.answer(_("Saved."))
        else:
            await query.answer()
        text, markup = reads_screen(worker, _)
    await say.edit_query(query, text, reply_markup=markup)


async def settings(update: Update, context: Context) -> None:
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    services = services_of(context)
    worker = await services.workers.seen(user.id, user.first_name or "", user.language_code)
    text, markup = settings_screen(worker, gettext_for(worker.language),
                                   now=services.clock.now())
    await say.reply(message, text, reply_markup=markup)


async def change(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    services = services_of(context)
    worker = await services.workers.get(user.id)
    match = _DATA.match(query.data or "")
    if worker is None or match is None:
        await query.answer(gettext_for(worker.language if worker else "en")(
            "Sorry, this button does not work any more."))
        return
    key, value = match.groups()
    if key == "lang" and value is None:
        await query.answer()
        await query.edit_message_reply_markup(language_screen(gettext_for(worker.language)))
        return
    worker = await services.workers.update(user.id, **_changes(worker, key, value,
                                                               user.first_name or ""))
    _ = gettext_for(worker.language)
    await query.answer(_("Saved."))
    text, markup = settings_screen(worker, _, now=services.clock.now())
    await say.edit_query(query, text, reply_markup=markup)


def _changes(worker: Worker, key: str, value: str | None, first_name: str
             ) -> dict[str, object]:
    """What one tap changes; cycling choices move to the next preset."""
    if key == "lang":
        return {"language": value if value in LANGUAGES else "en", "language_chosen": 1}
    if key == "senior":
        return {"senior": int(not worker.senior)}
    if key == "notify":
        return {"notify": int(not worker.notify)}
    if key == "daily":
        return {"daily_summary": int(not worker.daily_summary)}
    if key == "name":
        return {"display_name": None if worker.display_name else first_name[:32] or None}
    current = ((worker.quiet_start, worker.quiet_end)
               if worker.quiet_start is not None and worker.quiet_end is not None else None)
    position = QUIET_PRESETS.index(current) if current in QUIET_PRESETS else 0
    chosen = QUIET_PRESETS[(position + 1) % len(QUIET_PRESETS)]
    return {"quiet_start": chosen[0] if chosen else None,
            "quiet_end": chosen[1] if chosen else None}
