"""Recording each answer exactly once, with its checks, its earning and the next lease.

Callback data is never trusted: an answer counts only for an open, unexpired assignment
of the worker who sent it. Every change is one conditional UPDATE inside one transaction,
so double taps and replayed updates change nothing.

Each answer is checked (gold, too fast) and moves its item's live confidence on (issue
#3); those quality rules live in ``bot/services/standing.py``, what an answer earns is booked by
``Earnings``, and who gets which item next is ``bot/services/leasing.py``.
"""

from __future__ import annotations

import asyncio
import enum
import secrets
import time
from dataclasses import dataclass, replace

from bot.aggregation.geometry import Box, Point
from bot.clock import from_iso, to_iso
from bot.domain import quality, shapes
from bot.domain.project_spec import Localized, ProjectSpec
from bot.domain.projects import Project
from bot.domain.quiet import local_time
from bot.domain.records import Worker
from bot.domain.shapes import Drawing, ShapeError
from bot.render.drawn import draw_answer
from bot.services.leasing import Leasing, Served, Shown
from storage import assignments as assignment_store
from storage import dashboard as dashboard_store
from storage import items as item_store
from storage import projects as project_store
from storage import quality as quality_store
from storage import workers as worker_store
from storage.connection import Connection

#: the longest typed answer (a transcription), in characters, spaces collapsed
MAX_TYPED_ANSWER = 2000


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    ALREADY_ANSWERED = "already_answered"  # double tap, replayed update
    NOT_OPEN = "not_open"                  # old task's button, skipped, released
    EXPIRED = "expired"                    # the lease ran out before the answer
    FORGED = "forged"                      # unknown id or someone else's assignment
    INVALID = "invalid"                    # a choice the project does not have, empty text,
    #                                        a drawing the project does not take (``problem``)
    TOO_LONG = "too_long"                  # a typed answer over ``MAX_TYPED_ANSWER``
    NO_TASK = "no_task"                    # a typed reply with no open typed task


@dataclass(frozen=True)
class Feedback:
    """Right or wrong, the right answer and why: said at once after a gold check at work
    and after each practice question of a quiz, so a worker learns while working."""

    correct: bool
    answer: str
    explain: Localized | None
    #: a drawn task: its picture, and what the worker drew (to show both, drawn)
    media_id: int | None = None
    given: str | None = None


@dataclass(frozen=True)
class AnswerResult:
    outcome: Outcome
    served: Served | None = None
    feedback: Feedback | None = None
    #: set when this answer got the worker suspended (gold or too-fast rule)
    suspended: str | None = None
    #: answers the worker has given today (their time zone), this one included
    today: int = 0
    #: the worker's row as read in this transaction (language, senior mode, /quick
    #: burst), so the handler does not read it again; None for a stranger
    worker: Worker | None = None
    #: why an INVALID drawing was refused (a translatable message and its values)
    problem: ShapeError | None = None
    #: (chat, message) that showed the task just answered, when the answer came from
    #: elsewhere (the Mini App): its buttons are stale now
    answered_in: tuple[int, int] | None = None


class Work(Leasing):
    """The work service the composition root wires and the handlers call: ``Leasing``
    serves tasks, this half records answers, skips and stops, and leases the next task
    inside the same transaction, so it builds on ``Leasing``'s steps rather than calling
    a second service."""

    # -- answering -----------------------------------------------------------------
    async def answer_choice(self, worker_id: int, assignment_id: int, choice: int,
                            shown: Shown | None = None) -> AnswerResult:
        """A tapped label button. ``choice`` is the label's position, never trusted."""
        return await self._answer(worker_id, assignment_id, choice=choice, shown=shown)

    async def answer_text(self, worker_id: int, text: str, message_id: int | None,
                          assignment_id: int | None = None, shown: Shown | None = None
                          ) -> AnswerResult:
        """A typed transcription (or "can't make it out" with empty ``text``)."""
        return await self._answer(worker_id, assignment_id, text=text, message_id=message_id,
                                  shown=shown)

    async def answer_drawing(self, worker_id: int, assignment_id: int, drawing: Drawing
                             ) -> AnswerResult:
        """Boxes or points drawn in the Mini App (``drawing``, already read by
        ``bot.domain.shapes.read_drawing``), checked here against the project; recorded,
        checked and paid exactly as a tap is. The next task is leased in the same
        transaction; the caller shows it in the chat (no message to edit it into)."""
        return await self._answer(worker_id, assignment_id, drawing=drawing)

    async def _answer(self, worker_id: int, assignment_id: int | None, *,
                      choice: int | None = None, text: str | None = None,
                      message_id: int | None = None, shown: Shown | None = None,
                      drawing: Drawing | None = None) -> AnswerResult:
        started = time.perf_counter()
        async with self.db.transaction() as conn:
            worker = await worker_store.get(conn, worker_id)
            result = await self._answer_in(conn, worker_id, worker, assignment_id,
                                           _Given(choice, text, drawing), message_id, shown)
        self.meter.answer(result.outcome.value, time.perf_counter() - started)
        return replace(result, worker=worker)

    async def _answer_in(self, conn: Connection, worker_id: int,
                         worker: Worker | None, assignment_id: int | None,
                         given: _Given, message_id: int | None,
                         shown: Shown | None) -> AnswerResult:
        choice, text = given.choice, given.text
        if message_id is not None and await assignment_store.typed_answer_seen(
                conn, worker_id, message_id):
            return AnswerResult(Outcome.ALREADY_ANSWERED)
        if assignment_id is None:
            assignment = await assignment_store.open_for_worker(conn, worker_id)
            if assignment is None:
                return AnswerResult(Outcome.NO_TASK)
        else:
            assignment = await assignment_store.get(conn, assignment_id)
        if assignment is None or assignment.worker_id != worker_id:
            return AnswerResult(Outcome.FORGED)
        row = await project_store.get(conn, assignment.project_id)
        assert row is not None
        project = Project.from_row(row)
        if assignment.status == "expired":  # the lease job got there first
            return AnswerResult(Outcome.EXPIRED,
                                await self._current_or_next(conn, worker_id, project, worker))
        if assignment.status == "answered" and assignment_id is not None:
            # a repeated tap: a double tap, or an update handled again after the replica
            # that answered it died before showing the next task. The task the worker
            # holds now is shown again (none is leased), so nobody is left on a dead one.
            return AnswerResult(Outcome.ALREADY_ANSWERED,
                                await self._open_task(conn, worker_id))
        if assignment.status != "open":
            outcome = (Outcome.ALREADY_ANSWERED if assignment.status == "answered"
                       else Outcome.NOT_OPEN)
            return AnswerResult(outcome)
        if typed_too_long(project.spec, text):
            return AnswerResult(Outcome.TOO_LONG)
        try:
            value = answer_value(project.spec, choice, text, given.drawing)
        except ShapeError as problem:
            return AnswerResult(Outcome.INVALID, problem=problem)
        if value is None:  # a typed reply to a tap task lands here too
            return AnswerResult(Outcome.INVALID)
        moment = self.clock.now()
        now = to_iso(moment)
        if assignment.expires_at <= now:
            await self._close(conn, assignment, "expired")
            return AnswerResult(Outcome.EXPIRED, await self._lease_next(
                conn, worker_id, project, worker))
        started = from_iso(assignment.delivered_at or assignment.created_at)
        seconds = max(0.0, (moment - started).total_seconds())
        item = await item_store.get(conn, assignment.item_id)
        assert item is not None
        threshold = await self.standing.fast_threshold(conn, project)
        too_fast = threshold is not None and seconds < threshold
        aspect = await self.aspect(conn, project, item)
        gold_correct = (None if item.gold is None
                        else quality.is_correct(project.spec, value, item.gold, aspect))
        if not await assignment_store.record_answer(
                conn, assignment.id, worker_id, value, now, message_id, seconds,
                gold_correct, too_fast):
            return AnswerResult(Outcome.ALREADY_ANSWERED)  # unreachable under the lock
        estimate = await self.standing.estimate(conn, item, project, aspect)
        await self._progress(conn, item, project, answers=1, leases=-1, estimate=estimate)
        suspended = await self.standing.after_answer(conn, worker_id, project, gold_correct,
                                                      too_fast)
        await self.earnings.earn(conn, worker_id, project, assignment.id, now)
        today = await assignment_store.answered_since(
            conn, worker_id, self._local_midnight(worker))
        feedback = None
        if gold_correct is not None and project.spec.feedback:
            explain = Localized(item.explain) if item.explain else None
            feedback = Feedback(gold_correct, item.gold or "", explain,
                                *((item.media_id, value) if project.spec.spatial else ()))
        shown_in = ((assignment.chat_id, assignment.message_id)
                    if assignment.chat_id is not None and assignment.message_id is not None
                    else None)
        return AnswerResult(Outcome.ACCEPTED,
                            await self._lease_next(conn, worker_id, project, worker, shown),
                            feedback, suspended, today, answered_in=shown_in)

    async def drawn_feedback(self, project: Project, feedback: Feedback) -> bytes | None:
        """The picture of a missed drawn gold check with the right shapes (green) and the
        worker's (red) drawn on it; None for anything else. Drawn off the event loop."""
        if feedback.media_id is None or not project.spec.spatial:
            return None
        geometry = project.spec.geometry
        right = [_plain(s) for s in shapes.parse_stored(geometry, feedback.answer)]
        theirs = [_plain(s) for s in shapes.parse_stored(geometry, feedback.given or "[]")]
        picture = await self.media_bytes(feedback.media_id)
        return await asyncio.to_thread(draw_answer, picture, right, theirs)

    async def _open_task(self, conn: Connection, worker_id: int) -> Served | None:
        """The task the worker holds open now, if any."""
        current = await assignment_store.open_for_worker(conn, worker_id)
        if current is None:
            return None
        row = await project_store.get(conn, current.project_id)
        assert row is not None
        held = Project.from_row(row)
        return Served(await self._task(conn, current, held), project=held)

    async def _current_or_next(self, conn: Connection, worker_id: int,
                               project: Project, worker: Worker | None) -> Served:
        """After a late answer to an expired task: the task the worker has open by now (an
        old message's button, tapped after a newer task arrived), else the next one. A
        worker holds one open task at a time."""
        current = await self._open_task(conn, worker_id)
        return current if current is not None else await self._lease_next(
            conn, worker_id, project, worker)

    def _local_midnight(self, worker: Worker | None) -> str:
        local = local_time(self.clock.now(), worker.timezone if worker else "UTC")
        return to_iso(local.replace(hour=0, minute=0, second=0, microsecond=0))

    async def set_suspended(self, worker_id: int, project: Project, suspended: bool,
                            reason: str, *, by: int | None = None, note: str = "") -> bool:
        """An operator's decision; True when something changed.

        Reinstating lifts only the suspension: a worker who had not passed the quiz still
        has to, and the gold and speed rules start counting afresh from now. ``by`` and
        ``note``: the operator and their words, kept with the change (the dashboard).
        """
        async with self.db.transaction() as conn:
            current = await quality_store.qualification(conn, worker_id, project.id)
            if suspended:
                if current is not None and current.suspended:
                    return False
                await self.standing.suspend(conn, worker_id, project.id, reason)
                open_task = await assignment_store.open_for_worker(conn, worker_id)
                if open_task is not None and open_task.project_id == project.id:
                    await self._close(conn, open_task, "released")
            else:
                if current is None or not current.suspended:
                    return False
                await self.standing.reinstate(conn, current)
            if by is not None:
                await dashboard_store.add_action(
                    conn, secrets.token_hex(16), by, "suspend" if suspended else "reinstate",
                    worker_id, project.id, note, to_iso(self.clock.now()))
            return True

    async def skip(self, worker_id: int, assignment_id: int, shown: Shown | None = None
                   ) -> AnswerResult:
        """Pass on this item; this worker will not be offered it again."""
        return await self._leave(worker_id, assignment_id, "skipped", serve_next=True,
                                 shown=shown)

    async def stop(self, worker_id: int, assignment_id: int) -> AnswerResult:
        """Stop working; the open item goes back to the pool at once."""
        return await self._leave(worker_id, assignment_id, "released", serve_next=False)

    async def _leave(self, worker_id: int, assignment_id: int, status: str, *,
                     serve_next: bool, shown: Shown | None = None) -> AnswerResult:
        async with self.db.transaction() as conn:
            worker = await worker_store.get(conn, worker_id)
            assignment = await assignment_store.get(conn, assignment_id)
            if assignment is None or assignment.worker_id != worker_id:
                return AnswerResult(Outcome.FORGED, worker=worker)
            closed = await self._close(conn, assignment, status)
            row = await project_store.get(conn, assignment.project_id)
            assert row is not None
            project = Project.from_row(row)
            if not closed:
                # stopping is the same whether the task was still open or not (its lease
                # ran out, it was answered from another message): the phone still ends on
                # the stopped screen, so the result names the project
                return AnswerResult(Outcome.NOT_OPEN,
                                    None if serve_next else Served(None, project=project),
                                    worker=worker)
            served = (await self._lease_next(conn, worker_id, project, worker, shown)
                      if serve_next else Served(None, project=project))
            return AnswerResult(Outcome.ACCEPTED, served, worker=worker)


def _plain(shape: Box | Point) -> tuple[float, ...]:
    return (shape.x0, shape.y0, shape.x1, shape.y1) if isinstance(shape, Box) \
        else (shape.x, shape.y)


def typed_too_long(spec: ProjectSpec, text: str | None) -> bool:
    """A transcription longer than an answer may be: the worker is told the limit, where
    any other answer that does not fit is told to use the buttons."""
    return spec.typed and text is not None \
        and len(" ".join(text.split())) > MAX_TYPED_ANSWER


@dataclass(frozen=True)
class _Given:
    """What the worker sent: a label's position, a typed text or a drawing."""

    choice: int | None
    text: str | None
    drawing: Drawing | None


def answer_value(spec: ProjectSpec, choice: int | None, text: str | None,
                 drawing: Drawing | None = None) -> str | None:
    """The value to store, or None when the answer does not fit the project (a drawing
    the project refuses raises ``ShapeError``, which says why)."""
    if spec.spatial:
        return None if drawing is None else shapes.canonical(spec.geometry, drawing)
    if drawing is not None:
        return None
    if spec.categorical:
        if choice is None or not 0 <= choice < len(spec.labels):
            return None
        return spec.labels[choice].value
    if text is None:
        return None
    cleaned = " ".join(text.split())
    if len(cleaned) > MAX_TYPED_ANSWER:
        return None
    return cleaned  # "" means the worker could not make it out
