"""The one way words reach Telegram: HTML, every piece of text escaped exactly once, and
never longer than Telegram takes.

Every message, edit and caption the bot sends goes through the functions here, always
as HTML: the Application's ``Defaults(parse_mode=HTML)`` (``bot/app.py``) says so once
for every call, so no call here names a parse mode. What they are given is either

* a ``str``: plain text, as a person wrote it or ``_()`` translated it; it is escaped
  here, on its way out; or
* ``Html`` (markupsafe's ``Markup``): HTML built by :func:`html` from a literal
  template, which escapes each value put into it unless that value is ``Html`` already.

So a title, a label, an explanation or a name is escaped exactly once however it travels:
never twice, because escaping ``Html`` leaves it as it is, and never not at all, because
a ``str`` cannot reach Telegram without passing through ``escape`` here (no handler calls
the Bot API's send or edit methods itself: ``tests/test_say.py`` reads the sources to
keep it so; the outbox alone sends its notices, plain text built for it, as they are).
Nothing outside this module calls ``Markup()`` on text either, which is the one way to
declare text safe without escaping it.

Why HTML with a markup type rather than plain text with entities: most messages need no
formatting at all, and for them both are the same; the few that do (a task's title in
bold, the wallet's headings) keep the formatting in the template beside the words, where
entities would need UTF-16 offsets counted by hand for every piece. markupsafe is the
escaper Jinja uses; its ``Markup.format`` and ``Markup.join`` escape their arguments,
which is exactly the "once" rule.

Telegram takes 4096 characters of text and 1024 of caption, counted after the HTML is
parsed. A text longer than that is split into several messages, at a blank line, else a
line break, else a space; tags open across a split are closed before it and opened
again after it, so each part parses on its own. A caption that does not fit moves into
messages of its own, sent before the media (:func:`send_media`). Lengths are counted in
UTF-16 code units, which is never less than what Telegram counts.
"""

from __future__ import annotations

import html as html_module
import logging
import re
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from markupsafe import Markup, escape
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaAudio,
    InputMediaPhoto,
    Message,
)
from telegram.error import BadRequest, Forbidden

log = logging.getLogger(__name__)

#: Telegram's limits, in characters after the HTML is parsed
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ELLIPSIS = "…"
#: how much of an item's text a message repeats when it recalls the item (an exam's
#: missed questions, a pay notice's answers judged wrong): it was on screen in full before
RECALL = 120

Html = Markup
#: plain text (escaped on the way out) or HTML built with ``html()``
Text = str | Markup

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*>")


def html(template: str, /, *args: Text, **values: Text | int | float) -> Markup:
    """HTML from a literal template: every value is escaped unless it is ``Html``.

    ``html("<b>{title}</b>", title=project_title)``; the template itself is trusted,
    so it must be a literal written here, never text from a person or a translation.
    """
    return Markup(template).format(*args, **values)


def join(parts: Iterable[Text], separator: str = "\n") -> Markup:
    """Parts joined into HTML, each escaped once (``"\\n".join`` would lose the type and
    have the HTML escaped a second time on the way out)."""
    return Markup(separator).join(parts)


def to_html(text: Text) -> Markup:
    return escape(text)


def visible(text: Text) -> str:
    """What a phone shows: the text with the HTML parsed away."""
    if not isinstance(text, Markup):
        return text
    return html_module.unescape(_TAG.sub("", str(text)))


def length(text: Text) -> int:
    """Telegram's measure of a text, in UTF-16 code units."""
    return _units(visible(text))


def shorten(text: str, most: int) -> str:
    """Plain text cut to at most ``most`` characters, ending in "…" when cut (at a space
    if there is one near the end)."""
    if _units(text) <= most:
        return text
    cut = _prefix(text, 0, max(most - 1, 0))
    space = text.rfind(" ", 0, cut)
    if space > cut * 3 // 4:
        cut = space
    return text[:cut].rstrip() + ELLIPSIS


def split(text: Text, limit: int = TEXT_LIMIT) -> list[Markup]:
    """``text`` as HTML in parts of at most ``limit`` characters each (see the module's
    docstring); empty when there is nothing to show."""
    markup = escape(text)
    whole = visible(markup)
    if _units(whole) <= limit:  # nearly every message: no parsing, no copy
        return [markup] if whole.strip() else []
    segments = _segments(markup)
    shown = "".join(part for part, _tags in segments)
    parts: list[Markup] = []
    start = 0
    while True:
        while start < len(shown) and shown[start].isspace():
            start += 1
        if start >= len(shown):
            return parts
        end = _prefix(shown, start, limit)
        if end < len(shown):
            end = _break(shown, start, end)
        stop = end
        while stop > start and shown[stop - 1].isspace():
            stop -= 1
        parts.append(_render(segments, start, stop))
        start = end


def clip(text: Text, limit: int) -> Markup:
    """``text`` as HTML cut to ``limit`` characters, ending in "…" when cut."""
    parts = split(text, limit)
    if len(parts) <= 1:
        return parts[0] if parts else Markup("")
    first = split(text, limit - 1)[0]
    return first + ELLIPSIS


# -- sending --------------------------------------------------------------------------


async def send(bot: Bot, chat_id: int, text: Text,
               reply_markup: InlineKeyboardMarkup | None = None, **options: Any) -> Message:
    """A new message (several if it is long: the buttons go under the last)."""
    parts = split(text) or [escape(ELLIPSIS)]
    sent: Message | None = None
    for number, part in enumerate(parts, start=1):
        sent = await bot.send_message(chat_id, part,
                                      reply_markup=reply_markup if number == len(parts) else None,
                                      **options)
    assert sent is not None
    return sent


async def reply(message: Message, text: Text,
                reply_markup: InlineKeyboardMarkup | None = None) -> Message:
    """An answer in the chat ``message`` came from."""
    return await send(message.get_bot(), message.chat_id, text, reply_markup)


async def edit(message: Message, text: Text,
               reply_markup: InlineKeyboardMarkup | None = None) -> Message:
    """``message`` shows ``text`` now; a long text continues in new messages after it,
    with the buttons under the last. Raises ``BadRequest`` when it cannot be edited."""
    parts = split(text) or [escape(ELLIPSIS)]
    edited = await _edit_part(message, parts[0], reply_markup if len(parts) == 1 else None)
    if len(parts) == 1:
        return edited
    return await send(message.get_bot(), message.chat_id, join(parts[1:], "\n\n"),
                      reply_markup)


async def edit_by_id(bot: Bot, chat_id: int, message_id: int, text: Text,
                     reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit a message known only by its id (a broadcast's progress line): one part only."""
    await bot.edit_message_text(clip(text, TEXT_LIMIT), chat_id, message_id,
                                reply_markup=reply_markup)


async def edit_query(query: CallbackQuery, text: Text,
                     reply_markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """Replace the message whose button was tapped; a new message when it is gone."""
    if isinstance(query.message, Message):
        return await edit(query.message, text, reply_markup)
    return await send(query.get_bot(), query.from_user.id, text, reply_markup)


async def show(bot: Bot, chat_id: int, text: Text,
               reply_markup: InlineKeyboardMarkup | None = None,
               replace: Message | None = None) -> Message:
    """``text`` in place of ``replace`` when that is a text message, else as a new one."""
    if replace is not None and replace.text is not None:
        try:
            return await edit(replace, text, reply_markup)
        except Forbidden:
            raise
        except BadRequest as exc:
            log.info("could not edit message %s in place (%s); sending a new one",
                     replace.message_id, exc)
    return await send(bot, chat_id, text, reply_markup)


async def send_media(bot: Bot, chat_id: int, kind: str, media: str | InputFile,
                     caption: Text = "", reply_markup: InlineKeyboardMarkup | None = None,
                     **options: Any) -> Message:
    """A photo, voice, audio or document with its caption; a caption longer than
    Telegram takes goes first as a message of its own and the media follows without."""
    caption_html: Markup | None = escape(caption) if caption else None
    if caption_html is not None and length(caption_html) > CAPTION_LIMIT:
        await send(bot, chat_id, caption_html)
        caption_html = None
    # one signature for the four senders: they differ only in their own keyword options
    senders: dict[str, Callable[..., Coroutine[Any, Any, Message]]] = {
        "photo": bot.send_photo, "voice": bot.send_voice, "audio": bot.send_audio,
        "document": bot.send_document}
    return await senders[kind](chat_id, media, caption=caption_html,
                               reply_markup=reply_markup, **options)


async def reply_media(message: Message, kind: str, media: str | InputFile,
                      caption: Text = "") -> Message:
    return await send_media(message.get_bot(), message.chat_id, kind, media, caption)


def input_media(kind: str, media: str | InputFile, caption: Text
                ) -> InputMediaPhoto | InputMediaAudio:
    """What ``editMessageMedia`` takes; the caller has made the caption fit (it is cut
    with "…" here if it does not, rather than be refused)."""
    cls = InputMediaPhoto if kind == "photo" else InputMediaAudio
    return cls(media, caption=clip(caption, CAPTION_LIMIT))


async def _edit_part(message: Message, part: Markup,
                     markup: InlineKeyboardMarkup | None) -> Message:
    try:
        edited = await message.edit_text(part, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return message
        raise
    return edited if isinstance(edited, Message) else message


# -- splitting ------------------------------------------------------------------------

Segment = tuple[str, tuple[str, ...]]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _prefix(text: str, start: int, limit: int) -> int:
    """The end of the longest piece of ``text`` from ``start`` within ``limit`` units."""
    units = 0
    for index in range(start, len(text)):
        units += 2 if ord(text[index]) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _break(text: str, start: int, end: int) -> int:
    """Where to end a part that must end by ``end``: after a blank line, a line break or
    a space in its second half, else at ``end`` itself."""
    floor = start + (end - start) // 2
    for separator in ("\n\n", "\n", " "):
        found = text.rfind(separator, floor, end)
        if found != -1:
            return found + len(separator)
    return end


def _segments(markup: Markup) -> list[Segment]:
    """The shown text in runs, each with the tags open around it (outermost first)."""
    source = str(markup)
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)
    segments: list[Segment] = []
    position = 0
    for match in _TAG.finditer(source):
        if match.start() > position:
            segments.append((html_module.unescape(source[position:match.start()]),
                             tuple(tag for _name, tag in open_tags)))
        name = match.group(2).lower()
        if match.group(1):
            while open_tags:
                if open_tags.pop()[0] == name:
                    break
        else:
            open_tags.append((name, match.group(0)))
        position = match.end()
    if position < len(source):
        segments.append((html_module.unescape(source[position:]),
                         tuple(tag for _name, tag in open_tags)))
    return segments


def _end_tag(tag: str) -> str:
    """The end tag for an opening tag that ``_segments`` kept (it matched ``_TAG`` there)."""
    match = _TAG.match(tag)
    assert match is not None
    return f"</{match.group(2)}>"


def _render(segments: Sequence[Segment], start: int, stop: int) -> Markup:
    """The shown characters ``start:stop`` as HTML, each run inside its own tags."""
    out: list[str] = []
    offset = 0
    for text, tags in segments:
        low, high = max(start, offset), min(stop, offset + len(text))
        if low < high:
            closing = "".join(_end_tag(tag) for tag in reversed(tags))
            out.append("".join(tags) + str(escape(text[low - offset:high - offset]))
                       + closing)
        offset += len(text)
    return Markup("".join(out))
