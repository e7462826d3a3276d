"""How a task looks on a phone, and getting it there in as few Bot API calls as possible.

A text task replaces the previous text task in place (``editMessageText``), a photo the
previous photo (``editMessageMedia``); anything else arrives as a new message. Media is
uploaded once; afterwards Telegram's ``file_id`` is reused for every worker.

Words go out through ``handlers.say`` (escaped once, within Telegram's limits). A caption
holds 1024 characters and a message 4096. The item's own text is never cut: it was
checked at import to fit a message, and a photo or recording carries no text of its
own. What gives way is, first, the instructions (shortened with "…"); then a note that
will not fit beside the item (a long explanation of a missed check) moves out whole
into a message of its own, in place of the task it is about; and a large-print card
whose words do not fit a caption is not drawn: the task comes as text, which holds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from markupsafe import Markup
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaAudio,
    InputMediaPhoto,
    Message,
    WebAppInfo,
)
from telegram.error import BadRequest, Forbidden

from bot.domain.money import format_money
from bot.domain.project_spec import Label
from bot.domain.projects import Project
from bot.domain.records import Media
from bot.domain.shapes import parse_stored
from bot.i18n import N_, Gettext
from bot.render.cards import render_card
from bot.services.leasing import Task
from handlers import say
from handlers.callbacks import Answer, CallbackData, Skip, Stop, Unreadable
from handlers.common import Context
from handlers.keyboards import button, column
from handlers.say import CAPTION_LIMIT, TEXT_LIMIT, Text

log = logging.getLogger(__name__)

SENTIMENT_NAMES = {
    "positive": N_("😊 Positive"),
    "neutral": N_("😐 Neutral"),
    "negative": N_("🙁 Negative"),
}


def value_name(project: Project, value: str, _: Gettext) -> str:
    """What a stored answer looks like to this reader: the label's display name (for a
    drawing, how many boxes or points it has)."""
    if project.spec.spatial:
        count = len(parse_stored(project.spec.geometry, value))
        if not count:
            return _("nothing to mark")
        return (_("boxes: {count}", count=count) if project.spec.kind == "boxes"
                else _("points: {count}", count=count))
    index = project.spec.label_index(value)
    if index is None:
        return value or _("(could not make it out)")
    return label_name(project.spec.labels[index], _)


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


def item_text(project: Project, text: str | None, _: Gettext, limit: int | None,
              note: Text = "", header: str = "") -> Markup:
    """Note, title, instructions and the item, in HTML, within ``limit`` when it can be
    (``None``: all of it, however long).

    The instructions are shortened first, then the note (callers move a note that does
    not fit out first, see ``_note_apart``); the item itself is never cut.
    """
    spec = project.spec
    head = header or f"{spec.title.get(_.language)} · {reward_line(project, _)}"
    body = text or ""
    prompt = ("" if spec.categorical else _("Type what you hear or see, then send it.")
              if spec.typed else _("Tap the button below to mark the picture."))
    instructions = spec.instructions.get(_.language)
    fixed = say.length(head) + say.length(body) + say.length(prompt) + 8
    room = (limit or 0) - fixed - say.length(note)
    if limit is not None and say.length(instructions) > room:
        instructions = say.shorten(instructions, room) if room > 20 else ""
        room = limit - fixed - say.length(instructions)
        if say.length(note) > room:
            note = say.clip(note, room) if room > 20 else ""
    parts = [note,
             say.html("<b>{head}</b>\n{instructions}", head=head,
                      instructions=instructions).rstrip(),
             body, say.html("<i>{prompt}</i>", prompt=prompt) if prompt else ""]
    return say.join([part for part in parts if part], "\n\n")


def fits(text: Text, limit: int) -> bool:
    return say.length(text) <= limit


def answer_rows(project: Project, _: Gettext, data: Callable[[int | None], CallbackData]
                ) -> list[list[InlineKeyboardButton]]:
    """One big button per answer, one per row; ``data(choice)`` is its callback data
    (the label's position, or None for "I can't make it out")."""
    spec = project.spec
    buttons = [button(label_name(label, _), data(i)) for i, label in enumerate(spec.labels)]
    if spec.typed:
        buttons.append(button(_("🤷 I can't make it out"), data(None)))
    return column(buttons)


def task_markup(task: Task, _: Gettext, senior: bool = False,
                public_url: str = "") -> InlineKeyboardMarkup:
    """The answers, then Skip and Stop (on rows of their own in senior mode). A drawn
    task's answer is one button opening the Mini App under ``public_url``."""
    a = task.assignment_id
    if task.project.spec.spatial:
        rows = [[drawing_button(task.project, f"task/{a}", _, public_url,
                                button("", Skip(a)))]]
    else:
        rows = answer_rows(task.project, _, lambda choice: Unreadable(a) if choice is None
                           else Answer(a, choice))
    skip = button(_("⏭ Skip"), Skip(a))
    stop = button(_("⏹ Stop"), Stop(a))
    rows += [[skip], [stop]] if senior else [[skip, stop]]
    return InlineKeyboardMarkup(rows)


def drawing_button(project: Project, path: str, _: Gettext, public_url: str,
                   fallback: InlineKeyboardButton) -> InlineKeyboardButton:
    """The Web App button of a boxes or points task (``path``: ``task/<assignment>``)
    or quiz question (``quiz/<attempt>/<position>``): ``/app/<path>`` on the bot's web
    server, in the reader's language. Without ``web.public_url`` there is no page to
    open: the button says so, and does what ``fallback`` does (Skip, for a task)."""
    text = (_("✏️ Draw boxes") if project.spec.kind == "boxes"
            else _("📍 Place points"))
    if not public_url:
        return InlineKeyboardButton(_("⚠️ The drawing page is not set up: please skip"),
                                    callback_data=fallback.callback_data)
    url = f"{public_url}/app/{path}?lang={_.language}"
    return InlineKeyboardButton(text, web_app=WebAppInfo(url))


async def show_task(context: Context, chat_id: int, task: Task, _: Gettext,
                    replace: Message | None = None, note: Text = "",
                    senior: bool | None = None) -> Message:
    """Deliver a task and record where it is shown (its clock starts then, or, for a task
    edited into the message of the one just answered, at that answer).

    In senior mode a text task arrives as a large-print card (a photo) with the same
    words in its caption and the same buttons, one per row; when the words do not fit a
    caption it arrives as text. ``senior`` saves a read when the caller has the
    worker's row.

    A task leased after an answer is already recorded as shown in the message it is
    edited into (``bot.services.leasing.Shown``); the delivery is written here only when it landed
    somewhere else, or brought a new Telegram ``file_id``.
    """
    services = context.services
    if senior is None:
        worker = await context.worker()  # the person in this chat, read once per update
        if worker is None or worker.id != chat_id:
            worker = await services.workers.get(chat_id)
        senior = worker is not None and worker.senior
    card = None
    if senior and task.media is None and task.text:
        if note and not fits(item_text(task.project, task.text, _, None, note),
                             CAPTION_LIMIT):
            await _note_apart(context, chat_id, note, replace)
            replace, note = None, ""
        if fits(item_text(task.project, task.text, _, None), CAPTION_LIMIT):
            card = await task_card(task, _)
    if card is not None:
        caption = item_text(task.project, task.text, _, CAPTION_LIMIT, note)
        sent = await _show_card(context, chat_id, task, _, replace, caption, card)
        file_id = None
    else:
        sent, file_id = await show_item(context, chat_id, task.project, task.text,
                                        task.media, task_markup(
                                            task, _, senior,
                                            services.config.web.public_url), _,
                                        replace, note)
    if sent.message_id != task.message_id or file_id:
        await services.work.delivered(task, chat_id, sent.message_id, file_id)
    return sent


async def task_card(task: Task, _: Gettext) -> bytes | None:
    """The large-print card of a text task in the reader's language, or None when some
    character of its title, instructions or text has no glyph in any font here.

    Drawing takes ~40 ms of CPU, too long to stall every other worker's answer, so it runs
    on a thread of its own; one thread, because a FreeType face must not be used by two
    threads at once.
    """
    spec = task.project.spec
    return await asyncio.get_running_loop().run_in_executor(
        _card_thread(), render_card, task.text or "", spec.title.get(_.language),
        spec.instructions.get(_.language))


@lru_cache(maxsize=1)
def _card_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="cards")


async def _show_card(context: Context, chat_id: int, task: Task, _: Gettext,
                     replace: Message | None, caption: Markup, png: bytes) -> Message:
    markup = task_markup(task, _, senior=True)
    if replace is not None and replace.photo:
        edited = await _edit_media(replace, say.input_media(
            "photo", InputFile(png, filename="task.png", attach=True), caption), markup)
        if isinstance(edited, Message):
            return edited
    return await say.send_media(context.bot, chat_id, "photo",
                                InputFile(png, filename="task.png"), caption, markup)


async def show_item(context: Context, chat_id: int, project: Project, text: str | None,
                    media: Media | None, markup: InlineKeyboardMarkup, _: Gettext,
                    replace: Message | None = None, note: Text = "", header: str = ""
                    ) -> tuple[Message, str | None]:
    """Show an item in place when the previous message has the same kind of content.

    Returns the message and, when the media was uploaded now, Telegram's new ``file_id``.
    """
    limit = CAPTION_LIMIT if media else TEXT_LIMIT
    if note and not fits(item_text(project, text, _, None, note, header), limit):
        await _note_apart(context, chat_id, note, replace)
        replace, note = None, ""
    if media is None:
        body = item_text(project, text, _, TEXT_LIMIT, note, header)
        return await say.show(context.bot, chat_id, body, markup, replace), None
    caption = item_text(project, text, _, CAPTION_LIMIT, note, header)
    # an upload inside InputMedia must be "attached" as its own multipart part
    source: str | InputFile
    attached: str | InputFile
    uploaded = False
    if media.file_id:
        source = attached = media.file_id
    else:
        data = await context.services.work.media_bytes(media.id)
        source = InputFile(data, filename=media.filename)
        attached = InputFile(data, filename=media.filename, attach=True)
        uploaded = True
    sent: Message | bool | None = None
    if media.kind in ("photo", "audio") and replace is not None \
            and (replace.photo if media.kind == "photo" else replace.audio):
        sent = await _edit_media(replace, say.input_media(media.kind, attached, caption),
                                 markup)
    if not isinstance(sent, Message):
        kind = media.kind if media.kind in ("photo", "audio") else "voice"
        sent = await say.send_media(context.bot, chat_id, kind, source, caption, markup)
    return sent, _file_id(sent) if uploaded else None


async def _note_apart(context: Context, chat_id: int, note: Text,
                      replace: Message | None) -> None:
    """A note too long to stand beside the next item (a long explanation of a missed
    check) takes the place of the task it is about, whole; the next task comes as a new
    message under it (nothing is left for it to replace)."""
    if replace is not None and replace.text is None:
        # a photo or recording cannot turn into text: its buttons go, the note follows
        with contextlib.suppress(BadRequest):
            await replace.edit_reply_markup(None)
        replace = None
    await say.show(context.bot, chat_id, note, None, replace)


async def show_text(context: Context, chat_id: int, text: Text,
                    markup: InlineKeyboardMarkup | None = None,
                    replace: Message | None = None) -> Message:
    """A message, in place of ``replace`` when that is a text message; long text is
    split (``handlers.say``) with the buttons under the last part."""
    return await say.show(context.bot, chat_id, text, markup, replace)


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
