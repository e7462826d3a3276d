"""Each Telegram update handled once across replicas (webhook mode).

A replica claims an update's id in the database before handling it, and finishes the
claim after. A second delivery of a finished update (Telegram retrying an answer it did
not see, or sending one to two replicas) is answered without being handled again. One
still being handled elsewhere is ``Busy``: the endpoint answers with an error so Telegram
tries again later, when it is finished (then ``Done``) or, if its replica died, the
claim has aged past ``CLAIM_TIMEOUT`` and the retry takes it over. Handling an update
twice in that last case is harmless: every answer is one conditional write (an
assignment answered once, a ledger entry under an idempotency key), so the second run
finds the work done and changes nothing.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock, to_iso
from storage import Database
from storage import updates as store

#: a claim this old and not finished belongs to a replica presumed dead
CLAIM_TIMEOUT = timedelta(seconds=60)
#: how long claims are kept: Telegram gives up on an update within 24 hours
KEEP = timedelta(hours=48)


class Found(enum.Enum):
    CLAIMED = store.CLAIMED
    DONE = store.DONE
    BUSY = store.BUSY


@dataclass(frozen=True)
class Claim:
    """An update this replica may handle now; ``token`` finishes it."""

    update_id: int
    token: str


class UpdateClaims:
    def __init__(self, db: Database, clock: Clock,
                 timeout: timedelta = CLAIM_TIMEOUT) -> None:
        self.db = db
        self.clock = clock
        self.timeout = timeout
        #: one token per replica (process) is enough to tell claims apart
        self.token = secrets.token_hex(8)

    async def claim(self, update_id: int) -> Claim | Found:
        """A ``Claim`` committed before this returns, or what stops this replica from
        handling the update. A database error propagates: nothing was claimed."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            found = await store.claim(conn, update_id, self.token, to_iso(now),
                                      to_iso(now - self.timeout))
        return Claim(update_id, self.token) if found == store.CLAIMED else Found(found)

    async def finish(self, claim: Claim) -> bool:
        async with self.db.transaction() as conn:
            return await store.finish(conn, claim.update_id, claim.token,
                                      to_iso(self.clock.now()))

    async def prune(self) -> int:
        """Forget claims older than ``KEEP``; a repeating job."""
        async with self.db.transaction() as conn:
            return await store.prune(conn, to_iso(self.clock.now() - KEEP))
