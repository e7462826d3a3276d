"""Worker notices waiting in the database outbox, and their delivery bookkeeping."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock, to_iso
from storage import Database, outbox
from storage.outbox import Notice

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

    async def later(self, notice: Notice) -> None:
        async with self.db.transaction() as conn:
            await outbox.retry_later(conn, notice.id, to_iso(self.clock.now() + RETRY_AFTER))
