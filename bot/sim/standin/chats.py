"""Simulated users and chats, stored files, and the shared steps of sending and editing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import mimetypes
import secrets
from collections.abc import Mapping
from typing import Any

from bot.sim.phone import JSON, Phone
from bot.sim.standin.core import _Core
from bot.sim.standin.formatting import _format
from bot.sim.standin.wire import (
    _FILE_FOLDER,
    _FILE_PREFIX,
    BLOCKED,
    MAX_CAPTION,
    MAX_TEXT,
    NOT_MODIFIED,
    WRONG_FILE,
    ApiError,
    StoredFile,
    _extension,
    _image_size,
    _inline_markup,
    _Upload,
)


class _Chats(_Core):
    """Simulated users, stored files and the pieces every sending method shares."""

    # ------------------------------------------------------------------ users and chats

    def phone(
        self,
        user_id: int,
        first_name: str = "Ann",
        *,
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> Phone:
        """The simulated user ``user_id`` (created on first use; same object afterwards).

        A chat exists for the bot only once its phone exists; sending elsewhere is
        "chat not found", as for a user who never pressed Start.
        """
        phone = self._phones.get(user_id)
        if phone is None:
            phone = Phone(
                self,
                user_id,
                first_name,
                language_code=language_code,
                username=username,
                last_name=last_name,
            )
            self._phones[user_id] = phone
        return phone

    @property
    def phones(self) -> Mapping[int, Phone]:
        """Every simulated user by id."""
        return self._phones

    def block(self, user_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: sends and edits to them answer 403 from now on.

        With ``notify`` the bot also gets the ``my_chat_member`` update Telegram sends.
        """
        phone = self._existing_phone(user_id)
        if phone.blocked_flag:
            return
        phone.blocked_flag = True
        if notify:
            self._member_update(phone, "member", "kicked")

    def unblock(self, user_id: int, *, notify: bool = True) -> None:
        """The user unblocks (restarts) the bot."""
        phone = self._existing_phone(user_id)
        if not phone.blocked_flag:
            return
        phone.blocked_flag = False
        if notify:
            self._member_update(phone, "kicked", "member")

    def replay(self, update: JSON) -> JSON:
        """Queue an exact copy of ``update`` under a new update_id (a duplicate delivery).

        A replayed callback query can be answered again, as a redelivery arrives while the
        original query is still open.
        """
        copied: JSON = json.loads(json.dumps(update))
        copied.pop("update_id", None)
        kind = next(iter(copied))
        if kind == "callback_query":
            query = copied["callback_query"]
            self._callbacks[str(query["id"])] = int(query["from"]["id"])
        return self._enqueue(copied, kind)

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot's getUpdates offset."""
        return len(self._updates)

    async def wait_drained(self, timeout: float = 5.0) -> None:
        """Wait until the bot has fetched and confirmed every queued update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._updates:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{len(self._updates)} updates still unconfirmed")
            await self._drained_signal.wait(remaining)

    def file_bytes(self, file_id: str) -> bytes:
        """The content of a stored file (for tests checking what the bot sent)."""
        return self._files[file_id].data

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands set with setMyCommands for ``scope`` and ``language_code``."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return list(self._commands.get(key, []))

    # -------------------------------------------------------------------------- files

    def _store_file(
        self,
        kind: str,
        data: bytes,
        *,
        filename: str | None,
        mime_type: str | None = None,
        duration: int | None = None,
        title: str | None = None,
        performer: str | None = None,
    ) -> StoredFile:
        """Keep an uploaded file under a new file_id and a download path."""
        self._file_seq += 1
        seq = self._file_seq
        file_id = f"{_FILE_PREFIX[kind]}{seq:06d}{secrets.token_urlsafe(12)}"
        digest = hashlib.sha1(data).digest()[:9]
        unique_id = "AQAD" + base64.urlsafe_b64encode(digest).decode()
        guessed = mimetypes.guess_type(filename or "", strict=False)[0]
        if mime_type in (None, "", "application/octet-stream"):
            mime_type = guessed or mime_type
        meta: JSON = {"file_size": len(data)}
        if kind == "photo":
            meta["width"], meta["height"], ext = _image_size(data)
        elif kind == "voice":
            meta.update(duration=int(duration or 0), mime_type="audio/ogg")
            ext = "oga"
        elif kind == "audio":
            meta.update(duration=int(duration or 0), mime_type=mime_type or "audio/mpeg")
            if filename:
                meta["file_name"] = filename
            if title:
                meta["title"] = title
            if performer:
                meta["performer"] = performer
            ext = _extension(filename, "mp3")
        else:
            meta["file_name"] = filename or "file"
            meta["mime_type"] = mime_type or "application/octet-stream"
            ext = _extension(filename, "bin")
        path = f"{_FILE_FOLDER[kind]}/file_{seq}.{ext}"
        stored = StoredFile(kind, file_id, unique_id, path, data, meta)
        self._files[file_id] = stored
        self._paths[path] = stored
        return stored

    def _file_json(self, stored: StoredFile) -> Any:
        """The Bot API object for a file inside a message (a list of sizes for photos)."""
        base: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        meta = stored.meta
        if stored.kind == "photo":
            return [
                {
                    **base,
                    "width": meta["width"],
                    "height": meta["height"],
                    "file_size": meta["file_size"],
                }
            ]
        return {**base, **meta}

    def _resolve_file(self, kind: str, params: JSON, files: dict[str, _Upload]) -> StoredFile:
        """An upload becomes a new file; a known file_id is reused without uploading."""
        value = params.get(kind)
        upload = files.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, WRONG_FILE)
        elif upload is None:
            if not isinstance(value, str) or not value:
                raise ApiError(400, f"Bad Request: there is no {kind} in the request")
            stored = self._files.get(value)
            if stored is None:
                raise ApiError(400, WRONG_FILE)
            if stored.kind != kind:
                raise ApiError(
                    400,
                    f"Bad Request: can't use file of type {stored.kind.title()} as {kind.title()}",
                )
            self.reuses += 1
            return stored
        if len(upload.data) > self.max_upload:
            raise ApiError(413, "Request Entity Too Large")
        self.uploads += 1
        duration = params.get("duration")
        return self._store_file(
            kind,
            upload.data,
            filename=upload.filename,
            mime_type=upload.content_type,
            duration=duration if isinstance(duration, int) else None,
            title=params.get("title"),
            performer=params.get("performer"),
        )

    def _chat(self, params: JSON, *, check_blocked: bool = True) -> Phone:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        phone = self._phones.get(chat_id) if isinstance(chat_id, int) else None
        if phone is None:
            raise ApiError(400, "Bad Request: chat not found")
        if check_blocked and phone.blocked_flag:
            raise ApiError(403, BLOCKED)
        return phone

    def _text_content(self, params: JSON) -> JSON:
        text = params.get("text")
        if text is None or text == "":
            raise ApiError(400, "Bad Request: message text is empty")
        plain, entities = _format(str(text), params.get("parse_mode"), params.get("entities"))
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(plain) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        content: JSON = {"text": plain}
        if entities:
            content["entities"] = entities
        return content

    def _caption_content(self, params: JSON) -> JSON:
        caption = params.get("caption")
        if caption is None or caption == "":
            return {}
        plain, entities = _format(
            str(caption), params.get("parse_mode"), params.get("caption_entities")
        )
        if len(plain) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        content: JSON = {"caption": plain}
        if entities:
            content["caption_entities"] = entities
        return content

    def _reply_to(self, phone: Phone, params: JSON) -> JSON:
        reply = params.get("reply_parameters")
        allow = bool(params.get("allow_sending_without_reply"))
        message_id = params.get("reply_to_message_id")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply", allow))
        if not isinstance(message_id, int):
            return {}
        target = phone._bot_messages.get(message_id) or phone._user_messages.get(message_id)
        if target is None:
            if allow:
                return {}
            raise ApiError(400, "Bad Request: message to be replied not found")
        snapshot: JSON = json.loads(json.dumps(target))
        snapshot.pop("reply_to_message", None)
        return {"reply_to_message": snapshot}

    def _deliver(self, phone: Phone, content: JSON, params: JSON, markup: JSON | None) -> JSON:
        """Append a bot message to the chat; every check has passed by now."""
        reply = self._reply_to(phone, params)
        message: JSON = {
            "message_id": phone._take_message_id(),
            "from": self.bot_user,
            "chat": phone.chat,
            "date": self._now(),
            **reply,
            **content,
        }
        if markup is not None:
            message["reply_markup"] = markup
        raw_markup = params.get("reply_markup")
        if isinstance(raw_markup, dict):
            if "keyboard" in raw_markup:
                phone.keyboard = [
                    [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
                    for row in raw_markup["keyboard"]
                ]
            elif raw_markup.get("remove_keyboard"):
                phone.keyboard = None
        phone._bot_messages[message["message_id"]] = message
        if self.history_limit is not None:
            while len(phone._bot_messages) > self.history_limit:
                del phone._bot_messages[next(iter(phone._bot_messages))]
        phone._changed()
        return message

    def _editable(self, params: JSON) -> tuple[Phone, JSON]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID (no inline messages here)")
        phone = self._chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = phone._bot_messages.get(message_id)
        if message is None:
            if message_id in phone._user_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return phone, message

    def _apply_edit(
        self,
        phone: Phone,
        message: JSON,
        content: JSON,
        keys: tuple[str, ...],
        markup: JSON | None,
    ) -> JSON:
        """Replace ``keys`` of ``message`` by ``content``; an edit without a keyboard
        removes the keyboard, as on Telegram."""
        new = {key: content[key] for key in keys if key in content}
        old = {key: message[key] for key in keys if key in message}
        if new == old and message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        for key in keys:
            message.pop(key, None)
        message.update(new)
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = self._now()
        phone._changed()
        return message

    async def _send_media(self, kind: str, params: JSON, files: dict[str, _Upload]) -> JSON:
        phone = self._chat(params)
        caption = self._caption_content(params)
        markup = _inline_markup(params.get("reply_markup"))
        stored = self._resolve_file(kind, params, files)
        return self._deliver(phone, {kind: self._file_json(stored), **caption}, params, markup)
