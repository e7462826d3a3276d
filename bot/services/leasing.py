"""Who gets which item next: leasing items to workers and serving the task a phone shows.

Rules (issue #2):
- an item goes to at most ``overlap`` distinct workers and never twice to the same one;
- a lease expires after ``lease_minutes`` and the item returns to the pool;
- items already started are finished before fresh ones are opened.

And (issue #3): only qualified, unsuspended workers are given tasks; gold items are mixed
in at ``gold_rate``, and an item's live confidence decides whether it needs more workers,
up to ``max_overlap``. Issue 13: among the started items a worker may take, those their
answer is worth most on come first, and gold checks go by need (``bot.domain.routing``).
Recording the answers lives in ``bot/services/work.py``, whose ``Work`` service builds on
``Leasing``: an answer and the next lease share one transaction.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock, to_iso
from bot.domain import quality, routing
from bot.domain.languages import serving
from bot.domain.project_spec import ProjectSpec
from bot.domain.projects import Project
from bot.domain.qualify import Access, Gate, access
from bot.domain.records import Media, Worker
from bot.services.meter import NO_METER, Meter
from bot.services.standing import QualityStanding
from storage import Database
from storage import assignments as assignment_store
from storage import items as item_store
from storage import media as media_store
from storage import projects as project_store
from storage import quality as quality_store
from storage import quiz as quiz_store
from storage import workers as worker_store
from storage.assignments import AssignmentRow
from storage.connection import Connection
from storage.items import DONE, FRESH, FULL, STARTED, ItemRow

SENIOR_LEASE = 3
#: a quiz attempt opened this recently is being answered: no notice pushes it away
QUIZ_BUSY = timedelta(hours=1)


class Earnings(Protocol):
    """Where an answer's money goes (the payroll). Both calls run inside the answer's own
    transaction, so an answer and its earning are written together or not at all."""

    async def earn(self, conn: Connection, worker_id: int, project: Project,
                   assignment_id: int, now: str) -> None:
        """An answer was accepted on ``assignment_id`` at ``now``."""

    async def item_resolved(self, conn: Connection, item_id: int) -> None:
        """The item's label became final: units waiting on it may be judged."""

    async def pay_exam(self, conn: Connection, worker_id: int, project: Project,
                       attempt_id: int, answers: int, now: str) -> int:
        """A passed exam of ``answers`` questions, on a project with ``quiz.paid``: its
        pay, once per attempt, inside the transaction that records the pass; returns
        the micros written (0: nothing to pay, or paid before)."""


@dataclass(frozen=True)
class Shown:
    """The message that showed the task just answered. The next task is recorded as shown
    there in the same transaction, because the handler edits that message in place; only
    when it has to send a new message does it record the delivery again
    (``Work.delivered``). That saves a second transaction on every answer."""

    chat_id: int
    message_id: int


@dataclass(frozen=True)
class Task:
    """One item leased to one worker, with everything a phone needs to show it."""

    assignment_id: int
    project: Project
    item_id: int
    text: str | None
    media: Media | None
    #: where this task was last shown, so a re-shown task can replace its old message
    message_id: int | None = None


class Empty(enum.Enum):
    """Why there is no task to show."""

    NO_PROJECT = "no_project"
    PAUSED = "paused"
    NOTHING_LEFT = "nothing_left"
    GATED = "gated"  # see ``Served.access``: quiz first, cooldown, suspended …
    #: every item left is in a language the worker has not said they read:
    #: ``Served.languages`` are the ones to ask about
    LANGUAGE = "language"


@dataclass(frozen=True)
class Served:
    """What ``start``/``answer``/``skip`` hand back: the next task, or why there is none."""

    task: Task | None
    empty: Empty | None = None
    project: Project | None = None
    access: Access | None = None
    languages: tuple[str, ...] = ()


def item_state(spec: ProjectSpec, answers: int, leases: int,
               confidence: float | None = None, change: float = 1.0) -> int:
    """Where an item stands: decides whether the index still offers it. ``change`` is the
    chance one more answer changes its label (unknown: 1, so only the counters and the
    confidence can finish it)."""
    if quality.item_done(spec, answers, confidence, change):
        return DONE
    if answers + leases >= quality.wanted_answers(spec, answers):
        return FULL
    return STARTED if answers + leases else FRESH


class Leasing:
    """The serving half of the work service (``bot.services.work.Work`` adds answering): what a
    worker may take, the next lease, the open task, and leases going back to the pool."""

    def __init__(self, db: Database, clock: Clock, earnings: Earnings,
                 standing: QualityStanding, rng: random.Random | None = None) -> None:
        self.db = db
        self.clock = clock
        #: books each accepted answer and each final label, inside the answer's transaction
        self.earnings = earnings
        #: the too-fast threshold, the live estimate and suspension, per answer
        self.standing = standing
        self.rng = rng or random.Random()
        #: counts answers and times their transactions for ``/metrics`` (silent unless
        #: the composition root gives it one)
        self.meter: Meter = NO_METER

    # -- serving -------------------------------------------------------------------
    async def start(self, worker_id: int, project_name: str) -> Served:
        """Begin (or resume) work on a project: the open task again, or a new one."""
        async with self.db.transaction() as conn:
            row = await project_store.get_by_name(conn, project_name)
            if row is None:
                return Served(None, Empty.NO_PROJECT)
            project = Project.from_row(row)
            current = await assignment_store.open_for_worker(conn, worker_id)
            if current is not None:
                if current.project_id == project.id and current.expires_at > self._now():
                    return Served(await self._task(conn, current, project), project=project)
                await self._close(conn, current, "released")
            worker = await worker_store.get(conn, worker_id)
            unread = await self._unread_languages(conn, worker, project)
            if unread:
                return Served(None, Empty.LANGUAGE, project, languages=unread)
            return await self._lease_next(conn, worker_id, project, worker)

    async def _unread_languages(self, conn: Connection, worker: Worker | None,
                                project: Project) -> tuple[str, ...]:
        """The languages to ask a worker about: only when every item left for them is in a
        language they have not said they read (a project with some of their languages, or
        items that need no reading, is simply served)."""
        if worker is None or not project.languages:
            return ()
        if any(lang in worker.reads for lang in project.languages):
            return ()
        if await item_store.open_count(conn, project.id, "", worker.id, 1):
            return ()
        return tuple([lang for lang in project.languages
                      if await item_store.open_count(conn, project.id, lang, worker.id, 1)])

    async def access(self, worker_id: int, project: Project) -> Access:
        async with self.db.read() as conn:
            return await self.access_in(conn, worker_id, project)

    async def access_in(self, conn: Connection, worker_id: int,
                        project: Project, worker: Worker | None = None) -> Access:
        """The quiz and suspension gate. The quiz pool counts only questions in languages
        the worker reads, so a project opens for a language once its pool is big enough."""
        qualification = await quality_store.qualification(conn, worker_id, project.id)
        passed = qualification is not None and qualification.status == "passed"
        pool = 0
        if project.spec.quiz is not None and not passed:
            worker = worker or await worker_store.get(conn, worker_id)
            pool = await quiz_store.pool_size(conn, project.id,
                                              self.languages_for(worker, project))
        return access(project.spec, qualification, pool, self.clock.now())

    @staticmethod
    def languages_for(worker: Worker | None, project: Project) -> tuple[str, ...]:
        """The item languages this worker is served in this project ('' included)."""
        return serving(worker.reads if worker else (), project.languages)

    async def waiting_for(self, conn: Connection, worker: Worker,
                          project: Project, cap: int) -> int:
        """Items this worker could be given in this project now, counted up to ``cap``:
        in a language they read, never given to them, not yet answered often enough."""
        total = 0
        for lang in self.languages_for(worker, project):
            total += await item_store.open_count(conn, project.id, lang, worker.id,
                                                 cap - total)
            if total >= cap:
                break
        return total

    async def offers(self, worker_id: int, cap: int) -> list[tuple[Project, int]]:
        """The open projects this worker can take at least one item of, each with its
        count for them: languages, quiz standing or tries left, suspension, items they
        have not had, overlap not yet full. Nothing else is offered."""
        async with self.db.read() as conn:
            worker = await worker_store.get(conn, worker_id)
            if worker is None:
                return []
            found = []
            for row in await project_store.all_projects(conn):
                if row.status != "open":
                    continue
                project = Project.from_row(row)
                gate = await self.access_in(conn, worker_id, project, worker)
                # in a cooldown the project stays listed: tapping it says when to retry
                if gate.gate not in (Gate.OPEN, Gate.QUIZ, Gate.COOLDOWN):
                    continue
                waiting = await self.waiting_for(conn, worker, project, cap)
                if waiting:
                    found.append((project, waiting))
            return found

    async def busy(self, worker_ids: list[int]) -> set[int]:
        """Who is in the middle of a task or a quiz question now (a notice would push it
        out of sight)."""
        async with self.db.read() as conn:
            return await worker_store.busy(conn, worker_ids,
                                           to_iso(self.clock.now() - QUIZ_BUSY))

    async def has_work(self, worker_id: int, project: Project) -> bool:
        """At least one item of the project is left for this worker (their languages)."""
        async with self.db.read() as conn:
            worker = await worker_store.get(conn, worker_id)
            return worker is not None and bool(
                await self.waiting_for(conn, worker, project, 1))

    async def start_by_id(self, worker_id: int, project_id: int) -> Served:
        async with self.db.read() as conn:
            row = await project_store.get(conn, project_id)
        if row is None:
            return Served(None, Empty.NO_PROJECT)
        return await self.start(worker_id, row.name)

    async def current(self, worker_id: int) -> Task | None:
        """The worker's open task, if the lease still runs."""
        async with self.db.read() as conn:
            current = await assignment_store.open_for_worker(conn, worker_id)
            if current is None or current.expires_at <= self._now():
                return None
            row = await project_store.get(conn, current.project_id)
            assert row is not None
            return await self._task(conn, current, Project.from_row(row))

    async def drawing_task(self, worker_id: int, assignment_id: int) -> Task | None:
        """The task the Mini App was opened for: only this worker's own, still open and
        unexpired, of a boxes or points project (None for anything else, which the page
        cannot tell from a task that is gone)."""
        async with self.db.read() as conn:
            assignment = await assignment_store.get(conn, assignment_id)
            if assignment is None or assignment.worker_id != worker_id \
                    or assignment.status != "open" or assignment.expires_at <= self._now():
                return None
            row = await project_store.get(conn, assignment.project_id)
            assert row is not None
            project = Project.from_row(row)
            if not project.spec.spatial:
                return None
            return await self._task(conn, assignment, project)

    async def _lease_next(self, conn: Connection, worker_id: int,
                          project: Project, worker: Worker | None = None,
                          shown: Shown | None = None) -> Served:
        """The next item for this worker: a gold check now and then, else started items
        before fresh ones. Nothing at all for a worker who may not work here.

        ``worker`` saves a read when the caller has the row from this transaction. Only
        items in languages the worker reads (or needing no reading) are served; nobody is
        sent to a quiz for a project with nothing left for them.
        """
        worker = worker or await worker_store.get(conn, worker_id)
        gate = await self.access_in(conn, worker_id, project, worker)
        languages = self.languages_for(worker, project)
        if gate.gate is not Gate.OPEN:
            if (gate.gate in (Gate.QUIZ, Gate.COOLDOWN) and worker is not None
                    and not await self.waiting_for(conn, worker, project, 1)):
                return Served(None, Empty.NOTHING_LEFT, project)
            return Served(None, Empty.GATED, project, gate)
        if project.status != "open":
            return Served(None, Empty.PAUSED, project)
        skill = await self.standing.skill(conn, worker_id, project)
        item = await self._next_item(conn, worker_id, project, languages, skill)
        if item is None:
            return Served(None, Empty.NOTHING_LEFT, project)
        if self.rng.random() < routing.gold_rate(project.spec, skill):
            # gold is mixed into real work, never served on its own
            gold_id = await quality_store.next_gold_for_worker(conn, project.id, worker_id,
                                                               languages)
            if gold_id is not None:
                item = await item_store.get(conn, gold_id)
                assert item is not None
        now = self.clock.now()
        # senior mode: no time pressure, three times the lease
        minutes = project.spec.lease_minutes * (SENIOR_LEASE if worker and worker.senior else 1)
        assignment = await assignment_store.create(
            conn, item.id, worker_id, project.id, to_iso(now),
            to_iso(now + timedelta(minutes=minutes)),
            (shown.chat_id, shown.message_id) if shown else None)
        await self._progress(conn, item, project, answers=0, leases=1)
        return Served(await self._task(conn, assignment, project, item), project=project)

    async def _next_item(self, conn: Connection, worker_id: int, project: Project,
                         languages: tuple[str, ...], skill: routing.Skill) -> ItemRow | None:
        """Started items before fresh ones; among started ones the need bucket this worker
        is best used on first (``bot.domain.routing``), the oldest item within a bucket.
        One index look-up per bucket and language until one finds an item: at most four
        buckets (three started, one fresh) times the languages, each the first entry of
        one index range."""
        steps = [(STARTED, need) for need in routing.order(project.spec, skill)]
        for state, need in (*steps, (FRESH, routing.OPEN)):
            item = None
            for lang in languages:
                found = await item_store.next_for_worker(conn, project.id, worker_id, state,
                                                         lang, need)
                if found is not None and (item is None or found.id < item.id):
                    item = found
            if item is not None:
                return item
        return None

    async def _task(self, conn: Connection, assignment: AssignmentRow,
                    project: Project, item: ItemRow | None = None) -> Task:
        item = item or await item_store.get(conn, assignment.item_id)
        assert item is not None
        media = await media_store.get(conn, item.media_id) if item.media_id else None
        return Task(assignment.id, project, item.id, item.text, media, assignment.message_id)

    async def _progress(self, conn: Connection, item: ItemRow, project: Project,
                        *, answers: int, leases: int,
                        estimate: quality.Estimate | None = None) -> None:
        """Move the item's counters (and estimate, and need bucket) on; its state follows
        from them. A done item stays done: its label was final and its units judged."""
        label, confidence = ((estimate.label, estimate.confidence) if estimate
                             else (item.label, item.confidence))
        change = estimate.change if estimate else 1.0
        new_answers, new_leases = item.answers + answers, item.leases + leases
        state = DONE if item.state == DONE else item_state(
            project.spec, new_answers, new_leases, confidence, change)
        need = routing.need(project.spec, new_answers, confidence)
        await item_store.set_progress(conn, item.id, new_answers, new_leases, state, label,
                                      confidence, need)
        if state == DONE and item.state != DONE:
            await self.earnings.item_resolved(conn, item.id)

    async def _close(self, conn: Connection, assignment: AssignmentRow,
                     status: str) -> bool:
        if not await assignment_store.close(conn, assignment.id, assignment.worker_id, status):
            return False
        row = await project_store.get(conn, assignment.project_id)
        item = await item_store.get(conn, assignment.item_id)
        assert row is not None and item is not None
        await self._progress(conn, item, Project.from_row(row), answers=0, leases=-1)
        return True

    async def last_project(self, worker_id: int) -> int | None:
        async with self.db.read() as conn:
            return await assignment_store.last_project(conn, worker_id)

    async def delivered(self, task: Task, chat_id: int, message_id: int,
                        file_id: str | None = None) -> None:
        """The phone has the task: start its clock, and keep Telegram's id for the media."""
        async with self.db.transaction() as conn:
            await assignment_store.mark_delivered(conn, task.assignment_id, chat_id,
                                                  message_id, self._now())
            if file_id and task.media is not None:
                await media_store.set_file_id(conn, task.media.id, file_id)

    async def remember_file_id(self, media_id: int, file_id: str) -> None:
        async with self.db.transaction() as conn:
            await media_store.set_file_id(conn, media_id, file_id)

    @staticmethod
    async def aspect(conn: Connection, project: Project, item: ItemRow) -> float:
        """Width / height of a points item's picture (distances are shares of its
        diagonal); 1 for anything else, where it does not matter."""
        if project.spec.kind != "points" or item.media_id is None:
            return 1.0
        size = await media_store.size(conn, item.media_id)
        return size[0] / size[1] if size and size[0] and size[1] else 1.0

    async def media_bytes(self, media_id: int) -> bytes:
        async with self.db.read() as conn:
            data = await media_store.data(conn, media_id)
        if data is None:
            raise LookupError(f"media {media_id} is missing")
        return data

    async def expire_leases(self) -> int:
        """Return items whose lease ran out to the pool; run by a repeating job."""
        total = 0
        while True:
            async with self.db.transaction() as conn:
                stale = await assignment_store.expired(conn, self._now())
                for assignment in stale:
                    total += await self._close(conn, assignment, "expired")
            if len(stale) < 500:
                return total

    async def release_blocked_worker(self, worker_id: int) -> bool:
        """A worker who blocked the bot is sent nothing more and gives their open item back
        at once, in one transaction: nobody ever sees them inactive with an item still
        held (a crash between the two used to leave it held until its lease ran out)."""
        async with self.db.transaction() as conn:
            await worker_store.set_active(conn, worker_id, False)
            current = await assignment_store.open_for_worker(conn, worker_id)
            return current is not None and await self._close(conn, current, "released")

    def _now(self) -> str:
        return to_iso(self.clock.now())
