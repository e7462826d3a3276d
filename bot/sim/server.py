"""A local stand-in for the Telegram Bot API, served over HTTP on 127.0.0.1.

Why a server and not a mocked ``Bot``: the bot under test should be the real
python-telegram-bot ``Application`` with its real HTTP client, request encoding, rate
limiter, retries and error mapping. Pointing ``base_url``/``base_file_url`` here exercises
all of that, so a bug that would only show against api.telegram.org (a missing
``bot_command`` entity, an unescaped "<" in HTML, a 64-byte callback_data, "message is not
modified", a 429 that must be honoured) shows up in the tests too.

What it models, and only that: private chats with simulated users (:class:`Phone`),
long-polled updates, text/photo/voice/audio/document messages, edits, deletions, callback
answers, file uploads and downloads with ``file_id`` reuse, bot commands, and the error
answers Telegram gives for the mistakes a bot can make. Faults (429, 403, 5xx, slow
answers) can be injected per method and per chat. Everything runs in one asyncio loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import io
import json
import logging
import mimetypes
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple, Self, TypeVar

from aiohttp import BodyPartReader, web
from PIL import Image

from bot.clock import Clock
from bot.sim.phone import JSON, Phone, Signal, utf16_len

log = logging.getLogger(__name__)

BLOCKED = "Forbidden: bot was blocked by the user"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024
#: the largest file a bot may upload (Telegram answers 413 above it)
MAX_UPLOAD = 50 * 1000 * 1000

# PTB sends every parameter as a form field: strings as they are, everything else JSON
# encoded ("123", "true", '{"inline_keyboard": ...}'). These tables say how to read back
# a form value; a JSON body already has the right types.
_JSON_KEYS = frozenset(
    {
        "reply_markup", "media", "entities", "caption_entities", "allowed_updates",
        "commands", "scope", "reply_parameters", "link_preview_options", "message_ids",
        "menu_button",
    }
)  # fmt: skip
_INT_KEYS = frozenset(
    {
        "chat_id", "message_id", "offset", "limit", "timeout", "duration", "width",
        "height", "cache_time", "reply_to_message_id", "message_thread_id",
        "max_connections", "user_id",
    }
)  # fmt: skip
_BOOL_KEYS = frozenset(
    {
        "show_alert", "disable_notification", "drop_pending_updates", "protect_content",
        "allow_sending_without_reply", "has_spoiler", "disable_content_type_detection",
        "show_caption_above_media", "disable_web_page_preview", "allow_paid_broadcast",
    }
)  # fmt: skip
_INT_RE = re.compile(r"-?\d+")

_MEDIA_KINDS = ("photo", "voice", "audio", "document", "video", "animation")
_FILE_PREFIX = {"photo": "AgAC", "voice": "AwAC", "audio": "CQAC", "document": "BQAC"}
_FILE_FOLDER = {"photo": "photos", "voice": "voice", "audio": "music", "document": "documents"}

_GIFT_TYPES = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class Call(NamedTuple):
    """One request the bot made. ``params`` shows uploads as "<upload name N bytes>"."""

    method: str
    params: JSON
    chat_id: int | None
    at: float
    status: int
    #: Telegram's description of a refusal ("Bad Request: can't parse entities: ..")
    error: str = ""


@dataclass(slots=True)
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(slots=True)
class StoredFile:
    """A file known to the server, uploaded by the bot or by a simulated user."""

    kind: str
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    meta: JSON


@dataclass(slots=True)
class _Fault:
    method: str
    status: int
    retry_after: int
    times: int
    chat_id: int | None


@dataclass(slots=True)
class _Delay:
    method: str
    seconds: float
    times: int
    chat_id: int | None
    before: bool


class _RawResult:
    """An already serialised JSON result (queued updates are serialised when queued)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


_T = TypeVar("_T", _Fault, _Delay)
Handler = Callable[[JSON, dict[str, _Upload]], Awaitable[Any]]


class BotApiStandIn:
    """A Telegram Bot API server for one bot, with simulated users as :class:`Phone`.

    Build the bot with ``.base_url(server.api_base_url).base_file_url(server.file_base_url)``
    and the same ``token``. ``history_limit`` keeps only the newest N bot messages per chat
    (for very large simulated crowds); ``clock`` sets message dates (e.g. a ``FakeClock``).
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_id: int = 123456,
        bot_username: str = "tapwork_test_bot",
        bot_name: str = "Tapwork",
        clock: Clock | None = None,
        history_limit: int | None = None,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.clock = clock
        self.history_limit = history_limit
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.record_calls = True
        self.calls: list[Call] = []
        self.uploads = 0
        self.reuses = 0
        #: uploads above this many bytes are refused as Telegram refuses them (tests lower it)
        self.max_upload = MAX_UPLOAD
        self.internal_errors: list[BaseException] = []
        self._counts: Counter[str] = Counter()
        self._phones: dict[int, Phone] = {}
        self._updates: deque[tuple[int, str, bytes]] = deque()
        self._last_update_id = 10_000
        self._allowed: frozenset[str] | None = None
        self._updates_signal = Signal()
        self._drained_signal = Signal()
        self._poll_generation = 0
        self._webhook_url = ""
        self._callbacks: dict[str, int] = {}
        self._callback_seq = 0
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._file_seq = 0
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name in dir(self):
            if name.startswith("_api_"):
                api_name = name.removeprefix("_api_")
                self._methods[api_name.lower()] = (api_name, getattr(self, name))

    # ---------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # handler_cancellation: a long poll whose client went away must stop waiting.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        # A deep backlog: a bot opening 200+ pooled connections at once must not see
        # SYN retries, which would show up as one-second stalls in benchmarks.
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        """Answer pending long polls, close connections and stop listening."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._updates_signal.notify()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_base_url(self) -> str:
        """For ``ApplicationBuilder.base_url``; PTB appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        """For ``ApplicationBuilder.base_file_url``; PTB appends the token."""
        return f"http://{self.host}:{self.port}/file/bot"

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

    # ------------------------------------------------------------- faults and records

    def inject(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int = 1,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Fail the next ``times`` calls of ``method`` (only for ``chat_id`` if given).

        ``method`` is case-insensitive; "*" matches every method except getUpdates.
        Failed calls change nothing, like a rejected request on Telegram's side.
        """
        self._faults.append(_Fault(method.lower(), status, retry_after, times, chat_id))

    def delay(
        self,
        method: str,
        seconds: float,
        times: int = 1,
        *,
        chat_id: int | None = None,
        before: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` only after ``seconds``.

        By default the call takes effect at once and only the answer is late, which is what
        a read timeout against Telegram usually means (the message *was* sent). With
        ``before=True`` the server waits first, and if the client gives up meanwhile the
        call never happens.
        """
        self._delays.append(_Delay(method.lower(), seconds, times, chat_id, before))

    def count(self, method: str | None = None) -> int:
        """Calls of ``method`` (case-insensitive), or all calls, including failed ones."""
        if method is None:
            return sum(self._counts.values())
        wanted = method.lower()
        return sum(n for name, n in self._counts.items() if name.lower() == wanted)

    def reset_calls(self) -> None:
        """Forget recorded calls and counters (not chats, files or updates)."""
        self.calls.clear()
        self._counts.clear()

    # ------------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        requested = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self._record(requested, {}, None, started, 401)
            return _error_response(ApiError(401, "Unauthorized"))
        entry = self._methods.get(requested.lower())
        if entry is None:
            self._record(requested, {}, None, started, 404)
            return _error_response(ApiError(404, "Not Found"))
        name, handler = entry
        params: JSON = {}
        files: dict[str, _Upload] = {}
        chat_id: int | None = None
        delay: _Delay | None = None
        refusal = ""
        try:
            params, files = await _read_params(request)
            raw_chat = params.get("chat_id")
            chat_id = raw_chat if isinstance(raw_chat, int) else None
            fault = self._take(self._faults, name, chat_id)
            if fault is not None:
                raise _fault_error(fault)
            delay = self._take(self._delays, name, chat_id)
            if delay is not None and delay.before:
                await asyncio.sleep(delay.seconds)
            result = await handler(params, files)
            response = _ok_response(result)
        except ApiError as error:
            refusal = error.description
            response = _error_response(error)
        except Exception as error:  # a stand-in bug: report it loudly, answer like a 500
            log.exception("stand-in failed on %s", name)
            self.internal_errors.append(error)
            response = _error_response(ApiError(500, f"Internal Server Error: {error!r}"))
        if self.record_calls:
            for part, upload in files.items():
                params[part] = f"<upload {upload.filename} {len(upload.data)} bytes>"
        self._record(name, params, chat_id, started, response.status, refusal)
        if delay is not None and not delay.before:
            await asyncio.sleep(delay.seconds)
        return response

    def _record(
        self, method: str, params: JSON, chat_id: int | None, started: float, status: int,
        error: str = "",
    ) -> None:
        self._counts[method] += 1
        if self.record_calls:
            self.calls.append(Call(method, params, chat_id, started, status, error))

    def refusals(self) -> list[Call]:
        """Calls Telegram would have refused for what they sent: text it cannot parse or
        that is too long (not "message is not modified", which a bot may meet in passing,
        nor injected faults)."""
        return [c for c in self.calls if c.status == 400 and (
            "can't parse" in c.error or "too long" in c.error)]

    def _take(self, queue: list[_T], method: str, chat_id: int | None) -> _T | None:
        """Consume one matching fault or delay, if any."""
        lowered = method.lower()
        for item in queue:
            if item.method not in (lowered, "*") or (
                item.method == "*" and lowered == "getupdates"
            ):
                continue
            if item.chat_id is not None and item.chat_id != chat_id:
                continue
            item.times -= 1
            if item.times <= 0:
                queue.remove(item)
            return item
        return None

    async def _download(self, request: web.Request) -> web.StreamResponse:
        stored = self._paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return _error_response(ApiError(404, "Not Found"))
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # ------------------------------------------------------------------------ updates

    def _now(self) -> int:
        """Message dates: integer seconds, from the injected clock if there is one."""
        if self.clock is not None:
            return int(self.clock.now().timestamp())
        return int(time.time())

    def _enqueue(self, payload: JSON, kind: str) -> JSON:
        """Queue an update, serialised now so later edits don't change what the bot gets."""
        self._last_update_id += 1
        update: JSON = {"update_id": self._last_update_id, **payload}
        raw = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
        self._updates.append((self._last_update_id, kind, raw))
        self._updates_signal.notify()
        return update

    def _confirm(self, offset: int) -> None:
        """An offset confirms (drops) every earlier update; a negative one keeps the last N."""
        updates = self._updates
        if offset > 0:
            while updates and updates[0][0] < offset:
                updates.popleft()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()
        if not updates:
            self._drained_signal.notify()

    def _batch(self, limit: int) -> list[bytes]:
        allowed = self._allowed
        batch: list[bytes] = []
        for _, kind, raw in self._updates:
            if allowed is None or kind in allowed:
                batch.append(raw)
                if len(batch) >= limit:
                    break
        return batch

    def _member_update(self, phone: Phone, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            extra: JSON = {"until_date": 0} if status == "kicked" else {}
            return {"user": self.bot_user, "status": status, **extra}

        self._enqueue(
            {
                "my_chat_member": {
                    "chat": phone.chat,
                    "from": phone.user,
                    "date": self._now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            },
            "my_chat_member",
        )

    def _new_callback_id(self, user_id: int) -> str:
        self._callback_seq += 1
        query_id = str(5_000_000_000_000_000 + self._callback_seq)
        self._callbacks[query_id] = user_id
        return query_id

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

    # ---------------------------------------------------------------- shared pieces

    def _existing_phone(self, user_id: int) -> Phone:
        phone = self._phones.get(user_id)
        if phone is None:
            raise KeyError(f"no simulated user {user_id}; create one with server.phone()")
        return phone

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
        # Accepted and remembered (getUpdates then answers 409); nothing is delivered.
        self._webhook_url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_deleteWebhook(self, params: JSON, files: dict[str, _Upload]) -> Any:
        self._webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
            self._drained_signal.notify()
        return True

    async def _api_getWebhookInfo(self, params: JSON, files: dict[str, _Upload]) -> Any:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

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


# ----------------------------------------------------------------- request decoding


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, _Upload]]:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    params: JSON = dict(request.query)
    files: dict[str, _Upload] = {}
    if request.body_exists:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise ApiError(400, "Bad Request: can't parse JSON body") from error
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON body must be an object")
            params.update(body)
        elif content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    data = bytes(await part.read())
                    files[part.name] = _Upload(
                        part.filename, part.headers.get("Content-Type"), data
                    )
                else:
                    params[part.name] = await part.text()
        else:
            form = await request.post()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return _coerce(params), files


def _coerce(params: JSON) -> JSON:
    """Turn form strings back into the JSON types PTB encoded them from."""
    for key, value in params.items():
        if not isinstance(value, str):
            continue
        if key in _JSON_KEYS:
            try:
                params[key] = json.loads(value)
            except ValueError as error:
                raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from error
        elif key in _INT_KEYS and _INT_RE.fullmatch(value.strip()):
            params[key] = int(value)
        elif key in _BOOL_KEYS:
            params[key] = value.strip().lower() in ("true", "1")
    return params


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _as_float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


_COMMAND_SCOPES = frozenset({
    "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
    "chat_administrators", "chat_member"})


def _commands_key(params: JSON) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


def _ok_response(result: Any) -> web.Response:
    if isinstance(result, _RawResult):
        body = b'{"ok":true,"result":' + result.data + b"}"
    else:
        payload = {"ok": True, "result": result}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(body=body, content_type="application/json")


def _error_response(error: ApiError) -> web.Response:
    if error.status == 502:  # Telegram's 502 comes from its nginx front, not as JSON
        html = b"<html><head><title>502 Bad Gateway</title></head></html>"
        return web.Response(status=502, body=html, content_type="text/html")
    payload: JSON = {"ok": False, "error_code": error.status, "description": error.description}
    if error.parameters:
        payload["parameters"] = error.parameters
    return web.Response(
        status=error.status,
        body=json.dumps(payload, ensure_ascii=False).encode(),
        content_type="application/json",
    )


def _fault_error(fault: _Fault) -> ApiError:
    descriptions = {
        400: "Bad Request: injected",
        401: "Unauthorized",
        403: BLOCKED,
        404: "Not Found",
        409: "Conflict: injected",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }
    if fault.status == 429:
        return ApiError(
            429,
            f"Too Many Requests: retry after {fault.retry_after}",
            {"retry_after": fault.retry_after},
        )
    return ApiError(fault.status, descriptions.get(fault.status, f"Error {fault.status}"))


def _image_size(data: bytes) -> tuple[int, int, str]:
    """Width, height and file extension of an image; 1x1 "jpg" for anything else."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            ext = (image.format or "jpg").lower().replace("jpeg", "jpg")
            return width, height, ext
    except Exception:  # Pillow raises several types for "not an image"; all mean 1x1
        return 1, 1, "jpg"


def _extension(filename: str | None, default: str) -> str:
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[1]
        if ext.isalnum() and len(ext) <= 8:
            return ext.lower()
    return default


# ------------------------------------------------------------------ reply markup


def _inline_markup(raw: Any) -> JSON | None:
    """Validate and copy an inline keyboard; other keyboards are not part of a message."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = raw.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button: expected an Array")
    copied: list[list[JSON]] = []
    for row in rows:
        new_row: list[JSON] = []
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button")
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode())
                if not 1 <= size <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            elif len(button) == 1:
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            new_row.append(dict(button))
        if new_row:
            copied.append(new_row)
    return {"inline_keyboard": copied} if copied else None


# ------------------------------------------------------------------ text formatting


def _format(text: str, parse_mode: Any, entities: Any) -> tuple[str, list[JSON]]:
    """Plain text and entities, as Telegram stores a message sent with ``parse_mode``.

    Parsing matters for tests twice over: the phone sees the text a person reads (no
    "<b>"), and markup Telegram would reject (an unescaped "." in MarkdownV2, a stray "<"
    in HTML) is rejected here with Telegram's "can't parse entities" error.
    """
    if not parse_mode:
        return text, list(entities) if isinstance(entities, list) else []
    mode = str(parse_mode).lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    raise ApiError(400, "Bad Request: unsupported parse_mode")


def _parse_error(source: str, index: int, detail: str) -> ApiError:
    offset = len(source[:index].encode())
    return ApiError(400, f"Bad Request: can't parse entities: {detail} at byte offset {offset}")


def _sort_entities(entities: list[JSON]) -> list[JSON]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_HTML_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
_HTML_ATTR = re.compile(r"""([A-Za-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


#: the only named entities the Bot API decodes; numeric ones are decoded too
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z]+));")


def _html_text(source: str, start: int, chunk: str) -> str:
    """Text between tags with its entities decoded; a "&" that starts none is refused.

    Telegram itself shows a stray "&" (and "&nbsp;") as written, but its documentation
    says every "&" that is not part of an entity must be escaped. The stand-in holds the
    bot to the documented rule: a bare "&" in HTML is the mark of text that was never
    escaped, and the same text with a "<" in it is refused by Telegram too, so a test
    with an "&" catches the missed escape before a "<" finds it in production.
    """
    if "&" not in chunk:
        return chunk
    out: list[str] = []
    i = 0
    while True:
        amp = chunk.find("&", i)
        if amp == -1:
            out.append(chunk[i:])
            return "".join(out)
        out.append(chunk[i:amp])
        match = _HTML_ENTITY.match(chunk, amp)
        decoded: str | None = None
        if match is not None:
            decimal, hexadecimal, name = match.groups()
            if name is not None:
                decoded = _NAMED_ENTITIES.get(name)
            else:
                code = int(decimal) if decimal is not None else int(hexadecimal, 16)
                decoded = chr(code) if 0 < code <= 0x10FFFF else None
        if decoded is None:
            raise _parse_error(source, start + amp, 'Character "&" must be escaped as '
                                                    '"&amp;" unless it starts an entity '
                                                    "(&lt; &gt; &amp; &quot; &#NN;)")
        assert match is not None
        out.append(decoded)
        i = match.end()


def _parse_html(source: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML subset: strips the tags, keeps entities, refuses anything else.

    A raw "<" that does not open a supported tag is an error, as on Telegram, which is
    how a bot that forgets to escape user text fails in production; so is a tag left
    open, an unknown tag, and (stricter than Telegram, see ``_html_text``) a bare "&".
    """
    parts: list[str] = []
    entities: list[JSON] = []
    stack: list[list[Any]] = []  # [tag, start, kind, extra, source index]
    position = 0
    i = 0
    n = len(source)
    while i < n:
        lt = source.find("<", i)
        chunk = source[i : n if lt == -1 else lt]
        if chunk:
            chunk = _html_text(source, i, chunk)
            parts.append(chunk)
            position += utf16_len(chunk)
        if lt == -1:
            break
        match = _HTML_TAG.match(source, lt)
        if match is None:
            raise _parse_error(source, lt, 'Unsupported start tag ""')
        closing, tag, raw_attrs = match.group(1), match.group(2).lower(), match.group(3)
        i = match.end()
        if closing:
            if not stack:
                raise _parse_error(source, lt, f'Unexpected end tag "{tag}"')
            top, start, kind, opened_extra, _ = stack.pop()
            if top != tag:
                raise _parse_error(source, lt, f'Unmatched end tag "{tag}", expected "</{top}>"')
            if kind and position > start:
                entities.append(
                    {"type": kind, "offset": start, "length": position - start, **opened_extra}
                )
            continue
        kind = _HTML_KINDS.get(tag)
        if kind is None:
            raise _parse_error(source, lt, f'Unsupported start tag "{tag}"')
        attrs = {
            m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
            for m in _HTML_ATTR.finditer(raw_attrs)
        }
        extra: JSON = {}
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _parse_error(source, lt, 'Tag "span" must have class "tg-spoiler"')
        if tag == "a":
            extra["url"] = attrs.get("href", "")
        elif tag == "tg-emoji":
            extra["custom_emoji_id"] = attrs.get("emoji-id", "")
        elif tag == "blockquote" and "expandable" in attrs:
            kind = "expandable_blockquote"
        elif tag == "code" and stack and stack[-1][0] == "pre":
            language = attrs.get("class", "").removeprefix("language-")
            if language:
                stack[-1][3]["language"] = language
            kind = ""  # <pre><code> is one pre entity
        stack.append([tag, position, kind, extra, lt])
    if stack:
        tag, _, _, _, index = stack[-1]
        raise _parse_error(source, index, f'Can\'t find end tag corresponding to start tag "{tag}"')
    return "".join(parts), _sort_entities(entities)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_PLAIN = re.compile(r"[^\\_*\[\]()~`>#+\-=|{}.!\n]+")
_MDV2_CODE_PLAIN = re.compile(r"[^\\`]+")
_MDV2_MARKERS = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"),
                 ("~", "strikethrough"))  # fmt: skip
_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


def _parse_markdown_v2(source: str) -> tuple[str, list[JSON]]:
    """MarkdownV2 as Telegram reads it, including its "must be escaped" errors."""
    parts: list[str] = []
    entities: list[JSON] = []
    stack: list[list[Any]] = []  # [marker, start, kind, extra, source index]
    position = 0
    i = 0
    n = len(source)

    def emit(text: str) -> None:
        nonlocal position
        parts.append(text)
        position += utf16_len(text)

    def close() -> None:
        _, start, kind, extra, _ = stack.pop()
        if position > start:
            entities.append({"type": kind, "offset": start, "length": position - start, **extra})

    while i < n:
        top = stack[-1][0] if stack else None
        if top in ("`", "```"):
            plain = _MDV2_CODE_PLAIN.match(source, i)
            if plain:
                emit(plain.group())
                i = plain.end()
            elif source[i] == "\\":
                if i + 1 >= n:
                    raise _parse_error(source, i, "Unexpected end of the text after '\\'")
                emit(source[i + 1])
                i += 2
            elif top == "```" and source.startswith("```", i):
                close()
                i += 3
            elif top == "`":
                close()
                i += 1
            else:
                emit(source[i])
                i += 1
            continue
        plain = _MDV2_PLAIN.match(source, i)
        if plain:
            emit(plain.group())
            i = plain.end()
            continue
        char = source[i]
        if char == "\n":
            emit(char)
            i += 1
            if source.startswith(">", i) or source.startswith("**>", i):
                i += 1 if source[i] == ">" else 3  # blockquote marker: text kept, no entity
            continue
        if char == "\\":
            if i + 1 >= n or not 0 < ord(source[i + 1]) <= 126:
                raise _parse_error(source, i, "Character '\\' is reserved and must be escaped")
            emit(source[i + 1])
            i += 2
            continue
        if source.startswith("```", i):
            j = i + 3
            newline = source.find("\n", j)
            language = source[j:newline] if newline != -1 else ""
            extra: JSON = {}
            if language and not any(ch.isspace() for ch in language):
                extra["language"] = language
                j = newline + 1
            elif newline == j:
                j += 1
            stack.append(["```", position, "pre", extra, i])
            i = j
            continue
        if char == "`":
            stack.append(["`", position, "code", {}, i])
            i += 1
            continue
        marker_kind = next(((m, k) for m, k in _MDV2_MARKERS if source.startswith(m, i)), None)
        if marker_kind is not None:
            marker, kind = marker_kind
            if top == marker:
                close()
            elif any(entry[0] == marker for entry in stack):
                raise _parse_error(source, i, f"Can't find end of {_ENTITY_NAMES[kind]} entity")
            else:
                stack.append([marker, position, kind, {}, i])
            i += len(marker)
            continue
        if char == "[":
            stack.append(["[", position, "text_link", {}, i])
            i += 1
            continue
        if char == "]" and top == "[":
            if not source.startswith("(", i + 1):
                raise _parse_error(source, i, "Can't find end of a URL")
            j = i + 2
            url: list[str] = []
            while j < n and source[j] != ")":
                if source[j] == "\\" and j + 1 < n:
                    url.append(source[j + 1])
                    j += 2
                else:
                    url.append(source[j])
                    j += 1
            if j >= n:
                raise _parse_error(source, i, "Can't find end of a URL")
            stack[-1][3]["url"] = "".join(url)
            close()
            i = j + 1
            continue
        if char == ">" and i == 0:
            i += 1
            continue
        if char in _MDV2_RESERVED:
            raise _parse_error(
                source,
                i,
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'",
            )
        emit(char)
        i += 1
    if stack:
        _, _, kind, _, index = stack[-1]
        raise _parse_error(source, index, f"Can't find end of {_ENTITY_NAMES[kind]} entity")
    return "".join(parts), _sort_entities(entities)


_MD_KINDS = {"*": "bold", "_": "italic", "`": "code"}
_MD_PLAIN = re.compile(r"[^\\*_`\[]+")


def _parse_markdown(source: str) -> tuple[str, list[JSON]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    parts: list[str] = []
    entities: list[JSON] = []
    position = 0
    i = 0
    n = len(source)

    def emit(text: str) -> None:
        nonlocal position
        parts.append(text)
        position += utf16_len(text)

    def add(kind: str, body: str, **extra: Any) -> None:
        start = position
        emit(body)
        if body:
            entities.append({"type": kind, "offset": start, "length": position - start, **extra})

    def missing_end(index: int) -> ApiError:
        return ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end of the entity starting at "
            f"byte offset {len(source[:index].encode())}",
        )

    while i < n:
        char = source[i]
        if char == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            emit(source[i + 1])
            i += 2
        elif source.startswith("```", i):
            end = source.find("```", i + 3)
            if end == -1:
                raise missing_end(i)
            body = source[i + 3 : end]
            first, newline, rest = body.partition("\n")
            if newline and first and not any(ch.isspace() for ch in first):
                add("pre", rest, language=first)
            else:
                add("pre", body)
            i = end + 3
        elif char in _MD_KINDS:
            end = source.find(char, i + 1)
            if end == -1:
                raise missing_end(i)
            add(_MD_KINDS[char], source[i + 1 : end])
            i = end + 1
        elif char == "[":
            middle = source.find("](", i + 1)
            end = source.find(")", middle + 2) if middle != -1 else -1
            if end == -1:
                raise missing_end(i)
            add("text_link", source[i + 1 : middle], url=source[middle + 2 : end])
            i = end + 1
        else:
            plain = _MD_PLAIN.match(source, i)
            run = plain.group() if plain else char
            emit(run)
            i += len(run)
    return "".join(parts), _sort_entities(entities)
