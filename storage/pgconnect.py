"""How every PostgreSQL connection is opened (the pool's, the side connections', the
locks'), and how its URL is shown: without the password."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.domain.errors import DatabaseUnreachable

#: how long a statement waits in all for a lock another holds, the writer lock included
#: (seconds); then ``DatabaseBusy``, as SQLite's ``LOCK_WAIT``
LOCK_WAIT = 5.0
#: seconds to wait for the server when opening
CONNECT_TIMEOUT = 10


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def connect_options() -> dict[str, Any]:
    """What every connection is opened with: autocommit (transactions are begun by hand,
    with the writer lock in the same round trip) and the lock wait bound."""
    return {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT,
            "options": f"-c lock_timeout={int(LOCK_WAIT * 1000)}"}


def unreachable(url: str, exc: BaseException) -> DatabaseUnreachable:
    """One line for a server that did not answer or refused: what, where, why."""
    why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatabaseUnreachable("cannot open the PostgreSQL database {url}: {why}",
                               url=redacted(url), why=why)
