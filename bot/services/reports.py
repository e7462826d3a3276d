"""Export of answers and labels, and the numbers operators watch.

Everything here reads a whole project, so none of it runs on the event loop: each job
runs on a worker thread with a read-only connection of its own (SQLite's WAL, or
PostgreSQL's snapshots, let it read while the bot writes on), and the work loop keeps
answering workers meanwhile. Exports
page through items by key range and aggregate in bounded passes
(``bot.aggregation.stream``), so time grows linearly with the project and memory with
the page, not the project.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import marshal
import shutil
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, TextIO, TypeVar

from bot.aggregation.stream import (
    ItemVotes,
    PageLabeler,
    StreamingCategorical,
    StreamingTexts,
)
from bot.clock import Clock, to_iso
from bot.domain import csvsafe
from bot.domain.errors import TapworkError
from bot.domain.inventory import ItemCounts, tally
from bot.domain.projects import Project
from bot.domain.records import Activity
from bot.files import written_atomically
from bot.services.catalog import Catalog
from bot.services.ledger import EXAM_KEY, Payroll
from bot.services.shape_reports import pictures_of, write_coco, write_jsonl
from storage import Database
from storage import reports as report_store
from storage.connection import Connection, SideConnection
from storage.reports import AnswerRow, by_item

T = TypeVar("T")

EXPORT_PAGE = 2000
#: an item on its way into a JSONL export: its id as JSON, its answers as aggregation
#: reads them, and its answers as JSON
_Item = tuple[str, ItemVotes, str]
FORMATS = ("jsonl", "csv", "coco")
#: the largest file a bot may upload to Telegram (sendDocument): 50 MB
UPLOAD_LIMIT = 50 * 1000 * 1000
#: report jobs at once; more wait their turn rather than share two cores with the bot
REPORT_THREADS = 2


class Cancelled(Exception):
    """The caller stopped waiting (the bot is shutting down): the job gave up between
    pages and removed what it had written."""


@dataclass(frozen=True)
class ChatExport:
    """An export ready to send as a document, or too big to send.

    ``data`` is None when even the gzipped file is over the upload limit.
    """

    filename: str
    data: bytes | None
    items: int
    compressed: bool
    size: int


class Reports:
    def __init__(self, db: Database, clock: Clock, catalog: Catalog, payroll: Payroll, *,
                 upload_limit: int = UPLOAD_LIMIT) -> None:
        self.db = db
        self.clock = clock
        self.catalog = catalog
        self.payroll = payroll
        self.upload_limit = upload_limit
        #: called on the job's thread after each page is written, with the rows so far
        #: (for progress; tests count them against the answers acknowledged meanwhile)
        self.on_page: list[Callable[[int], None]] = []
        self._executor = ThreadPoolExecutor(REPORT_THREADS, thread_name_prefix="report")
        self._running: set[threading.Event] = set()

    async def close(self) -> None:
        """Ask running jobs to stop at their next page and wait for their threads."""
        for cancel in list(self._running):
            cancel.set()
        await asyncio.to_thread(self._executor.shutdown, True, cancel_futures=True)

    # ------------------------------------------------------------------------- exports

    async def export(self, project_name: str, out: TextIO, fmt: str = "jsonl") -> int:
        """Write every item (JSONL) or every answer (CSV) to ``out``; returns the rows.

        ``out`` is written from a worker thread: do not touch it until this returns.
        """
        project = await self._project(project_name, fmt)
        return await self._off_loop(
            lambda conn, cancel: self._write(conn, cancel, project, out, fmt))

    async def export_file(self, project_name: str, target: Path, fmt: str = "jsonl") -> int:
        """``export`` into ``target`` by way of ``target.partial`` (see
        ``bot.files.written_atomically``); an ``OSError`` leaves nothing behind."""
        project = await self._project(project_name, fmt)

        def job(conn: SideConnection, cancel: threading.Event) -> int:
            with written_atomically(target) as out:
                return self._write(conn, cancel, project, out, fmt)

        return await self._off_loop(job)

    async def export_for_chat(self, project_name: str) -> ChatExport:
        """The JSONL export as a document to send: as it is when it fits Telegram's
        upload limit, gzipped when only that fits, and no data when neither does."""
        project = await self._project(project_name, "jsonl")
        return await self._off_loop(
            lambda conn, cancel: self._for_chat(conn, cancel, project))

    async def _project(self, name: str, fmt: str) -> Project:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r} (use jsonl, csv or coco)")
        project = await self.catalog.get(name)
        if fmt == "coco" and not project.spec.spatial:
            raise TapworkError("COCO export is for boxes and points projects; {name} is a "
                               "{kind} project (use jsonl or csv)", name=name,
                               kind=project.spec.kind)
        return project

    def _for_chat(self, conn: SideConnection, cancel: threading.Event,
                  project: Project) -> ChatExport:
        with tempfile.TemporaryDirectory(prefix="tapwork-export-") as tmp:
            plain = Path(tmp) / f"{project.spec.name}.jsonl"
            with plain.open("w", encoding="utf-8", newline="") as out:
                items = self._write(conn, cancel, project, out, "jsonl")
            size = plain.stat().st_size
            if size <= self.upload_limit:
                return ChatExport(plain.name, plain.read_bytes(), items, False, size)
            packed = plain.with_name(plain.name + ".gz")
            with plain.open("rb") as src, \
                    gzip.GzipFile(packed, "wb", compresslevel=6, mtime=0) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            size = packed.stat().st_size
            data = packed.read_bytes() if size <= self.upload_limit else None
            return ChatExport(packed.name, data, items, True, size)

    def _write(self, conn: SideConnection, cancel: threading.Event, project: Project,
               out: TextIO, fmt: str) -> int:
        """The export itself, on the job's thread; returns the rows written.

        The database is read once, a page at a time (``storage.reports.export_pages``:
        on SQLite a statement per page, so no read transaction keeps the write-ahead log
        from being checkpointed; on PostgreSQL one snapshot read through a cursor).
        A method that must see every answer before labelling any (all but majority vote
        and ROVER) gets each page as it is read, while the page waits in a temporary file
        to be labelled and written: the labels come from exactly the answers written.
        """
        if fmt == "csv":
            return self._write_csv(conn, cancel, project, out)
        if project.spec.spatial:
            rows, pictures = _pages(conn, project.id, cancel), pictures_of(conn, project.id)
            if fmt == "coco":
                return write_coco(project, rows, pictures, out, self._page_done,
                                  to_iso(self.clock.now()))
            return write_jsonl(project, rows, pictures, out, self._page_done)
        labeler = _labeler(project)
        try:
            pages = (_prepared(page) for page in _pages(conn, project.id, cancel))
            if not labeler.needs_fit:
                return self._write_jsonl(pages, out, labeler)
            with tempfile.TemporaryFile() as spill:
                for items in pages:
                    labeler.add([votes for _id, votes, _answers in items])
                    data = marshal.dumps(items)  # plain strings and tuples: the fastest
                    spill.write(len(data).to_bytes(8, "little"))
                    spill.write(data)
                labeler.fit()
                spill.seek(0)
                return self._write_jsonl(_spilled(spill, cancel), out, labeler)
        finally:
            labeler.close()

    def _write_csv(self, conn: SideConnection, cancel: threading.Event,
                   project: Project, out: TextIO) -> int:
        # typed answers and operators' ids reach spreadsheets: cells that could run as
        # formulas are quoted (bot.csvsafe)
        writer = csvsafe.writer(out)
        writer.writerow(["item", "worker", "label", "answered_at", "seconds"])
        written = 0
        for page in _pages(conn, project.id, cancel):
            for r in page:
                if r.worker_id is not None:
                    writer.writerow([r.ext_id, r.worker_id, r.answer, r.answered_at,
                                     _seconds(r.seconds)])
                    written += 1
            self._page_done(written)
        return written

    def _write_jsonl(self, pages: Iterable[list[_Item]], out: TextIO,
                     labeler: PageLabeler) -> int:
        """One object per item: ``{"id", "label", "confidence", "method", "answers"}``,
        as ``json.dumps`` of that dict writes it (the parts are encoded on the first pass,
        and only the label's on this one)."""
        written = 0
        for items in pages:
            labels = labeler.label([votes for _id, votes, _answers in items])
            for (item_id, _votes, answers), final in zip(items, labels, strict=True):
                if final is None:
                    label, confidence, method = '""', "null", "null"
                else:  # a float's JSON is its repr; labels and methods are few
                    label = _encoded(final.label)
                    confidence = repr(round(final.confidence, 4))
                    method = _encoded(final.method)
                out.write("".join(('{"id": ', item_id, ', "label": ', label,
                                   ', "confidence": ', confidence, ', "method": ', method,
                                   ', "answers": ', answers, "}\n")))
                written += 1
            self._page_done(written)
        return written

    def _page_done(self, written: int) -> None:
        for hook in self.on_page:
            hook(written)

    # ---------------------------------------------------------------- running off-loop

    async def _off_loop(self, job: Callable[[SideConnection, threading.Event], T]) -> T:
        """Run ``job`` on a report thread with a read-only connection of its own.

        If the caller is cancelled, the job is told to stop at its next page; the thread
        is never left writing into a file nobody waits for.
        """
        cancel = threading.Event()

        def run() -> T:
            conn: SideConnection = self.db.open_reader()
            try:
                return job(conn, cancel)
            finally:
                conn.close()

        self._running.add(cancel)
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, run)
            # a job given up on still ends (Cancelled); nobody is left to hear it
            future.add_done_callback(lambda done: done.cancelled() or done.exception())
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                cancel.set()
                raise
        finally:
            self._running.discard(cancel)

    async def job(self, job: Callable[[SideConnection, threading.Event], T]) -> T:
        """Another service's whole-project read, on a report thread (``_off_loop``)."""
        return await self._off_loop(job)

    async def read(self, read: Callable[[Connection], Coroutine[Any, Any, T]]) -> T:
        """Another service's storage reads, on a report thread (``_read_off_loop``)."""
        return await self._read_off_loop(read)

    async def _read_off_loop(self, read: Callable[[Connection], Coroutine[Any, Any, T]]
                             ) -> T:
        """The async storage functions, run on a report thread against its own connection
        (wrapped as the inline connection the bot uses, in the thread's own event loop)."""
        return await self._off_loop(
            lambda conn, _cancel: asyncio.run(read(self.db.inline(conn))))

    # --------------------------------------------------------------------------- stats

    async def activity(self, project: Project) -> tuple[Activity, list[int], list[str]]:
        """The last hour's pace, gold accuracy, median time, and answers per hour over the
        last 24 hours (values and hour labels, oldest first) for a chart."""
        now = self.clock.now().replace(minute=0, second=0, microsecond=0)
        start = now - timedelta(hours=23)
        hour_ago = to_iso(self.clock.now() - timedelta(hours=1))
        activity = await self._read_off_loop(
            lambda conn: report_store.activity(conn, project.id, hour_ago, to_iso(start)))
        counts = dict(activity.per_hour)
        hours = [start + timedelta(hours=i) for i in range(24)]
        values = [counts.get(h.strftime("%Y-%m-%dT%H"), 0) for h in hours]
        return activity, values, [h.strftime("%H") for h in hours]

    async def stats(self) -> list[ProjectStats]:
        since = to_iso(self.clock.now() - timedelta(hours=24))
        projects = await self.catalog.all()

        async def read(conn: Any) -> list[ProjectStats]:
            result = []
            for project in projects:
                counts = await report_store.project_counts(conn, project.id, since)
                contents = tally(await report_store.item_kinds(conn, project.id))
                left = await report_store.left_by_language(conn, project.id)
                money = await self.payroll.project_money(project, conn)
                quiz = await report_store.quiz_counts(conn, project.id, EXAM_KEY)
                result.append(ProjectStats(project.spec.name, project.spec.kind,
                                           project.status, project.spec.currency,
                                           **asdict(counts), **asdict(money),
                                           contents=contents, left_by_language=left,
                                           quiz_answers=quiz.answers,
                                           qualified=quiz.qualified,
                                           paid_exam_answers=quiz.paid))
            return result

        return await self._read_off_loop(read)


@dataclass(frozen=True)
class ProjectStats:
    name: str
    kind: str
    status: str
    currency: str
    items: int
    done: int
    in_progress: int
    answers: int
    workers: int
    #: distinct workers with an answer in the last 24 hours
    active_workers: int
    #: money, in micros of ``currency``: released to workers, and still pending
    spent: int
    committed: int
    accepted_answers: int
    per_answer: int | None
    #: the median of its workers' real hourly rates (task pay after discounts / time on
    #: its tasks; bonuses left out); show it with ``bot.money.format_rate``
    median_hourly: int | None
    below_min_hourly: bool
    #: every item by kind and language, counted as an import's report counts them
    contents: ItemCounts = field(default_factory=ItemCounts)
    #: work items not done yet, per language ('' for items that need no reading)
    left_by_language: dict[str, int] = field(default_factory=dict)
    #: quiz answers (practice and exams, every attempt) and the workers who passed
    quiz_answers: int = 0
    qualified: int = 0
    #: of ``quiz_answers``, those of passed exams that were paid (``quiz.paid``)
    paid_exam_answers: int = 0

    @property
    def quiz_per_qualified(self) -> float | None:
        """What one qualified worker cost in quiz answers, the number issue 13 cut:
        everyone's quiz answers, those who failed included, per worker who passed."""
        return round(self.quiz_answers / self.qualified, 1) if self.qualified else None

    @property
    def unpaid_per_qualified(self) -> float | None:
        """The same, counting only the unpaid answers: practice, failed exams, and the
        passed exams of a project that does not pay for them."""
        unpaid = self.quiz_answers - self.paid_exam_answers
        return round(unpaid / self.qualified, 1) if self.qualified else None


def _labeler(project: Project) -> StreamingCategorical | StreamingTexts:
    """Every item's label by the project's ``aggregation`` method over all its answers.

    Gold answers feed Dawid-Skene ("gold-ds", the default when the project has gold
    checks); typed answers are combined with ROVER.
    """
    spec = project.spec
    if not spec.categorical:
        return StreamingTexts()
    return StreamingCategorical(spec.aggregation, spec.label_values)


def _pages(conn: SideConnection, project_id: int, cancel: threading.Event
           ) -> Iterator[list[AnswerRow]]:
    pages = report_store.export_pages(conn, project_id, EXPORT_PAGE)
    try:
        for page in pages:
            if cancel.is_set():
                raise Cancelled
            yield page
    finally:
        pages.close()  # a PostgreSQL export ends its snapshot here


def _spilled(spill: BinaryIO, cancel: threading.Event) -> Iterator[list[_Item]]:
    """The pages a first pass put aside, in order."""
    while True:
        if cancel.is_set():
            raise Cancelled
        size = spill.read(8)
        if not size:
            return
        yield marshal.loads(spill.read(int.from_bytes(size, "little")))


_json = json.JSONEncoder(ensure_ascii=False).encode


@functools.lru_cache(maxsize=1024)
def _encoded(text: str) -> str:
    return _json(text)


def _prepared(page: list[AnswerRow]) -> list[_Item]:
    return [(_json(rows[0].ext_id), _votes(rows), _json(
        [{"worker": r.worker_id, "value": r.answer, "answered_at": r.answered_at,
          "seconds": _seconds(r.seconds)} for r in rows if r.worker_id is not None]))
            for rows in by_item(page)]


def _votes(rows: list[AnswerRow]) -> tuple[str | None, list[tuple[str, str]]]:
    """One item's answers as aggregation reads them: by assignment id."""
    answered = sorted((r for r in rows if r.worker_id is not None),
                      key=lambda r: r.assignment_id or 0)
    return rows[0].gold, [(str(r.worker_id), str(r.answer)) for r in answered]


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
