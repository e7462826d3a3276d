"""/newproject: a short guided conversation for operators on a phone.

Kind, name, title, instructions, labels (classification only), reward, overlap; each
answer is checked at once, and the project is validated as a whole before it is saved.
/cancel stops.

The title and the instructions are what workers read, so each may be given per language:
what the operator types is in their own language, and buttons then offer the languages
still missing (or "Continue"). Lines starting ``en:``, ``ko:`` or ``zh:`` give several at
once, for an operator who has the translations at hand.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from babel import Locale
from babel.numbers import format_decimal
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.domain.errors import TapworkError
from bot.domain.limits import MAX_AMOUNT
from bot.domain.money import MICROS
from bot.domain.project_keys import text_limit
from bot.domain.projects import parse_project, parse_texts
from bot.i18n import LANGUAGES, Gettext
from handlers import say
from handlers.callbacks import (
    CallbackData,
    InstructionsDone,
    InstructionsLanguage,
    NewKind,
    NewOverlap,
    TitleDone,
    TitleLanguage,
    any_of,
    parse_any,
)
from handlers.common import Context
from handlers.keyboards import button, column, read_tap, stale
from handlers.operator import operators_only

KIND, NAME, TITLE, INSTRUCTIONS, LABELS, REWARD, OVERLAP = range(7)
#: ➕ a language for the title or the instructions, or go on: per field
_TEXT_BUTTONS: dict[str, tuple[type[TitleLanguage | InstructionsLanguage],
                               type[TitleDone | InstructionsDone]]] = {
    "title": (TitleLanguage, TitleDone),
    "instructions": (InstructionsLanguage, InstructionsDone)}


def _draft(context: Context) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault("new_project", {})
    return draft


def _kinds(_: Gettext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(column([
        button(_("Sentiment (positive / neutral / negative)"), NewKind("sentiment")),
        button(_("Classification (your own labels)"), NewKind("classification")),
        button(_("Transcription (type what you hear)"), NewKind("transcription"))]))


@operators_only
async def begin(update: Update, context: Context) -> int:
    _ = await context.gettext()
    _draft(context).clear()
    assert update.effective_message is not None
    await say.reply(
        update.effective_message,
        _("A new project. What kind of task is it? (/cancel to stop)"), reply_markup=_kinds(_))
    return KIND


async def kind(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None
    _ = await context.gettext()
    tapped = await read_tap(query, NewKind, _)
    if tapped is None:
        return KIND
    _draft(context)["kind"] = tapped.kind
    await query.answer()
    await say.edit_query(query, _("Its name? Letters, digits, _ or -; it becomes the link "
                                  "t.me/<bot>?start=NAME."))
    return NAME


async def _ask(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    assert update.effective_message is not None
    await say.reply(update.effective_message, text, reply_markup=markup)


async def name(update: Update, context: Context) -> int:
    _ = await context.gettext()
    text = (update.effective_message.text or "").strip() if update.effective_message else ""
    try:
        parse_project({"name": text, "kind": "transcription", "title": "x", "currency": "USD"})
    except TapworkError:
        await _ask(update, _("That name will not work in a link. Use letters, digits, _ or -."))
        return NAME
    _draft(context)["name"] = text
    await _ask(update, _ask_text("title", _))
    return TITLE


def language_name(code: str, _: Gettext) -> str:
    """A language as the reader calls it: "Korean", "한국어", "韩语" (Babel's CLDR names)."""
    return str(Locale.parse(_.language).languages.get(code, code))


def _ask_text(field: str, _: Gettext) -> str:
    """The first question for a title or instructions, naming the operator's language."""
    mine = language_name(_.language, _)
    if field == "title":
        question = _("The title workers see? Write it in {language}; other languages come "
                     "next.", language=mine)
    else:
        question = _("The instructions workers see above each task: what to look at and how "
                     "to answer? Write them in {language}; other languages come next.",
                     language=mine)
    return question + "\n" + _("Several at once: one line per language, each starting "
                                "with its code (en:, ko:, zh:).")


def _ask_language(field: str, code: str, _: Gettext) -> str:
    if field == "title":
        return _("The title in {language}?", language=language_name(code, _))
    return _("The instructions in {language}?", language=language_name(code, _))


def _texts_so_far(field: str, texts: dict[str, str], _: Gettext
                  ) -> tuple[str, InlineKeyboardMarkup]:
    """What the operator gave, language by language, and a button per missing language."""
    lines = [_("Title:") if field == "title" else _("Instructions:")]
    lines += [_("✓ {language}: {text}", language=language_name(code, _), text=texts[code])
              for code in LANGUAGES if code in texts]
    lines.append(_("Add another language, or continue?"))
    add, done = _TEXT_BUTTONS[field]
    rows = column([*(button(f"➕ {language_name(code, _)}", add(code))
                     for code in LANGUAGES if code not in texts),
                   button(_("▶️ Continue"), done())])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def _typed_text(update: Update, context: Context, field: str, state: int) -> int:
    """A title or instructions typed in: in the language asked for, else the operator's
    own, or per language by line prefixes. Typing again corrects a language."""
    _ = await context.gettext()
    draft = _draft(context)
    typed = (update.effective_message.text or "") if update.effective_message else ""
    given = parse_texts(typed, draft.pop("adding", None) or _.language)
    if not given:
        await _ask(update, _ask_text(field, _))
        return state
    longest, typed_most = text_limit(field), max(len(text) for text in given.values())
    if typed_most > longest:  # asked again now, rather than refused with the whole draft
        await _ask(update, _("Please keep it to {count} characters; this one has {length}.",
                             count=longest, length=typed_most))
        return state
    texts = draft.setdefault(field, {})
    texts.update(given)
    if all(code in texts for code in LANGUAGES):
        return await _after_texts(update, context, field, _)
    text, markup = _texts_so_far(field, texts, _)
    await _ask(update, text, markup)
    return state


async def _text_button(update: Update, context: Context, field: str, state: int) -> int:
    """➕ a language (the next message is in it), or Continue to the next question."""
    query = update.callback_query
    assert query is not None
    _ = await context.gettext()
    draft = _draft(context)
    tapped = parse_any(query.data, _TEXT_BUTTONS[field])
    if tapped is None or not draft.get(field) or (
            isinstance(tapped, TitleLanguage | InstructionsLanguage)
            and tapped.code not in LANGUAGES):
        # a button left on an earlier question
        await stale(query, _)
        return state
    await query.answer()
    await query.edit_message_reply_markup(None)
    if not isinstance(tapped, TitleLanguage | InstructionsLanguage):
        return await _after_texts(update, context, field, _)
    draft["adding"] = tapped.code
    await _ask(update, _ask_language(field, tapped.code, _))
    return state


async def _after_texts(update: Update, context: Context, field: str, _: Gettext) -> int:
    if field == "title":
        await _ask(update, _ask_text("instructions", _))
        return INSTRUCTIONS
    if _draft(context)["kind"] == "classification":
        await _ask(update, _("The labels, separated by commas (2 to 12)?"))
        return LABELS
    await _ask(update, _("The pay per accepted answer, with its currency, e.g. 0.02 USD?"))
    return REWARD


async def title(update: Update, context: Context) -> int:
    return await _typed_text(update, context, "title", TITLE)


async def title_button(update: Update, context: Context) -> int:
    return await _text_button(update, context, "title", TITLE)


async def instructions(update: Update, context: Context) -> int:
    return await _typed_text(update, context, "instructions", INSTRUCTIONS)


async def instructions_button(update: Update, context: Context) -> int:
    return await _text_button(update, context, "instructions", INSTRUCTIONS)


async def labels(update: Update, context: Context) -> int:
    _ = await context.gettext()
    text = update.effective_message.text if update.effective_message else ""
    values = [v.strip() for v in (text or "").split(",") if v.strip()]
    longest = text_limit("labels[].value")
    if not 2 <= len(values) <= 12 or len(set(values)) != len(values) \
            or any(len(value) > longest for value in values):
        await _ask(update, _("Please give 2 to 12 different labels, separated by commas, "
                             "each of at most {count} characters.", count=longest))
        return LABELS
    _draft(context)["labels"] = values
    await _ask(update, _("The pay per accepted answer, with its currency, e.g. 0.02 USD?"))
    return REWARD


async def reward(update: Update, context: Context) -> int:
    _ = await context.gettext()
    parts = (update.effective_message.text or "").split() if update.effective_message else []
    draft = _draft(context)
    try:
        amount, currency = parts
        parse_project({"name": "x", "kind": "transcription", "title": "x",
                       "reward": amount, "currency": currency.upper()})
    except (ValueError, TapworkError):
        most = format_decimal(MAX_AMOUNT // MICROS, locale=_.language)
        await _ask(update, _("Please write an amount of at most {most} and a currency code, "
                             "e.g. 0.02 USD.", most=most))
        return REWARD
    draft.update(reward=amount, currency=currency.upper())
    await _ask(update, _("How many different workers should answer each item?"),
               InlineKeyboardMarkup([[button(str(n), NewOverlap(n)) for n in (1, 2, 3, 5)]]))
    return OVERLAP


async def overlap(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None
    _ = await context.gettext()
    tapped = await read_tap(query, NewOverlap, _)
    if tapped is None:
        return OVERLAP
    draft = _draft(context)
    draft["overlap"] = tapped.count
    await query.answer()
    try:
        spec = parse_project({k: v for k, v in draft.items() if k != "adding"})
        _saved, created = await context.services.catalog.save(spec)
    except TapworkError as exc:
        await say.edit_query(query, _("The project was not saved: {why}",
                                      why=exc.render(_)))
        return ConversationHandler.END
    await say.edit_query(
        query,
        (_("Project {name} created.", name=spec.name) if created
         else _("Project {name} updated.", name=spec.name)) + "\n"
        + _("Add items: send a JSONL, CSV or ZIP file with the caption /import {name}.",
            name=spec.name))
    draft.clear()
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> int:
    _ = await context.gettext()
    _draft(context).clear()
    await _ask(update, _("Stopped; nothing was saved."))
    return ConversationHandler.END


def conversation() -> ConversationHandler[Context]:
    text = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # PTB warns that button taps are tracked per chat, not per message: that is
        # what we want (one draft per operator)
        warnings.simplefilter("ignore", PTBUserWarning)
        return _conversation(text)


def _text_pattern(field: str) -> re.Pattern[str]:
    kinds: tuple[type[CallbackData], ...] = _TEXT_BUTTONS[field]
    return any_of(*kinds)


def _conversation(text: filters.BaseFilter) -> ConversationHandler[Context]:
    return ConversationHandler(
        entry_points=[CommandHandler("newproject", begin, filters=filters.ChatType.PRIVATE)],
        states={
            KIND: [CallbackQueryHandler(kind, pattern=NewKind.pattern)],
            NAME: [MessageHandler(text, name)],
            TITLE: [MessageHandler(text, title),
                    CallbackQueryHandler(title_button,
                                         pattern=_text_pattern("title"))],
            INSTRUCTIONS: [MessageHandler(text, instructions),
                           CallbackQueryHandler(instructions_button,
                                                pattern=_text_pattern("instructions"))],
            LABELS: [MessageHandler(text, labels)],
            REWARD: [MessageHandler(text, reward)],
            OVERLAP: [CallbackQueryHandler(overlap, pattern=NewOverlap.pattern)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="newproject",
    )
