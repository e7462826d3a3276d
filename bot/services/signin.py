"""Password-free sign-in to the operator dashboard: single-use links sent in chat.

An operator sends ``/dashboard``; the bot answers with a link holding a random token
that works once, for ``LINK_MINUTES``. Only the token's SHA-256 is stored, so a copy of
the database (a backup, a stolen disk) signs nobody in, and redeeming it is one
conditional write, so two browsers racing on one link cannot both get in. Whoever is
not in ``[operators] ids`` at the moment of asking or of opening gets nothing.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, to_iso
from bot.config import Config
from storage import Database
from storage import dashboard as store

#: how long a sign-in link works
LINK_MINUTES = 10
#: bytes of randomness in a link's token (256 bits, as ``secrets`` recommends and more)
TOKEN_BYTES = 32
#: expired links are deleted this long after they expired (kept a while so that opening
#: one says "expired", not "unknown")
KEEP_EXPIRED = timedelta(days=1)


class Refusal(enum.Enum):
    UNKNOWN = "unknown"      # never issued (or long forgotten): a typo, a forgery
    EXPIRED = "expired"
    USED = "used"
    NOT_OPERATOR = "not_operator"  # issued, but the id left ``operators.ids`` since


@dataclass(frozen=True)
class SignedIn:
    operator_id: int


@dataclass(frozen=True)
class IssuedLink:
    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class SignIn:
    def __init__(self, db: Database, clock: Clock, config: Config) -> None:
        self.db = db
        self.clock = clock
        self.config = config

    def is_operator(self, user_id: int) -> bool:
        return user_id in self.config.operators.ids

    async def issue(self, operator_id: int) -> IssuedLink:
        """A new single-use token for an operator (``PermissionError`` for anyone else)."""
        if not self.is_operator(operator_id):
            raise PermissionError(operator_id)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock.now()
        expires = now + timedelta(minutes=LINK_MINUTES)
        async with self.db.transaction() as conn:
            await store.forget_links(conn, to_iso(now - KEEP_EXPIRED))
            await store.add_link(conn, token_hash(token), operator_id, to_iso(now),
                                 to_iso(expires))
        return IssuedLink(token, expires)

    async def redeem(self, token: str) -> SignedIn | Refusal:
        """Use a link: who it signs in, or why it cannot (it is then spent either way)."""
        if not token or len(token) > 200:
            return Refusal.UNKNOWN
        digest = token_hash(token)
        now = to_iso(self.clock.now())
        async with self.db.transaction() as conn:
            if await store.use_link(conn, digest, now):
                found = await store.link(conn, digest)
                assert found is not None
                if not self.is_operator(found.operator_id):
                    return Refusal.NOT_OPERATOR
                return SignedIn(found.operator_id)
            found = await store.link(conn, digest)
        if found is None:
            return Refusal.UNKNOWN
        return Refusal.USED if found.used_at is not None else Refusal.EXPIRED
