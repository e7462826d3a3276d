"""The Bot API stand-in, driven by a real python-telegram-bot Application over HTTP.

These tests pin the Telegram behaviour the end-to-end suite relies on: if the stand-in
drifted from what PTB expects (or from what Telegram answers), every e2e test built on it
would be testing fiction.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sim import BotApiStandIn, Phone


@pytest.fixture
async def server() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as stand_in:
        yield stand_in
    assert not stand_in.internal_errors


@asynccontextmanager
async def running_bot(
    server: BotApiStandIn,
    *handlers: BaseHandler[Any, Any, Any],
    rate_limiter: AIORateLimiter | None = None,
    read_timeout: float | None = None,
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """A real Application polling the stand-in, started and stopped like run_polling does."""
    builder = (
        Application.builder()
        .token(server.token)
        .base_url(server.api_base_url)
        .base_file_url(server.file_base_url)
    )
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    if read_timeout is not None:
        builder = builder.read_timeout(read_timeout)
    app = builder.build()
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=label.lower())] for label in labels]
    )


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(buffer, format="PNG")
    return buffer.getvalue()


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_user is not None
    await update.effective_message.reply_text(
        f"Hello <b>{update.effective_user.first_name}</b>, payload={context.args}",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard("Yes", "No"),
    )


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(f"Saved {query.data}")
    await query.edit_message_text(f"You chose {query.data}")


async def test_start_gets_reply_with_keyboard(server: BotApiStandIn) -> None:
    phone = server.phone(1001, "Ann")
    async with running_bot(server, CommandHandler("start", start)):
        await phone.send("/start ref42")
        message = await phone.wait_text("Hello")

    assert message["text"] == "Hello Ann, payload=['ref42']"
    assert message["entities"] == [{"type": "bold", "offset": 6, "length": 3}]
    assert message["from"]["is_bot"] is True
    assert phone.buttons() == [["Yes"], ["No"]]
    assert server.count("sendMessage") == 1
    assert server.count("getMe") == 1


async def test_tap_answers_callback_and_edits_in_place(server: BotApiStandIn) -> None:
    phone = server.phone(1002, "Bo")
    handlers = (CommandHandler("start", start), CallbackQueryHandler(choose))
    async with running_bot(server, *handlers):
        await phone.send("/start")
        original = await phone.wait_text("Hello")
        version = phone.version
        await phone.tap("Yes")
        assert await phone.wait_alert(1) == "Saved yes"
        edited = await phone.wait_text("You chose yes")
        assert phone.version > version

    assert edited["message_id"] == original["message_id"]
    assert len(phone.messages) == 1
    assert "edit_date" in edited
    assert phone.buttons() == []  # an edit without reply_markup drops the keyboard
    with pytest.raises(AssertionError, match="Visible buttons: none"):
        await phone.tap("Yes")


async def test_photo_upload_then_file_id_reuse(server: BotApiStandIn) -> None:
    phone = server.phone(1003)
    async with running_bot(server) as app:
        first = await app.bot.send_photo(phone.id, photo=png(64, 48), caption="Item 1")
        size = first.photo[-1]
        assert (size.width, size.height) == (64, 48)
        second = await app.bot.send_photo(phone.id, photo=size.file_id, caption="Item 2")
        with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
            await app.bot.send_photo(phone.id, photo="AgACnonsense")
        replaced = await app.bot.edit_message_media(
            InputMediaPhoto(png(10, 20), caption="New"), phone.id, first.message_id
        )

    assert second.photo[-1].file_id == size.file_id
    assert server.uploads == 2 and server.reuses == 1
    assert [phone.text(m) for m in phone.messages] == ["New", "Item 2"]
    assert isinstance(replaced, type(first)) and replaced.photo[-1].height == 20


async def test_user_voice_note_downloads_through_get_file(server: BotApiStandIn) -> None:
    phone = server.phone(1004)
    audio = b"OggS\x00\x02" + bytes(range(256)) * 10
    received: list[bytes] = []

    async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.voice is not None
        voice_file = await update.message.voice.get_file()
        received.append(bytes(await voice_file.download_as_bytearray()))
        await update.message.reply_text(f"Got {update.message.voice.mime_type}")

    async with running_bot(server, MessageHandler(filters.VOICE, on_voice)):
        sent = await phone.send_voice(audio, duration=4)
        await phone.wait_text("Got audio/ogg")

    assert received == [audio]
    assert sent["message"]["voice"]["duration"] == 4


# AIORateLimiter reads RetryAfter.retry_after, which PTB 22 flags as changing type in v23.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limiter_retries_an_injected_429(server: BotApiStandIn) -> None:
    phone = server.phone(1005)
    server.inject("sendMessage", 429, retry_after=1, chat_id=phone.id)
    async with running_bot(server, rate_limiter=AIORateLimiter(max_retries=2)) as app:
        await app.bot.send_message(phone.id, "still arrives")

    assert phone.text() == "still arrives"
    statuses = [call.status for call in server.calls if call.method == "sendMessage"]
    assert statuses == [429, 200]
    assert len(phone.messages) == 1  # the failed attempt changed nothing


async def test_blocked_user_raises_forbidden(server: BotApiStandIn) -> None:
    phone = server.phone(1006)
    server.block(phone.id)
    async with running_bot(server) as app:
        with pytest.raises(Forbidden, match="blocked by the user"):
            await app.bot.send_message(phone.id, "anyone there?")
        assert phone.blocked
        server.unblock(phone.id)
        await app.bot.send_message(phone.id, "welcome back")

    assert phone.text() == "welcome back"


async def test_replay_delivers_the_same_payload_twice(server: BotApiStandIn) -> None:
    phone = server.phone(1007)
    seen: list[tuple[int, int, str]] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        seen.append((update.update_id, update.message.message_id, update.message.text))
        await update.message.reply_text(f"seen {len(seen)}")

    async with running_bot(server, MessageHandler(filters.TEXT, record)):
        original = await phone.send("answer: positive")
        server.replay(original)
        await phone.wait_text("seen 2")

    assert seen[0][1:] == seen[1][1:] == (original["message"]["message_id"], "answer: positive")
    assert seen[0][0] != seen[1][0]


async def test_identical_edit_is_not_modified(server: BotApiStandIn) -> None:
    phone = server.phone(1008)
    async with running_bot(server) as app:
        sent = await app.bot.send_message(phone.id, "Task 1", reply_markup=keyboard("Skip"))
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await sent.edit_text("Task 1", reply_markup=keyboard("Skip"))
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await app.bot.edit_message_text("x", chat_id=phone.id, message_id=999)
        photo = await app.bot.send_photo(phone.id, photo=png(2, 2))
        with pytest.raises(BadRequest, match=r"(?i)no text in the message to edit"):
            await photo.edit_text("x")


async def test_unknown_chat_and_limits_are_rejected(server: BotApiStandIn) -> None:
    phone = server.phone(1009)
    async with running_bot(server) as app:
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await app.bot.send_message(424242, "hello?")
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await app.bot.send_message(phone.id, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="d" * 65)]])
            await app.bot.send_message(phone.id, "hi", reply_markup=markup)
        with pytest.raises(BadRequest, match=r"(?i)reserved and must be escaped"):
            await app.bot.send_message(phone.id, "Done.", parse_mode=ParseMode.MARKDOWN_V2)
    assert phone.messages == []


REFUSED_HTML = [
    ("1 < 2", "unsupported start tag"),             # a bare "<" opens no tag
    ("<script>x</script>", "unsupported start tag"),  # a tag Telegram does not know
    ("<b>bold", "can't find end tag"),               # left open
    ("<b>x</i>", "unmatched end tag"),
    ("</b>", "unexpected end tag"),
    ("R&D", 'character "&" must be escaped'),        # stricter than Telegram: see the parser
    ("a &nbsp; b", 'character "&" must be escaped'),  # not an entity Telegram decodes
    ("&#0;", 'character "&" must be escaped'),
]


@pytest.mark.parametrize(("source", "error"), REFUSED_HTML, ids=[s for s, _ in REFUSED_HTML])
async def test_html_that_telegram_cannot_parse_is_refused(server: BotApiStandIn, source: str,
                                                          error: str) -> None:
    phone = server.phone(1010)
    async with running_bot(server) as app:
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities") as raised:
            await app.bot.send_message(phone.id, source, parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await app.bot.send_photo(phone.id, png(2, 2), caption=source,
                                     parse_mode=ParseMode.HTML)
    assert error in str(raised.value).lower()
    assert phone.messages == []
    assert [c.status for c in server.calls if c.method.startswith("send")] == [400, 400]


async def test_escaped_html_shows_the_text_as_written(server: BotApiStandIn) -> None:
    phone = server.phone(1010)
    async with running_bot(server) as app:
        await app.bot.send_message(
            phone.id, "<b>&lt;b&gt;&amp;amp; 1 &lt; 2 &gt; 0 &amp; &#39;&#x41;&quot;</b> > ok",
            parse_mode=ParseMode.HTML)
    assert phone.text() == "<b>&amp; 1 < 2 > 0 & 'A\" > ok"
    assert phone.messages[-1]["entities"] == [{"type": "bold", "offset": 0, "length": 24}]


async def test_command_menus_are_kept_per_scope_and_language(server: BotApiStandIn) -> None:
    phone = server.phone(1011)
    async with running_bot(server) as app:
        bot = app.bot
        assert await bot.set_my_commands([BotCommand("tasks", "Find a task")])
        assert await bot.set_my_commands([BotCommand("tasks", "할 일 찾기")], language_code="ko")
        assert await bot.set_my_commands([BotCommand("projects", "All")],
                                         scope=BotCommandScopeChat(phone.id))
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):  # never wrote to the bot
            await bot.set_my_commands([BotCommand("projects", "All")],
                                      scope=BotCommandScopeChat(424242))
        with pytest.raises(BadRequest, match=r"(?i)language_code_invalid"):
            await bot.set_my_commands([BotCommand("tasks", "x")], language_code="zh-hans")
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Tasks!", "x")])
        ko = await bot.get_my_commands(language_code="ko")
    assert [(c.command, c.description) for c in ko] == [("tasks", "할 일 찾기")]
    assert server.my_commands() == [{"command": "tasks", "description": "Find a task"}]
    assert server.my_commands({"type": "chat", "chat_id": phone.id}) == [
        {"command": "projects", "description": "All"}]
    assert server.my_commands({"type": "chat", "chat_id": 424242}) == []
    assert server.my_commands(language_code="zh") == []


async def test_slow_answer_times_out_but_message_was_sent(server: BotApiStandIn) -> None:
    phone = server.phone(1010)
    server.delay("sendMessage", 1.0)
    async with running_bot(server, read_timeout=0.3) as app:
        with pytest.raises(TimedOut):
            await app.bot.send_message(phone.id, "did it arrive?")
    assert phone.text() == "did it arrive?"


async def test_wrong_token_is_unauthorized(server: BotApiStandIn) -> None:
    bot = Bot("999:WRONG", base_url=server.api_base_url, base_file_url=server.file_base_url)
    with pytest.raises(InvalidToken):
        async with bot:  # on failure PTB shuts the bot's HTTP clients down itself
            pass
    assert server.calls[-1].status == 401


async def test_document_caption_command_and_wait_timeout(server: BotApiStandIn) -> None:
    phone: Phone = server.phone(1011, "Cy")
    got: list[tuple[str, str, str]] = []

    async def import_items(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # PTB's CommandHandler only reads message.text, so a command in a caption needs a
        # MessageHandler; the caption still carries Telegram's bot_command entity.
        message = update.effective_message
        assert message is not None and message.document is not None
        assert message.caption is not None
        entity = message.caption_entities[0]
        assert (entity.type, entity.offset) == ("bot_command", 0)
        data = await (await message.document.get_file()).download_as_bytearray()
        got.append((message.caption, message.document.mime_type or "", data.decode()))
        await message.reply_text(f"Imported {message.document.file_name}")

    handler = MessageHandler(
        filters.Document.ALL & filters.CaptionRegex(r"^/import\b"), import_items
    )
    async with running_bot(server, handler):
        await phone.send_document(b'{"text": "hi"}\n', "items.jsonl", caption="/import proj")
        await phone.wait_text("Imported items.jsonl")
        with pytest.raises(AssertionError, match=r"Imported items\.jsonl"):
            await phone.wait_text("never said", timeout=0.2)

    assert got == [("/import proj", "application/octet-stream", '{"text": "hi"}\n')]
