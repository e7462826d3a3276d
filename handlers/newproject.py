"""/newproject: a short guided conversation for operators on a phone.

Kind, name, title, labels (classification only), reward, overlap; each answer is checked
at once, and the project is validated as a whole before it is saved. /cancel stops.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.errors import TapworkError
from bot.i18n import Gettext
from bot.projects import parse_project
from handlers.common import Context, gettext_of, services_of
from handlers.operator import operators_only

KIND, NAME, TITLE, LABELS, REWARD, OVERLAP = range(6)


def _draft(context: Context) -> dict[str, Any]:
    assert context.user_data is not None
    return context.user_data.setdefault("new_project", {})  # type: ignore[no-any-return]


def _kinds(_: Gettext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(_("Sentiment (positive / neutral / negative)"),
                              callback_data="np:sentiment")],
        [InlineKeyboardButton(_("Classification (your own labels)"),
                              callback_data="np:classification")],
        [InlineKeyboardButton(_("Transcription (type what you hear)"),
                              callback_data="np:transcription")]])


@operators_only
async def begin(update: Update, context: Context) -> int:
    _ = await gettext_of(update, context)
    _draft(context).clear()
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        _("A new project. What kind of task is it? (/cancel to stop)"), reply_markup=_kinds(_))
    return KIND


async def kind(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    _ = await gettext_of(update, context)
    _draft(context)["kind"] = query.data.split(":", 1)[1]
    await query.answer()
    await query.edit_message_text(_("Its name? Letters, digits, _ or -; it becomes the link "
                                    "t.me/<bot>?start=NAME."))
    return NAME


async def _ask(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(text, reply_markup=markup)


async def name(update: Update, context: Context) -> int:
    _ = await gettext_of(update, context)
    text = (update.effective_message.text or "").strip() if update.effective_message else ""
    try:
        parse_project({"name": text, "kind": "transcription", "title": "x", "currency": "USD"})
    except TapworkError:
        await _ask(update, _("That name will not work in a link. Use letters, digits, _ or -."))
        return NAME
    _draft(context)["name"] = text
    await _ask(update, _("The title workers see?"))
    return TITLE


async def title(update: Update, context: Context) -> int:
    _ = await gettext_of(update, context)
    draft = _draft(context)
    draft["title"] = (update.effective_message.text or "").strip() \
        if update.effective_message else ""
    if draft["kind"] == "classification":
        await _ask(update, _("The labels, separated by commas (2 to 12)?"))
        return LABELS
    await _ask(update, _("The pay per accepted answer, with its currency, e.g. 0.02 USD?"))
    return REWARD


async def labels(update: Update, context: Context) -> int:
    _ = await gettext_of(update, context)
    text = update.effective_message.text if update.effective_message else ""
    values = [v.strip() for v in (text or "").split(",") if v.strip()]
    if not 2 <= len(values) <= 12 or len(set(values)) != len(values):
        await _ask(update, _("Please give 2 to 12 different labels, separated by commas."))
        return LABELS
    _draft(context)["labels"] = values
    await _ask(update, _("The pay per accepted answer, with its currency, e.g. 0.02 USD?"))
    return REWARD


async def reward(update: Update, context: Context) -> int:
    _ = await gettext_of(update, context)
    parts = (update.effective_message.text or "").split() if update.effective_message else []
    draft = _draft(context)
    try:
        amount, currency = parts
        parse_project({"name": "x", "kind": "transcription", "title": "x",
                       "reward": amount, "currency": currency.upper()})
    except (ValueError, TapworkError):
        await _ask(update, _("Please write an amount and a currency code, e.g. 0.02 USD."))
        return REWARD
    draft.update(reward=amount, currency=currency.upper())
    await _ask(update, _("How many different workers should answer each item?"),
               InlineKeyboardMarkup([[InlineKeyboardButton(str(n), callback_data=f"np:{n}")
                                      for n in (1, 2, 3, 5)]]))
    return OVERLAP


async def overlap(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    _ = await gettext_of(update, context)
    draft = _draft(context)
    draft["overlap"] = int(query.data.split(":", 1)[1])
    await query.answer()
    try:
        spec = parse_project(dict(draft))
        _saved, created = await services_of(context).catalog.save(spec)
    except TapworkError as exc:
        await query.edit_message_text(_("The project was not saved: {why}", why=str(exc)))
        return ConversationHandler.END
    await query.edit_message_text(
        (_("Project {name} created.", name=spec.name) if created
         else _("Project {name} updated.", name=spec.name)) + " "
        + _("Add items: send a JSONL, CSV or ZIP file with the caption /import {name}.",
            name=spec.name))
    draft.clear()
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> int:
    _ = await gettext_of(update, context)
    _draft(context).clear()
    await _ask(update, _("Stopped; nothing was saved."))
    return ConversationHandler.END


def conversation() -> ConversationHandler:
    text = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # PTB warns that button taps are tracked per chat, not per message: that is
        # what we want (one draft per operator)
        warnings.simplefilter("ignore", PTBUserWarning)
        return _conversation(text)


def _conversation(text: filters.BaseFilter) -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CommandHandler("newproject", begin, filters=filters.ChatType.PRIVATE)],
        states={
            KIND: [CallbackQueryHandler(kind, pattern=r"^np:[a-z]+$")],
            NAME: [MessageHandler(text, name)],
            TITLE: [MessageHandler(text, title)],
            LABELS: [MessageHandler(text, labels)],
            REWARD: [MessageHandler(text, reward)],
            OVERLAP: [CallbackQueryHandler(overlap, pattern=r"^np:[0-9]+$")],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="newproject",
    )
