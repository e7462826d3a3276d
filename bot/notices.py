"""Worker notices waiting in the database outbox, and their delivery bookkeeping."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock, to_iso
from bot.quiet import quiet_until
from storage import Database, outbox
from storage.outbox import Notice
from storage.workers import WorkerRow

#: a notice that could not be sent is tried again after this long
RETRY_AFTER = timedelta(minutes=1)


class Notices:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def due(self, limit: int = 50) -> list[Notice]:
        async with self.db.read() as conn:
            return await outbox.due(conn, to_iso(self.clock.now()), limit)

    async def sent(self, notice: Notice) -> None:
        async with self.db.transaction() as conn:
            await outbox.sent(conn, notice.id, to_iso(self.clock.now()))

    async def later(self, notice: Notice, max_attempts: int) -> None:
        """Try again in a minute; give up (marking it sent) after ``max_attempts``."""
        async with self.db.transaction() as conn:
            attempts = await outbox.retry_later(conn, notice.id,
                                                to_iso(self.clock.now() + RETRY_AFTER))
            if attempts >= max_attempts:
                await outbox.sent(conn, notice.id, to_iso(self.clock.now()))

    async def postpone(self, notice: Notice, seconds: float) -> None:
        async with self.db.transaction() as conn:
            await outbox.postpone(conn, notice.id,
                                  to_iso(self.clock.now() + timedelta(seconds=seconds)))

    async def after_quiet_hours(self, notice: Notice, worker: WorkerRow) -> None:
        until = quiet_until(self.clock.now(), worker.timezone, worker.quiet_start,
                            worker.quiet_end)
        if until is None:
            return
        async with self.db.transaction() as conn:
            await outbox.postpone(conn, notice.id, to_iso(until))
