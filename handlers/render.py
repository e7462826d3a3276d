"""How a task looks on a phone, and getting it there in as few Bot API calls as possible.

A text task replaces the previous text task in place (``editMessageText``), a photo the
previous photo (``editMessageMedia``); anything else arrives as a new message. Media is
uploaded once; afterwards Telegram's ``file_id`` is reused for every worker.
"""

from __future__ import annotations

import html
import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaAudio,
    InputMediaPhoto,
    Message,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.assign import Project, Task
from bot.i18n import N_, Gettext
from bot.money import format_money
from bot.projects import Label
from handlers.common import Context, services_of

log = logging.getLogger(__name__)

SENTIMENT_NAMES = {
    "positive": N_("😊 Positive"),
    "neutral": N_("😐 Neutral"),
    "negative": N_("🙁 Negative"),
}
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


def label_name(label: Label, _: Gettext) -> str:
    if label.names.texts:
        return label.names.get(_.language)
    if label.value in SENTIMENT_NAMES:
        return _(SENTIMENT_NAMES[label.value])
    return label.value


def reward_line(project: Project, _: Gettext) -> str:
    spec = project.spec
    return _("{amount} per task", amount=format_money(spec.reward_micros, spec.currency,
                                                      _.language))


def task_markup(task: Task, _: Gettext) -> InlineKeyboardMarkup:
    """One big button per answer, one per row, then Skip and Stop."""
    a = task.assignment_id
    spec = task.project.spec
    rows = [[InlineKeyboardButton(label_name(label, _), callback_data=f"a:{a}:{i}")]
            for i, label in enumerate(spec.labels)]
    if not spec.categorical:
        rows.append([InlineKeyboardButton(_("🤷 I can't make it out"), callback_data=f"u:{a}")])
    rows.append([InlineKeyboardButton(_("⏭ Skip"), callback_data=f"s:{a}"),
                 InlineKeyboardButton(_("⏹ Stop"), callback_data=f"x:{a}")])
    return InlineKeyboardMarkup(rows)


def task_text(task: Task, _: Gettext, limit: int, note: str = "") -> str:
    """Note, title, instructions and the item, in HTML, cut to fit Telegram's limit.

    Only the instructions are shortened: the item itself was checked to fit at import.
    """
    spec = task.project.spec
    head = f"{spec.title.get(_.language)} · {reward_line(task.project, _)}"
    body = task.text or ""
    prompt = "" if spec.categorical else _("Type what you hear or see, then send it.")
    instructions = spec.instructions.get(_.language)
    room = limit - len(note) - len(head) - len(body) - len(prompt) - 40
    if len(instructions) > room:
        instructions = instructions[: room - 1] + "…" if room > 20 else ""
    parts = [html.escape(note) if note else "",
             f"<b>{html.escape(head)}</b>\n{html.escape(instructions)}".rstrip(),
             html.escape(body), f"<i>{html.escape(prompt)}</i>" if prompt else ""]
    return "\n\n".join(part for part in parts if part)


async def show_task(context: Context, chat_id: int, task: Task, _: Gettext,
                    replace: Message | None = None, note: str = "") -> Message:
    """Deliver a task, in place when the previous message has the same kind of content."""
    media = task.media
    markup = task_markup(task, _)
    limit = CAPTION_LIMIT if media else TEXT_LIMIT
    text = task_text(task, _, limit, note)
    bot = context.bot
    uploaded = False
    sent: Message | bool | None = None
    if media is None:
        if replace is not None and replace.text is not None:
            sent = await _edit_text(context, replace, text, markup)
        if not isinstance(sent, Message):
            sent = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                          reply_markup=markup)
    else:
        # an upload inside InputMedia must be "attached" as its own multipart part
        source: str | InputFile
        attached: str | InputFile
        if media.file_id:
            source = attached = media.file_id
        else:
            data = await services_of(context).loop.media_bytes(media.id)
            source = InputFile(data, filename=media.filename)
            attached = InputFile(data, filename=media.filename, attach=True)
            uploaded = True
        if media.kind == "photo":
            if replace is not None and replace.photo:
                sent = await _edit_media(replace, InputMediaPhoto(
                    attached, caption=text, parse_mode=ParseMode.HTML), markup)
            if not isinstance(sent, Message):
                sent = await bot.send_photo(chat_id, source, caption=text,
                                            parse_mode=ParseMode.HTML, reply_markup=markup)
        elif media.kind == "audio":
            if replace is not None and replace.audio:
                sent = await _edit_media(replace, InputMediaAudio(
                    attached, caption=text, parse_mode=ParseMode.HTML), markup)
            if not isinstance(sent, Message):
                sent = await bot.send_audio(chat_id, source, caption=text,
                                            parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            sent = await bot.send_voice(chat_id, source, caption=text,
                                        parse_mode=ParseMode.HTML, reply_markup=markup)
    assert isinstance(sent, Message)
    await services_of(context).loop.delivered(
        task, chat_id, sent.message_id, _file_id(sent) if uploaded else None)
    return sent


async def show_text(context: Context, chat_id: int, text: str,
                    markup: InlineKeyboardMarkup | None = None,
                    replace: Message | None = None) -> Message:
    """A plain message, in place of ``replace`` when that is a text message."""
    if replace is not None and replace.text is not None:
        edited = await _edit_text(context, replace, text, markup)
        if isinstance(edited, Message):
            return edited
    return await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                          reply_markup=markup)


async def _edit_text(context: Context, message: Message, text: str,
                     markup: InlineKeyboardMarkup | None) -> Message | bool | None:
    try:
        return await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except Forbidden:
        raise
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return message
        log.info("could not edit message %s in place (%s); sending a new one",
                 message.message_id, exc)
        return None


async def _edit_media(message: Message, media: InputMediaPhoto | InputMediaAudio,
                      markup: InlineKeyboardMarkup) -> Message | bool | None:
    try:
        return await message.edit_media(media, reply_markup=markup)
    except Forbidden:
        raise
    except BadRequest as exc:
        log.info("could not replace media of message %s (%s); sending a new one",
                 message.message_id, exc)
        return None


def _file_id(message: Message) -> str | None:
    if message.photo:
        return message.photo[-1].file_id
    for media in (message.voice, message.audio, message.document):
        if media is not None:
            return media.file_id
    return None
