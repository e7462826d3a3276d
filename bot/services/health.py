"""Is this replica able to work, and how much waits: what ``/healthz`` and ``/metrics``
report, read from the database at the moment they are asked.

Why a service: the web server (``handlers/web/``) must not speak SQL, and "healthy"
means something about the storage (reachable, every migration applied) that only it
can tell.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from storage import Database
from storage import health as store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthReport:
    database: bool
    #: migrations applied to the database, and how many this version ships
    schema: int
    expected: int
    #: why the database could not be read (empty when it could)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.database and self.schema == self.expected


@dataclass(frozen=True)
class Depths:
    """Queues at the moment of asking."""

    open_leases: int
    outbox_waiting: int
    outbox_in_flight: int
    broadcast_pending: int


class Health:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def check(self) -> HealthReport:
        """Never raises: an unreachable or failing database is a report saying so."""
        expected = self.db.schema_version
        try:
            async with self.db.read() as conn:
                await store.ping(conn)
            applied = await self.db.applied_version()
        except Exception as exc:  # any driver's error means "not healthy", said why
            log.warning("health check: the database did not answer: %s", exc)
            return HealthReport(False, 0, expected, f"{type(exc).__name__}: {exc}")
        return HealthReport(True, applied, expected)

    async def depths(self) -> Depths:
        async with self.db.read() as conn:
            return Depths(**await store.depths(conn))
