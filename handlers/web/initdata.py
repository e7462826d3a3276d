"""Who is asking, for a page Telegram opened: the Mini App's ``initData``, verified.

Telegram hands a Mini App a query string (``initData``) with the user, the time it was
made (``auth_date``) and a ``hash``. The hash is an HMAC-SHA256 of the other fields,
sorted by key and written ``key=value`` one per line, under a secret that only
Telegram and the bot can make: ``HMAC_SHA256(key="WebAppData", message=bot_token)``
(Telegram's Web App documentation, "Validating data received via the Mini App"). So a
request whose hash checks out comes from that user, as long as it is recent:
``auth_date`` must be at most ``MAX_AGE`` old (and not from the future, beyond a clock's
slack). Anything else is refused before the request is looked at any further.

:func:`sign` makes initData the way Telegram does, for tests and for trying the page
without Telegram; it needs the bot token, like Telegram.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

#: how old initData may be: a Mini App left open longer must be opened again
MAX_AGE = timedelta(hours=24)
#: how far ahead of our clock Telegram's may be
SLACK = timedelta(minutes=5)
#: initData is a few hundred characters (a long name and photo URL: about 1 KB)
MAX_LENGTH = 8192


class Refused(Exception):
    """initData that proves nothing: ``reason`` is ``missing``, ``malformed``,
    ``forged`` or ``expired`` (for logs and the page; never the user's data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user the initData was made for, and when."""

    id: int
    language_code: str | None
    auth_date: datetime


def _secret(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign(fields: dict[str, str], token: str) -> str:
    """initData holding ``fields`` (``user`` as JSON text, ``auth_date`` in seconds),
    hashed as Telegram hashes it."""
    digest = hmac.new(_secret(token), _check_string(fields).encode(), hashlib.sha256)
    return urlencode({**fields, "hash": digest.hexdigest()})


def signed_for(user_id: int, token: str, when: datetime, language: str = "en") -> str:
    """initData for one user at ``when``: what Telegram gives a Mini App it opens."""
    user = json.dumps({"id": user_id, "first_name": "W", "language_code": language},
                      separators=(",", ":"))
    return sign({"auth_date": str(int(when.timestamp())), "query_id": f"q{user_id}",
                 "user": user}, token)


def verify(init_data: str | None, token: str, now: datetime,
           max_age: timedelta = MAX_AGE) -> WebAppUser:
    """The user initData was signed for, or ``Refused``. The hash is compared in
    constant time before any field is trusted."""
    if not init_data or not token:
        raise Refused("missing")
    if len(init_data) > MAX_LENGTH:
        raise Refused("malformed")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise Refused("malformed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs) or "hash" not in fields:
        raise Refused("malformed")  # a key given twice could mean two things
    expected = hmac.new(_secret(token), _check_string(fields).encode(),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["hash"].lower()):
        raise Refused("forged")
    try:
        made = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user = json.loads(fields["user"])
        user_id = user["id"]
    except (KeyError, ValueError, TypeError, OverflowError, OSError):
        raise Refused("malformed") from None
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
        raise Refused("malformed")
    if made < now - max_age or made > now + SLACK:
        raise Refused("expired")
    language = user.get("language_code")
    return WebAppUser(user_id, language if isinstance(language, str) else None, made)
