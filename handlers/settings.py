"""/settings: one screen of big buttons; each tap changes one thing and redraws it."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardMarkup, Update

from bot.domain.languages import pack
from bot.domain.records import Worker
from bot.domain.timezones import label as zone_label
from bot.i18n import LANGUAGES, Gettext, autonym
from handlers import say
from handlers.callbacks import (
    ReadsScreen,
    SetLanguage,
    Setting,
    SettingKey,
    SettingsBack,
    TimeZone,
    ToggleRead,
    any_of,
    parse_any,
)
from handlers.common import Context
from handlers.keyboards import button, column, stale

#: quiet-hour choices, minutes after local midnight (start, end); None = no quiet hours
QUIET_PRESETS: tuple[tuple[int, int] | None, ...] = (
    None, (22 * 60, 7 * 60), (21 * 60, 8 * 60), (23 * 60, 9 * 60))
LANGUAGE_NAMES = {"en": "English", "ko": "한국어", "zh": "中文"}
#: a line of /settings, or a language from its list
CHANGE_BUTTONS = (Setting, SetLanguage)
CHANGE_PATTERN = any_of(*CHANGE_BUTTONS)
#: the languages one reads, a multi-select apart from the interface language: open it,
#: toggle one, go back to /settings
READS_BUTTONS = (ReadsScreen, ToggleRead, SettingsBack)
READS_PATTERN = any_of(*READS_BUTTONS)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def settings_screen(worker: Worker, _: Gettext, *, now: datetime
                    ) -> tuple[str, InlineKeyboardMarkup]:
    on, off = _("on"), _("off")
    quiet = (_("{start} to {end}", start=_clock(worker.quiet_start),
               end=_clock(worker.quiet_end))
             if worker.quiet_start is not None and worker.quiet_end is not None else off)
    rows = column([
        button(_("🌐 Language: {name}", name=LANGUAGE_NAMES[_.language]), Setting("lang")),
        button(_("📖 I can read: {languages}",
                 languages=" · ".join(autonym(c) for c in worker.reads)), ReadsScreen()),
        button(_("🔠 Bigger text: {state}", state=on if worker.senior else off),
               Setting("senior")),
        button(_("🔔 Notifications: {state}", state=on if worker.notify else off),
               Setting("notify")),
        button(_("🌙 Quiet hours: {hours}", hours=quiet), Setting("quiet")),
        button(_("🕒 Time zone: {zone}", zone=zone_label(worker.timezone, now, _.language)),
               TimeZone()),
        button(_("📰 Daily summary: {state}", state=on if worker.daily_summary else off),
               Setting("daily")),
        button(_("🏷 My name on /top: {state}",
                 state=_("shown") if worker.display_name else _("hidden")),
               Setting("name")),
    ])
    return _("Your settings. Tap a line to change it."), InlineKeyboardMarkup(rows)


def language_screen(_: Gettext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(column(button(LANGUAGE_NAMES[code], SetLanguage(code))
                                       for code in LANGUAGES))


def reads_screen(worker: Worker, _: Gettext) -> tuple[str, InlineKeyboardMarkup]:
    """One toggle per language (each in its own words), ✓ on those the worker reads."""
    codes = [*LANGUAGES, *(c for c in worker.reads if c not in LANGUAGES)]
    rows = column([*(button(f"{'✓ ' if code in worker.reads else ''}{autonym(code)}",
                            ToggleRead(code)) for code in codes),
                   button(_("⬅️ Done"), SettingsBack())])
    return (_("Which languages can you read? You get tasks in these languages. Tap to "
              "change."), InlineKeyboardMarkup(rows))


async def reads(update: Update, context: Context) -> None:
    """The "I can read" screen: open it, toggle a language, or go back to settings."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    services = context.services
    worker = await context.worker()
    tapped = parse_any(query.data, READS_BUTTONS)
    _ = await context.gettext()
    if worker is None or tapped is None:
        await stale(query, _)
        return
    if isinstance(tapped, SettingsBack):
        await query.answer()
        text, markup = settings_screen(worker, _, now=services.clock.now())
    else:
        if isinstance(tapped, ToggleRead):
            code = tapped.code
            if code not in LANGUAGES and code not in worker.reads:
                await stale(query, _)
                return
            chosen = set(worker.reads) ^ {code}
            if not chosen:  # nobody reads nothing: the last language stays
                await query.answer(_("Keep at least one language."))
                return
            worker = await services.workers.update(user.id, reads=pack(chosen))
            context.remember(worker)
            await query.answer(_("Saved."))
        else:
            await query.answer()
        text, markup = reads_screen(worker, _)
    await say.edit_query(query, text, reply_markup=markup)


async def settings(update: Update, context: Context) -> None:
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    services = context.services
    worker = await services.workers.seen(user.id, user.first_name or "", user.language_code)
    context.remember(worker)
    text, markup = settings_screen(worker, await context.gettext(), now=services.clock.now())
    await say.reply(message, text, reply_markup=markup)


async def change(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    services = context.services
    worker = await context.worker()
    tapped = parse_any(query.data, CHANGE_BUTTONS)
    if worker is None or tapped is None:
        await stale(query, await context.gettext())
        return
    if isinstance(tapped, Setting) and tapped.key == "lang":
        await query.answer()
        await query.edit_message_reply_markup(language_screen(await context.gettext()))
        return
    if isinstance(tapped, SetLanguage):
        changes: dict[str, object] = {
            "language": tapped.code if tapped.code in LANGUAGES else "en",
            "language_chosen": 1}
    else:
        assert isinstance(tapped, Setting)
        changes = _changes(worker, tapped.key, user.first_name or "")
    worker = await services.workers.update(user.id, **changes)
    context.remember(worker)  # a new language speaks from this very answer
    _ = await context.gettext()
    await query.answer(_("Saved."))
    text, markup = settings_screen(worker, _, now=services.clock.now())
    await say.edit_query(query, text, reply_markup=markup)


def _changes(worker: Worker, key: SettingKey, first_name: str) -> dict[str, object]:
    """What one tap changes; cycling choices move to the next preset."""
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
