"""A worker's quality standing in a project, judged answer by answer (issue #3).

Three rules the work service applies inside each answer's transaction, kept here so the
work service reads as serving and recording, and the quality rules read in one place:
the too-fast threshold (``min_seconds`` or half the project's median), the item's live
label estimate, and suspension by the gold or too-fast rule (or by an operator).
"""

from __future__ import annotations

from dataclasses import replace

from bot.clock import Clock, to_iso
from bot.domain import quality, routing
from bot.domain.projects import Project
from bot.domain.qualify import GOLD, TOO_FAST
from bot.domain.records import Qualification
from storage import quality as quality_store
from storage.connection import Connection
from storage.items import ItemRow


class QualityStanding:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        #: project id -> (median seconds, answers it rests on, answers since computed)
        self._medians: dict[int, tuple[float | None, int, int]] = {}

    async def fast_threshold(self, conn: Connection, project: Project
                             ) -> float | None:
        """``min_seconds``, or half the median. Until the project has enough answers for
        the rule the median is read on every answer (cheap while small); after that every
        100 answers, because sorting a big project's answers each time would not scale."""
        if project.spec.min_seconds is not None:
            return project.spec.min_seconds
        median, count, since = self._medians.get(project.id, (None, 0, 10**9))
        if since >= 100 or count < quality.MEDIAN_AFTER:
            median, count = await quality_store.median_seconds(conn, project.id)
            since = 0
        self._medians[project.id] = (median, count, since + 1)
        return quality.fast_threshold(project.spec, median, count)

    async def estimate(self, conn: Connection, item: ItemRow, project: Project,
                       aspect: float = 1.0) -> quality.Estimate | None:
        """The item's live label, confidence and chance that one more answer changes it,
        its latest answer included: a gold item is known; otherwise a one-coin
        Dawid-Skene posterior weighted by gold accuracy, which stops the item early only
        with a worker proven at work (``quality.item_estimate``). One statement, O(the
        item's answers and their workers' gold answers), however big the project."""
        if item.gold is not None:
            return quality.Estimate(item.gold, 1.0, 0.0)
        rows = await quality_store.answers_with_gold_stats(conn, item.id, project.id)
        records = {w: quality.Record(*stats) for w, _answer, *stats in rows}
        return quality.item_estimate(project.spec, [(w, a) for w, a, *_ in rows], records,
                                     aspect)

    async def skill(self, conn: Connection, worker_id: int, project: Project
                    ) -> routing.Skill:
        """The worker's record in the project: gold checks and the exam they passed (until
        a reinstatement), apart. Routing goes by all of it (as the live estimate weighs
        it), the gold rate by the gold checks at work alone (``routing.gold_rate``)."""
        return routing.Skill(*await quality_store.skill_record(conn, worker_id, project.id))

    async def after_answer(self, conn: Connection, worker: int, project: Project,
                           gold_correct: bool | None, too_fast: bool) -> str | None:
        """Suspend a worker whom this answer took over the gold or too-fast rule; returns
        the reason. Only answers since the last reinstatement count; until the first
        one, the exam the worker passed counts with their gold checks."""
        if gold_correct is None and not too_fast:
            return None
        reason = None
        standing = await quality_store.qualification(conn, worker, project.id)
        since = standing.checks_from or "" if standing else ""
        if gold_correct is not None:
            total, correct = await quality_store.skill_stats(conn, worker, project.id,
                                                             since)
            if quality.gold_suspension(project.spec, total, correct):
                reason = GOLD
        if reason is None and too_fast:
            flags = await quality_store.recent_fast_flags(conn, worker, project.id,
                                                          quality.RECENT, since)
            if quality.too_fast_suspension(flags):
                reason = TOO_FAST
        if reason is not None:
            await self.suspend(conn, worker, project.id, reason)
        return reason

    async def suspend(self, conn: Connection, worker_id: int, project_id: int,
                      reason: str) -> None:
        current = await quality_store.qualification(conn, worker_id, project_id)
        current = current or Qualification(worker_id, project_id, "new", 0, False, None, None)
        await quality_store.save_qualification(conn, replace(current, reason=reason),
                                               self._now())

    async def reinstate(self, conn: Connection, current: Qualification) -> None:
        """Lift only the suspension; the gold and speed rules count afresh from now."""
        await quality_store.save_qualification(
            conn, replace(current, reason=None, checks_from=self._now()), self._now())

    def _now(self) -> str:
        return to_iso(self.clock.now())
