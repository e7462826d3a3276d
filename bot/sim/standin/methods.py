"""The Bot API methods the stand-in answers, one ``_api_<name>`` coroutine each.

They are found by name when the server is built, so adding a method here is enough.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from bot.sim.phone import JSON
from bot.sim.standin.chats import _Chats
from bot.sim.standin.wire import (
    _COMMAND_SCOPES,
    _GIFT_TYPES,
    _MEDIA_KINDS,
    MAX_DOWNLOAD,
    QUERY_TOO_OLD,
    ApiError,
    _as_float,
    _as_int,
    _commands_key,
    _inline_markup,
    _RawResult,
    _Upload,
)


class BotApiStandIn(_Chats):
    """A Telegram Bot API server for one bot, with simulated users as :class:`Phone`.

    Build the bot with ``.base_url(server.api_base_url).base_file_url(server.file_base_url)``
    and the same ``token``. ``history_limit`` keeps only the newest N bot messages per chat
    (for very large simulated crowds); ``clock`` sets message dates (e.g. a ``FakeClock``).
    """

    # ------------------------------------------------------------ Bot API: the bot

    async def _api_getMe(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_logOut(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return True

    async def _api_close(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return True

    async def _api_setWebhook(self, params: JSON, files: dict[str, _Upload]) -> Any:
        """Remember the webhook and post every update there (getUpdates then answers
        409), with the secret token in each post's header, as Telegram does."""
        url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if not url:
            return await self._api_deleteWebhook({}, files)
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided "
                                "for webhook")
        secret = str(params.get("secret_token") or "")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        connections = min(max(_as_int(params.get("max_connections"), 40), 1), 100)
        self._webhook_url = url
        await self._start_webhook(url, secret, frozenset(allowed) if isinstance(
            allowed, list) and allowed else None, connections)
        return True

    async def _api_deleteWebhook(self, params: JSON, files: dict[str, _Upload]) -> Any:
        self._webhook_url = ""
        await self._stop_webhook()
        if params.get("drop_pending_updates"):
            self._updates.clear()
            self._drained_signal.notify()
        return True

    async def _api_getWebhookInfo(self, params: JSON, files: dict[str, _Upload]) -> Any:
        info: JSON = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        delivery = self.webhook
        if delivery is not None:
            info["max_connections"] = delivery.connections
            if delivery.allowed is not None:
                info["allowed_updates"] = sorted(delivery.allowed)
            if delivery.last_error:
                info["last_error_date"] = self._now()
                info["last_error_message"] = delivery.last_error
        return info

    async def _api_setMyCommands(self, params: JSON, files: dict[str, _Upload]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        self._check_commands_target(params)
        self._commands[_commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _check_commands_target(self, params: JSON) -> None:
        """Refuse what Telegram refuses: an unknown scope, a language code that is not two
        letters, and a chat scope for someone who never wrote to the bot."""
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", str(language)):
            raise ApiError(400, "Bad Request: LANGUAGE_CODE_INVALID")
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise ApiError(400, "Bad Request: can't parse scope JSON object")
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            self._chat(scope, check_blocked=False)

    async def _api_getMyCommands(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return self._commands.get(_commands_key(params), [])

    async def _api_deleteMyCommands(self, params: JSON, files: dict[str, _Upload]) -> Any:
        self._commands.pop(_commands_key(params), None)
        return True

    async def _api_setMyDescription(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return True

    async def _api_setMyShortDescription(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return True

    async def _api_setMyName(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return True

    async def _api_setChatMenuButton(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return True

    async def _api_getUpdates(self, params: JSON, files: dict[str, _Upload]) -> Any:
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset"), 0)
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        timeout = max(_as_float(params.get("timeout"), 0.0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed = frozenset(allowed) if allowed else None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.notify()  # an older long poll ends with 409, like Telegram's
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._batch(limit)
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return _RawResult(b"[" + b",".join(batch) + b"]")
            await self._updates_signal.wait(remaining)
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )

    # ----------------------------------------------------------- Bot API: messages

    async def _api_getChat(self, params: JSON, files: dict[str, _Upload]) -> Any:
        phone = self._chat(params, check_blocked=False)
        return {
            **phone.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": _GIFT_TYPES,
        }

    async def _api_sendChatAction(self, params: JSON, files: dict[str, _Upload]) -> Any:
        self._chat(params)
        return True

    async def _api_sendMessage(self, params: JSON, files: dict[str, _Upload]) -> Any:
        phone = self._chat(params)
        content = self._text_content(params)
        markup = _inline_markup(params.get("reply_markup"))
        return self._deliver(phone, content, params, markup)

    async def _api_sendPhoto(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return await self._send_media("photo", params, files)

    async def _api_sendVoice(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return await self._send_media("voice", params, files)

    async def _api_sendAudio(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return await self._send_media("audio", params, files)

    async def _api_sendDocument(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return await self._send_media("document", params, files)

    async def _api_editMessageText(self, params: JSON, files: dict[str, _Upload]) -> Any:
        phone, message = self._editable(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        content = self._text_content(params)
        markup = _inline_markup(params.get("reply_markup"))
        return self._apply_edit(phone, message, content, ("text", "entities"), markup)

    async def _api_editMessageCaption(self, params: JSON, files: dict[str, _Upload]) -> Any:
        phone, message = self._editable(params)
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        content = self._caption_content(params)
        markup = _inline_markup(params.get("reply_markup"))
        return self._apply_edit(phone, message, content, ("caption", "caption_entities"), markup)

    async def _api_editMessageReplyMarkup(self, params: JSON, files: dict[str, _Upload]) -> Any:
        phone, message = self._editable(params)
        markup = _inline_markup(params.get("reply_markup"))
        return self._apply_edit(phone, message, {}, (), markup)

    async def _api_editMessageMedia(self, params: JSON, files: dict[str, _Upload]) -> Any:
        phone, message = self._editable(params)
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no media in the message to edit")
        media = params.get("media")
        if not isinstance(media, dict) or "media" not in media:
            raise ApiError(400, "Bad Request: can't parse InputMedia JSON object")
        kind = media.get("type")
        if kind not in ("photo", "audio", "document"):
            raise ApiError(
                400, f"Bad Request: can't use media of type {kind!r} in editMessageMedia"
            )
        caption = self._caption_content(media)
        markup = _inline_markup(params.get("reply_markup"))
        media_params = {**media, kind: media["media"]}
        stored = self._resolve_file(kind, media_params, files)
        content = {kind: self._file_json(stored), **caption}
        keys = (*_MEDIA_KINDS, "caption", "caption_entities")
        return self._apply_edit(phone, message, content, keys, markup)

    async def _api_deleteMessage(self, params: JSON, files: dict[str, _Upload]) -> Any:
        phone = self._chat(params, check_blocked=False)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        deleted = phone._bot_messages.pop(message_id, None) or phone._user_messages.pop(
            message_id, None
        )
        if deleted is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        phone._changed()
        return True

    async def _api_deleteMessages(self, params: JSON, files: dict[str, _Upload]) -> Any:
        phone = self._chat(params, check_blocked=False)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids is invalid")
        for message_id in ids:
            if not isinstance(message_id, int):
                continue
            phone._bot_messages.pop(message_id, None)
            phone._user_messages.pop(message_id, None)
        phone._changed()
        return True

    async def _api_answerCallbackQuery(self, params: JSON, files: dict[str, _Upload]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        text = str(params.get("text") or "")
        if len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        user_id = self._callbacks.pop(query_id, None)
        if user_id is None:
            raise ApiError(400, QUERY_TOO_OLD)
        phone = self._phones[user_id]
        phone.alerts.append(text)
        phone.answers.append(
            {
                "text": text,
                "show_alert": bool(params.get("show_alert")),
                "url": params.get("url"),
            }
        )
        phone._changed()
        return True

    async def _api_getFile(self, params: JSON, files: dict[str, _Upload]) -> Any:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
