"""A simulated person holding a phone with the bot's chat open.

A :class:`Phone` is the user's side of one private chat with the stand-in server: it sends
messages, taps inline buttons and uploads files (each becomes an ``Update`` that the bot
fetches with ``getUpdates``), and it sees what the bot sent, in its current state after
edits and deletions. Tests read the chat the way a person would: the last message, the
button labels, the pop-up alerts.

Waiting is event driven (a per-phone signal that the server fires on every bot-side change)
rather than a sleep loop, so hundreds of simulated users can wait at once without burning
CPU, and a test resumes the instant the bot answers.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any, Protocol

JSON = dict[str, Any]


class StandInSide(Protocol):
    """What a phone needs of the stand-in server (``BotApiStandIn`` satisfies it).

    Naming the server class here would make ``phone`` and ``server`` import each other;
    the protocol keeps the dependency one way (server imports phone)."""

    def unblock(self, user_id: int, *, notify: bool = True) -> None: ...
    def _now(self) -> int: ...
    def _enqueue(self, payload: JSON, kind: str) -> JSON: ...
    def _new_callback_id(self, user_id: int) -> str: ...
    def _store_file(self, kind: str, data: bytes, *, filename: str | None,
                    mime_type: str | None = None, duration: int | None = None,
                    title: str | None = None, performer: str | None = None) -> Any: ...
    def _file_json(self, stored: Any) -> Any: ...

# A command at the start of a text, as Telegram marks it: "/name" or "/name@botname".
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def command_entities(text: str) -> list[JSON]:
    """The ``bot_command`` entity Telegram adds to a text that starts with a command.

    PTB's ``CommandHandler`` ignores a "/start" text without this entity, so a simulated
    user must send it just like a real client does.
    """
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    end = match.end()
    if end < len(text) and not text[end].isspace():
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]


class Signal:
    """A broadcast wake-up for any number of waiters, allocated only while someone waits.

    An ``asyncio.Condition`` per phone would cost a lock and a deque for each of 100,000
    simulated users; this holds one optional future that :meth:`notify` resolves.
    """

    __slots__ = ("_future",)

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None

    def notify(self) -> None:
        """Wake every current waiter."""
        future = self._future
        if future is not None:
            self._future = None
            if not future.done():
                future.set_result(None)

    async def wait(self, timeout: float | None) -> bool:
        """Wait for the next :meth:`notify`; False if ``timeout`` seconds passed first."""
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        future = self._future
        try:
            # shield: one waiter timing out must not cancel the future others share.
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return False
        return True


class Phone:
    """One simulated Telegram user and their private chat with the bot.

    Create it with :meth:`BotApiStandIn.phone`; the same id always gives the same phone.
    ``messages`` holds the bot's messages as live dicts (they change when the bot edits
    them); copy one if you need a snapshot.
    """

    __slots__ = (
        "_bot_messages",
        "_next_message_id",
        "_signal",
        "_user_messages",
        "alerts",
        "answers",
        "blocked_flag",
        "chat",
        "chat_instance",
        "keyboard",
        "server",
        "user",
        "version",
    )

    def __init__(
        self,
        server: StandInSide,
        user_id: int,
        first_name: str = "Ann",
        *,
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> None:
        self.server = server
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            user["last_name"] = chat["last_name"] = last_name
        if username:
            user["username"] = chat["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.user = user
        self.chat = chat
        # Telegram's chat_instance is an opaque per-chat string; any stable value will do.
        self.chat_instance = str(-(user_id * 7919 + 104729))
        self._bot_messages: dict[int, JSON] = {}
        self._user_messages: dict[int, JSON] = {}
        self._next_message_id = 1
        self._signal: Signal | None = None
        self.alerts: list[str] = []
        self.answers: list[JSON] = []
        self.keyboard: list[list[str]] | None = None
        self.blocked_flag = False
        self.version = 0

    def __repr__(self) -> str:
        return f"<Phone {self.id} {self.user['first_name']!r} v{self.version}>"

    # ----------------------------------------------------------------- reading the chat

    @property
    def id(self) -> int:
        """The user id, which is also the private chat id."""
        return int(self.user["id"])

    @property
    def blocked(self) -> bool:
        """True while this user has blocked the bot (see ``BotApiStandIn.block``)."""
        return self.blocked_flag

    @property
    def messages(self) -> list[JSON]:
        """The bot's messages in this chat, oldest first, as they look now."""
        return list(self._bot_messages.values())

    @property
    def last(self) -> JSON | None:
        """The bot's latest message still in the chat, or None."""
        if not self._bot_messages:
            return None
        return next(reversed(self._bot_messages.values()))

    def current(self, message: JSON | None = None) -> JSON | None:
        """The stored, up-to-date version of ``message`` (default: the last bot message)."""
        if message is None:
            return self.last
        stored = self._bot_messages.get(message.get("message_id", -1))
        return stored if stored is not None else message

    def buttons(self, message: JSON | None = None) -> list[list[str]]:
        """Inline keyboard labels of ``message`` (default: the last bot message), by row."""
        current = self.current(message)
        if current is None:
            return []
        markup = current.get("reply_markup") or {}
        return [[button["text"] for button in row] for row in markup.get("inline_keyboard", [])]

    def text(self, message: JSON | None = None) -> str | None:
        """Text or caption of ``message`` (default: the last bot message)."""
        current = self.current(message)
        if current is None:
            return None
        return current.get("text", current.get("caption"))

    def transcript(self, limit: int = 8) -> str:
        """The chat's last messages as readable lines, for assertion messages."""
        lines = [f"chat {self.id} ({self.user['first_name']}), version {self.version}:"]
        shown = self.messages[-limit:]
        if not shown:
            lines.append("  (no bot messages)")
        for message in shown:
            kind = next(
                (k for k in ("photo", "voice", "audio", "document") if k in message), "text"
            )
            body = (self.text(message) or "").replace("\n", "\n      ")
            lines.append(f"  #{message['message_id']} [{kind}] {body}")
            for row in self.buttons(message):
                lines.append("      " + "  ".join(f"[{label}]" for label in row))
        if self.alerts:
            lines.append(f"  alerts: {self.alerts[-5:]!r}")
        if self.keyboard:
            lines.append(f"  reply keyboard: {self.keyboard!r}")
        return "\n".join(lines)

    # ------------------------------------------------------------- acting as the user

    async def send(self, text: str) -> JSON:
        """Type and send ``text``; a leading "/command" gets its ``bot_command`` entity."""
        return self._send_message({"text": text, **_entities("entities", text)})

    async def reply(self, text: str, to: JSON | None = None) -> JSON:
        """Send ``text`` as a reply to ``to`` (a message dict), or plainly if None."""
        extra: JSON = {"text": text, **_entities("entities", text)}
        if to is not None:
            extra["reply_to_message"] = _snapshot(self.current(to) or to)
        return self._send_message(extra)

    async def edit(self, sent: JSON, text: str) -> JSON:
        """Edit a message this user sent: Telegram delivers it as an ``edited_message``
        update with the same message id and an ``edit_date``. ``sent`` is what ``send``
        returned (the update) or the message itself."""
        sent = sent.get("message", sent)
        original = self._user_messages.get(sent.get("message_id", -1))
        if original is None:
            raise AssertionError(f"Chat {self.id} sent no message #{sent.get('message_id')}.")
        edited: JSON = {**original, "text": text, "edit_date": self.server._now()}
        edited.pop("entities", None)
        edited.update(_entities("entities", text))
        self._user_messages[edited["message_id"]] = edited
        return self.server._enqueue({"edited_message": edited}, "edited_message")

    async def tap(self, button_text: str, message: JSON | None = None) -> JSON:
        """Tap the inline button labelled exactly ``button_text``.

        Looks in ``message`` if given, else in the newest bot message that has such a button,
        as a person scrolling up would. Fails with the visible buttons listed if none match.
        """
        if message is not None and message.get("message_id") not in self._bot_messages:
            raise AssertionError(f"Message #{message.get('message_id')} is no longer in the chat.")
        candidates = [self.current(message)] if message is not None else self.messages[::-1]
        for candidate in candidates:
            if candidate is None:
                continue
            for row in (candidate.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button.get("text") != button_text:
                        continue
                    if "callback_data" not in button:
                        raise AssertionError(
                            f"Button {button_text!r} in message #{candidate['message_id']} "
                            f"has no callback_data (it is {sorted(button)}); cannot tap it."
                        )
                    return await self.tap_data(candidate, button["callback_data"])
        visible = [
            f"#{m['message_id']}: {self.buttons(m)}" for m in candidates if m and self.buttons(m)
        ]
        raise AssertionError(
            f"No button {button_text!r} in chat {self.id}. Visible buttons: "
            + ("; ".join(visible) if visible else "none")
            + "\n"
            + self.transcript()
        )

    async def tap_data(self, message: JSON | None, data: str) -> JSON:
        """Send a callback query with arbitrary ``data`` on ``message`` (a forged tap)."""
        self._unblock_by_using()
        target = self.current(message)
        if target is None:
            raise AssertionError(f"Chat {self.id} has no bot message to tap on.")
        query_id = self.server._new_callback_id(self.id)
        query: JSON = {
            "id": query_id,
            "from": self.user,
            "message": _snapshot(target),
            "chat_instance": self.chat_instance,
            "data": data,
        }
        return self.server._enqueue({"callback_query": query}, "callback_query")

    async def send_voice(self, data: bytes, duration: int = 3) -> JSON:
        """Record and send a voice note whose bytes the bot can download with getFile."""
        record = self.server._store_file(
            "voice", data, filename="voice.oga", mime_type="audio/ogg", duration=duration
        )
        return self._send_message({"voice": self.server._file_json(record)})

    async def send_document(
        self,
        data: bytes,
        filename: str,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> JSON:
        """Send a file; a caption like "/import proj" carries a ``bot_command`` entity."""
        record = self.server._store_file("document", data, filename=filename, mime_type=mime_type)
        extra: JSON = {"document": self.server._file_json(record)}
        if caption is not None:
            extra["caption"] = caption
            extra.update(_entities("caption_entities", caption))
        return self._send_message(extra)

    async def send_photo(self, data: bytes, caption: str | None = None) -> JSON:
        """Send a photo (any bytes; real images get their true width and height)."""
        record = self.server._store_file("photo", data, filename="photo.jpg")
        extra: JSON = {"photo": self.server._file_json(record)}
        if caption is not None:
            extra["caption"] = caption
            extra.update(_entities("caption_entities", caption))
        return self._send_message(extra)

    # ------------------------------------------------------------------------- waiting

    async def wait_for(self, predicate: Callable[[Phone], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate(phone)`` is truthy and return its value.

        Re-checks only when this chat changes. On timeout raises ``AssertionError`` with the
        chat transcript, which is what a failing end-to-end test needs to show.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                name = getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(
                    f"Timed out after {timeout}s waiting for {name}.\n{self.transcript()}"
                )
            if self._signal is None:
                self._signal = Signal()
            await self._signal.wait(remaining)

    async def wait_change(self, since_version: int, timeout: float = 5.0) -> int:
        """Wait until ``version`` exceeds ``since_version``; return the new version."""

        def changed(phone: Phone) -> int:
            return phone.version if phone.version > since_version else 0

        return int(await self.wait_for(changed, timeout))

    async def wait_alert(self, count: int = 1, timeout: float = 5.0) -> str:
        """Wait until at least ``count`` callback answers arrived; return the ``count``-th."""

        def has_alerts(phone: Phone) -> bool:
            return len(phone.alerts) >= count

        await self.wait_for(has_alerts, timeout)
        return self.alerts[count - 1]

    async def wait_text(self, substring: str, timeout: float = 5.0) -> JSON:
        """Wait for a bot message whose text or caption contains ``substring``; return it."""

        def find(phone: Phone) -> JSON | None:
            for message in reversed(phone.messages):
                if substring in (phone.text(message) or ""):
                    return message
            return None

        find.__name__ = f"a message containing {substring!r}"
        found: JSON = await self.wait_for(find, timeout)
        return found

    # ---------------------------------------------------------------- server internals

    def _take_message_id(self) -> int:
        """Message ids in a private chat are shared by both sides and only grow."""
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    def _changed(self) -> None:
        """Record a bot-side change and wake whoever waits on this chat."""
        self.version += 1
        if self._signal is not None:
            self._signal.notify()

    def _unblock_by_using(self) -> None:
        """Writing to a bot you blocked first unblocks it, as in the Telegram apps."""
        if self.blocked_flag:
            self.server.unblock(self.id)

    def _send_message(self, content: JSON) -> JSON:
        self._unblock_by_using()
        message: JSON = {
            "message_id": self._take_message_id(),
            "from": self.user,
            "chat": self.chat,
            "date": self.server._now(),
            **content,
        }
        self._user_messages[message["message_id"]] = message
        return self.server._enqueue({"message": message}, "message")


def _entities(key: str, text: str) -> JSON:
    found = command_entities(text)
    return {key: found} if found else {}


def _snapshot(message: JSON) -> JSON:
    """A deep copy, so a queued update keeps the message as it was when the user acted."""
    copied: JSON = json.loads(json.dumps(message))
    return copied
