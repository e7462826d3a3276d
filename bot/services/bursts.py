"""Spare-minute bursts: ``/quick 3`` serves tasks for three minutes, then says what they
came to, and offers one more minute. The burst lives in the database, so it ends on time
even across a restart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock, from_iso, to_iso
from bot.domain.records import Worker
from bot.services.leasing import Served
from bot.services.work import Work
from storage import Database
from storage import assignments as assignment_store
from storage import ledger as ledger_store
from storage import quality as quality_store
from storage import workers as worker_store

DEFAULT_MINUTES = 3
MAX_MINUTES = 30


@dataclass(frozen=True)
class BurstSummary:
    minutes: int
    tasks: int
    earned: dict[str, int]
    gold_total: int
    gold_correct: int


@dataclass(frozen=True)
class EndedBurst:
    """A burst the ``end-bursts`` job ended: whom to tell what, and the task message
    still on their screen (its buttons no longer lead anywhere)."""

    worker: Worker
    summary: BurstSummary
    task_message_id: int | None


class Bursts:
    def __init__(self, db: Database, clock: Clock, work: Work) -> None:
        self.db = db
        self.clock = clock
        self.work = work

    async def start(self, worker_id: int, minutes: int) -> None:
        minutes = min(max(minutes, 1), MAX_MINUTES)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            current = await worker_store.burst(conn, worker_id)
            start = current[0] if current else to_iso(now)  # "1 more minute" extends
            await worker_store.start_burst(conn, worker_id, start,
                                           to_iso(now + timedelta(minutes=minutes)))

    def over(self, worker: Worker | None) -> bool:
        """A burst is running and its time is up (from the worker's row, which the answer's
        transaction has just read)."""
        return (worker is not None and worker.burst_until is not None
                and worker.burst_until <= to_iso(self.clock.now()))

    async def finish(self, worker_id: int) -> BurstSummary | None:
        """End the burst and sum it up; None if it was already ended elsewhere."""
        async with self.db.transaction() as conn:
            ended = await worker_store.end_burst(conn, worker_id)
            if ended is None:
                return None
            start, until = ended
            tasks = await assignment_store.answered_since(conn, worker_id, start)
            earned = await ledger_store.earned_total(conn, worker_id, start)
            total, correct = await quality_store.gold_totals(conn, worker_id, start)
        minutes = max(1, round((from_iso(until) - from_iso(start)).total_seconds() / 60))
        return BurstSummary(minutes, tasks, earned, total, correct)

    async def end_if_over(self, worker: Worker | None, served: Served | None
                          ) -> tuple[bool, BurstSummary | None]:
        """After an answer: whether a burst's time is up, and if so its summary (None when
        another path ended it first). The next task, already served, goes back to the
        pool: the worker sees the summary instead."""
        if worker is None or not self.over(worker):
            return False, None
        if served is not None and served.task is not None:
            await self.work.stop(worker.id, served.task.assignment_id)
        return True, await self.finish(worker.id)

    async def end_due(self) -> list[EndedBurst]:
        """Bursts whose time ran out while the worker was mid-task end on time: the open
        task goes back to the pool, and each comes back with its summary to show."""
        async with self.db.read() as conn:
            due = await worker_store.bursts_over(conn, to_iso(self.clock.now()))
        ended = []
        for worker_id in due:
            task = await self.work.current(worker_id)
            if task is not None:
                await self.work.stop(worker_id, task.assignment_id)
            summary = await self.finish(worker_id)
            async with self.db.read() as conn:
                worker = await worker_store.get(conn, worker_id)
            if summary is not None and worker is not None:
                ended.append(EndedBurst(worker, summary,
                                        task.message_id if task is not None else None))
        return ended
