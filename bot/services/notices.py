"""Worker notices waiting in the database outbox, and their delivery bookkeeping.

At most once: a notice is claimed in its own committed transaction just before it is
sent and finished just after, the way broadcast recipients are. Two deliveries (two
processes, or two loops) race only for the claim, which one of them wins. A process that
dies between the claim and the finish leaves the notice in flight; nobody can tell
whether Telegram got it, so the next start finishes it as ``in_doubt`` and logs it, and
it is never sent again. So is one whose send ended without Telegram's answer (a timeout, a dropped
connection, a 5xx). A send that certainly failed (Telegram refused it, or the request
never left) gives its claim back and is tried again later.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from bot.clock import Clock, to_iso
from bot.domain.notice_kinds import Notice, Unreadable
from bot.domain.quiet import quiet_until
from bot.domain.records import Worker
from storage import Database, outbox

log = logging.getLogger(__name__)
#: a notice that could not be sent is tried again after this long
RETRY_AFTER = timedelta(minutes=1)
#: with several replicas, a notice claimed this long ago and not finished was on the
#: wire when its replica died (a send, with PTB's retries after 429s, takes far less)
IN_FLIGHT_TIMEOUT = timedelta(minutes=15)


class Notices:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def due(self, limit: int = 50) -> list[Notice]:
        """Notices waiting to go out. A row this version cannot read (an unknown kind, a
        payload that does not parse) would fail the same way on every try: it is finished
        as ``failed`` with the reason, and logged once, here."""
        async with self.db.read() as conn:
            rows = await outbox.due(conn, to_iso(self.clock.now()), limit)
        for row in rows:
            if isinstance(row, Unreadable):
                await self._unreadable(row)
        return [row for row in rows if isinstance(row, Notice)]

    async def _unreadable(self, row: Unreadable) -> None:
        async with self.db.transaction() as conn:
            failed = await outbox.fail(conn, row.id, row.reason, to_iso(self.clock.now()))
        if failed:  # not when another delivery got there first: logged once
            log.error("notice %s (%s) to worker %s cannot be read and is not sent: %s",
                      row.id, row.kind, row.worker_id, row.reason)

    async def claim(self, notice: Notice) -> str | None:
        """The token to send ``notice`` under, or None when another delivery has it or it
        was finished meanwhile (then it must not be sent)."""
        token = secrets.token_hex(8)
        async with self.db.transaction() as conn:
            claimed = await outbox.claim(conn, notice.id, token, to_iso(self.clock.now()))
        return token if claimed else None

    async def sent(self, notice: Notice, claim: str) -> None:
        await self._finish(notice, claim, "sent")

    async def in_doubt(self, notice: Notice, claim: str, why: str) -> None:
        """The send may or may not have arrived (no answer in time, say): never again."""
        log.warning("notice %s (%s) to worker %s is in doubt (%s); it is not sent again",
                    notice.id, notice.kind, notice.worker_id, why)
        await self._finish(notice, claim, "in_doubt")

    async def blocked(self, notice: Notice, claim: str) -> None:
        await self._finish(notice, claim, "blocked")

    async def skip(self, notice: Notice, outcome: str) -> None:
        """Finish an unclaimed notice without sending it: ``gone`` (nobody to tell) or
        ``stale`` (it no longer makes sense); a no-op if another delivery claimed it."""
        await self._finish(notice, None, outcome)

    async def _finish(self, notice: Notice, claim: str | None, outcome: str) -> None:
        async with self.db.transaction() as conn:
            await outbox.finish(conn, notice.id, claim, outcome, to_iso(self.clock.now()))

    async def later(self, notice: Notice, claim: str, max_attempts: int) -> None:
        """The send certainly failed: give the claim back and try again in a minute;
        after ``max_attempts`` tries give up (``failed``)."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            attempts = await outbox.retry_later(conn, notice.id, claim,
                                                to_iso(now + RETRY_AFTER))
            if attempts is not None and attempts >= max_attempts:
                await outbox.finish(conn, notice.id, None, "failed", to_iso(now))

    async def postpone(self, notice: Notice, seconds: float) -> None:
        async with self.db.transaction() as conn:
            await outbox.postpone(conn, notice.id,
                                  to_iso(self.clock.now() + timedelta(seconds=seconds)))

    async def after_quiet_hours(self, notice: Notice, worker: Worker) -> None:
        until = quiet_until(worker, self.clock.now())
        if until is None:
            return
        async with self.db.transaction() as conn:
            await outbox.postpone(conn, notice.id, to_iso(until))

    async def settle_in_flight(self, older_than: timedelta | None = None
                               ) -> list[Notice | Unreadable]:
        """At start-up, under the run lock: notices a dead process left on the wire are
        in doubt; they are logged, counted (``outcome = 'in_doubt'``), never resent.
        Several replicas hold no run lock: then, at start-up and as a repeating job, only
        claims ``older_than`` (``IN_FLIGHT_TIMEOUT``) are settled, since a younger one
        may be on the wire from a replica alive right now."""
        now = self.clock.now()
        before = to_iso(now - older_than) if older_than is not None else None
        async with self.db.transaction() as conn:
            left = await outbox.settle_in_flight(conn, to_iso(now), before)
        if left:
            log.warning("%d notice(s) were being sent when tapwork last stopped; they may "
                        "have arrived and are not sent again (in doubt): %s", len(left),
                        ", ".join(f"#{n.id} {n.kind} to {n.worker_id}" for n in left))
        return left

    async def outcomes(self) -> dict[str, int]:
        async with self.db.read() as conn:
            return await outbox.outcomes(conn)
