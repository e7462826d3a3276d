"""What crosses the wire: limits, error texts, request decoding and the answer shapes.

Kept apart from the server class so the formatting parser and every part of the class
share one definition of an API error and one reading of a request.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from aiohttp import BodyPartReader, web
from PIL import Image

from bot.sim.phone import JSON

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
