"""Telling workers that tasks wait: operator broadcasts and automatic notifications.

A broadcast is a queue in the database: its whole audience is written when it starts,
each recipient is claimed just before its message goes out and marked just after, so a
restart resumes where it stopped and nobody is messaged twice for one broadcast. The few
recipients claimed but unconfirmed when a process dies are not sent again (they may
already have the message); the operator sees them counted.

Automatic notices (a project opened, new items arrived) go through the outbox, at most
once per worker per project per ``notify_every_hours``, and never in quiet hours. Their
audience (every worker who could take the project) is read on a report thread and written
in batches, so telling a crowd of 50,000 never holds the event loop (``notify_events``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, from_iso, to_iso
from bot.config import BroadcastConfig
from bot.domain.errors import TapworkError, TextTooLong
from bot.domain.languages import unpack
from bot.domain.notice_kinds import EVENTS, BroadcastHeld, DailySummary, NoticeBody
from bot.domain.projects import Project
from bot.domain.quiet import local_time, quiet_until
from bot.domain.records import Broadcast, BroadcastProgress, Worker
from bot.i18n import N_
from bot.services.catalog import MANY, Catalog
from bot.services.leasing import QUIZ_BUSY
from bot.services.ledger import Payroll
from bot.services.reports import Reports
from bot.services.work import Work
from storage import Database, outbox
from storage import broadcasts as store
from storage import items as item_store
from storage import projects as project_store
from storage import quality as quality_store
from storage import quiz as quiz_store
from storage import workers as worker_store
from storage.connection import Connection

#: recipients claimed per database round trip
CLAIM = 50
#: the most an operator's own words may be. The invitation a worker gets is those words
#: as written with a button under them (``handlers.broadcast.invitation``), and a
#: Telegram message holds 4096 characters, counted in UTF-16 code units
MAX_TEXT = 4096
#: local hour at which daily summaries go out
SUMMARY_HOUR = 20
#: automatic notices written per transaction: the event loop serves others between them
NOTIFY_BATCH = 500


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to: everyone, and per item language how many read it (a
    worker who reads two of the project's languages counts under both)."""

    total: int
    by_language: dict[str, int]

    @classmethod
    def count(cls, total: int, reads: list[str], languages: tuple[str, ...]) -> Audience:
        by_language = dict.fromkeys(languages, 0)
        for packed in reads:
            for lang in unpack(packed):
                if lang in by_language:
                    by_language[lang] += 1
        return cls(total, by_language)


@dataclass(frozen=True)
class Recipient:
    worker: Worker
    #: set when the worker is in quiet hours: the message waits until then instead
    quiet_until: str | None


def check_text(text: str | None) -> str | None:
    """An operator's broadcast text, trimmed; None for none. Refused when it is written,
    before anything is queued, if it would not fit one message: sent as it is, every
    worker's copy would be refused by Telegram."""
    text = text.strip() if text else None
    if not text:
        return None
    length = len(text.encode("utf-16-le", "surrogatepass")) // 2
    if length > MAX_TEXT:
        raise TextTooLong("the broadcast text is {length} characters long; one Telegram "
                          "message holds {limit}, so shorten it by {over}", length=length,
                          limit=MAX_TEXT, over=length - MAX_TEXT)
    return text


class Broadcasts:
    def __init__(self, db: Database, clock: Clock, catalog: Catalog, work: Work,
                 config: BroadcastConfig, reports: Reports) -> None:
        self.db = db
        self.clock = clock
        self.catalog = catalog
        self.work = work
        self.config = config
        #: its report threads read a notice's audience off the event loop
        self.reports = reports

    async def start(self, project_name: str, text: str | None = None, *, paid: bool = False,
                    operator_chat: int | None = None) -> tuple[Broadcast, Audience]:
        """Queue a broadcast to everyone who can take the project; returns it and whom it
        reaches, by language."""
        text = check_text(text)
        project = await self.catalog.get(project_name)
        if paid and not self.config.allow_paid_broadcast:
            raise TapworkError(N_("paid broadcasts are off: set {key} = {value} in the "
                                  "config to allow them"),
                               key="broadcast.allow_paid_broadcast", value="true")
        rate = self.config.paid_rate if paid else self.config.broadcast_rate
        async with self.db.transaction() as conn:
            broadcast_id, count = await store.create(
                conn, await self._reach(conn, project),
                text, paid, rate,
                operator_chat, to_iso(self.clock.now()))
            broadcast = await store.get(conn, broadcast_id)
            reads = await store.target_languages(conn, broadcast_id)
        assert broadcast is not None
        return broadcast, Audience.count(count, reads, project.languages)

    async def _reach(self, conn: Connection, project: Project) -> store.Reach:
        """The languages in which the project has work left, each with whether a newcomer
        could qualify in it: the audience follows from these."""
        quiz = project.spec.quiz
        languages = []
        for lang in (*project.languages, ""):
            if not await item_store.open_count(conn, project.id, lang, None, 1):
                continue
            pool = (await quiz_store.pool_size(conn, project.id, (lang, "")) if quiz else 0)
            languages.append((lang, quiz is None or pool >= quiz.questions))
        now = self.clock.now()
        return store.Reach(project.id, quiz is not None, quiz.attempts if quiz else 0,
                           tuple(languages), to_iso(now), to_iso(now - QUIZ_BUSY))

    async def resumable(self, older_than: timedelta | None = None) -> list[Broadcast]:
        """Broadcasts to carry on after a restart; their unconfirmed claims are settled.
        With several replicas only claims ``older_than`` are (the rest may be on the wire
        from a replica alive now); they run this as a repeating job too."""
        before = to_iso(self.clock.now() - older_than) if older_than is not None else None
        async with self.db.transaction() as conn:
            pending = await store.unfinished(conn)
            for broadcast in pending:
                await store.abandon_claims(conn, broadcast.id, before)
        return pending

    async def unfinished(self) -> list[Broadcast]:
        async with self.db.read() as conn:
            return await store.unfinished(conn)

    async def claim(self, broadcast: Broadcast, limit: int = CLAIM) -> list[Recipient] | None:
        """The next recipients to send to now, or None when nobody is left.

        Workers in quiet hours are handed to the outbox (sent when their quiet hours end),
        so the list may be empty while the queue is not.
        """
        now = self.clock.now()
        async with self.db.transaction() as conn:
            ids = await store.claim(conn, broadcast.id, limit, to_iso(now))
            if not ids:
                return None
            workers = await worker_store.many(conn, ids)
            busy = await worker_store.busy(conn, ids, to_iso(now - QUIZ_BUSY))
            recipients, deferred = [], []
            for worker_id in ids:
                worker = workers.get(worker_id)
                if worker is None or not worker.active:
                    continue
                until = quiet_until(worker, now)
                if until is not None or worker_id in busy:
                    # quiet hours, or mid-task or mid-quiz since the audience was taken:
                    # the outbox delivers it later (and waits while they are busy)
                    until = until or now
                    deferred.append(worker_id)
                    await outbox.put(conn, worker_id,
                                     BroadcastHeld(broadcast.project_id, broadcast.text),
                                     f"broadcast:{broadcast.id}:{worker_id}", to_iso(now),
                                     to_iso(until))
                    continue
                recipients.append(Recipient(worker, None))
            inactive = [w for w in ids if w not in workers or not workers[w].active]
            await store.mark(conn, broadcast.id, deferred, "deferred", to_iso(now))
            await store.mark(conn, broadcast.id, inactive, "blocked", to_iso(now))
        return recipients

    async def record(self, broadcast: Broadcast, results: list[tuple[int, str]]) -> None:
        """The outcome of a batch, in one transaction: (worker, sent|blocked|failed|…)."""
        now = to_iso(self.clock.now())
        async with self.db.transaction() as conn:
            for status in {s for _w, s in results}:
                await store.mark(conn, broadcast.id,
                                 [w for w, s in results if s == status], status, now)

    async def progress(self, broadcast: Broadcast) -> BroadcastProgress:
        async with self.db.read() as conn:
            return await store.progress(conn, broadcast.id)

    async def finish(self, broadcast: Broadcast) -> bool:
        """Done; False when another replica finished it first (it reports the end)."""
        async with self.db.transaction() as conn:
            return await store.finish(conn, broadcast.id, to_iso(self.clock.now()))

    async def take_progress_message(self, broadcast: Broadcast) -> int | None:
        """The progress message to edit, ``POSTING`` while another replica posts it, or
        None: this caller posts it (and no other replica will)."""
        async with self.db.transaction() as conn:
            return await store.take_progress_message(conn, broadcast.id)

    async def set_progress_message(self, broadcast: Broadcast, message_id: int | None) -> None:
        async with self.db.transaction() as conn:
            await store.set_progress_message(conn, broadcast.id, message_id)

    async def project(self, broadcast: Broadcast) -> Project | None:
        return await self.catalog.get_by_id(broadcast.project_id)

    # -- automatic notices ---------------------------------------------------------
    async def subscribe(self, worker_id: int, project_id: int) -> bool:
        """ "Tell me when there are tasks": notifications on, and the next notice about
        this project is not held back by the once-per-``notify_every_hours`` rule."""
        async with self.db.transaction() as conn:
            worker = await worker_store.get(conn, worker_id)
            if worker is None or await project_store.get(conn, project_id) is None:
                return False
            await worker_store.update_settings(conn, worker_id, notify=1)
            await store.forget_notified(conn, project_id, worker_id)
        return True

    async def daily_summaries(self, payroll: Payroll, hour: int = SUMMARY_HOUR) -> int:
        """At ``hour`` local time, queue each subscriber's day: earned, accuracy, work left.

        The outbox key holds the local date, so running this every few minutes (or after
        a restart) still sends one summary a day.
        """
        now = self.clock.now()
        async with self.db.read() as conn:
            subscribers = [w for w in await worker_store.with_daily_summary(conn)
                           if local_time(now, w.timezone).hour == hour]
        if not subscribers:
            return 0
        queued = 0
        for worker in subscribers:
            # what this worker could take, not what waits for anyone
            waiting = min(MANY + 1, sum(n for _p, n in await self.work.offers(worker.id,
                                                                               MANY + 1)))
            local = local_time(now, worker.timezone)
            wallet = await payroll.wallet(worker.id)
            async with self.db.transaction() as conn:
                total, correct = await quality_store.gold_totals(conn, worker.id)
                queued += await outbox.put(conn, worker.id, DailySummary(
                    tuple(wallet.earned_today.items()), total, correct, waiting),
                    f"summary:{worker.id}:{local.date()}", to_iso(now))
        return queued

    async def notify_events(self) -> int:
        """Turn "project opened" and "new items" events into outbox notices.

        Whom to tell is read on a report thread (every worker who could take the project
        is a correlated query over workers, items and assignments: 0.5 s for 10,000
        workers held the event loop whole when it ran inline); the notices are written
        ``NOTIFY_BATCH`` at a time, each batch with its "last notified" marks, and the
        event is closed once all are written. A stop part way leaves the event open: run
        again, it tells only those not yet told (the marks), and a notice queued twice is
        queued once (its key names the event and the worker), so a replica that reads the
        same event meanwhile adds nobody twice either.
        """
        now = self.clock.now()
        queued = 0
        async with self.db.read() as conn:
            events = await store.open_events(conn)
        for event_id, project_id, kind in events:
            project = await self.catalog.get_by_id(project_id)
            # a project with nothing anyone can take tells nobody and uses up no one's
            # allowance: its items will bring their own notice
            if project is not None and project.status == "open":
                due, workers = await self.reports.read(
                    functools.partial(self._due, project=project, now=now))
                body = EVENTS[kind](project.id)
                for start in range(0, len(due), NOTIFY_BATCH):
                    await asyncio.sleep(0)  # others' turn between batches
                    batch = due[start:start + NOTIFY_BATCH]
                    await self._notify(project, body, event_id, batch, workers, now)
                    queued += len(batch)
            async with self.db.transaction() as conn:
                await store.close_event(conn, event_id, to_iso(now))
        return queued

    async def _due(self, conn: Connection, project: Project, now: datetime
                   ) -> tuple[list[int], dict[int, Worker]]:
        """Who can take the project and was not told about it within
        ``notify_every_hours``, with their rows (for quiet hours); on a report thread."""
        gap = timedelta(hours=self.config.notify_every_hours)
        audience = await store.audience(conn, await self._reach(conn, project))
        last = await store.last_notified(conn, project.id, audience)
        due = [w for w in audience if w not in last or from_iso(last[w]) + gap <= now]
        return due, await worker_store.many(conn, due)

    async def _notify(self, project: Project, body: NoticeBody, event_id: int,
                      batch: Sequence[int], workers: dict[int, Worker], now: datetime
                      ) -> None:
        """One batch of an event's notices and their "last notified" marks, together."""
        recipients = []
        for worker_id in batch:
            until = quiet_until(workers[worker_id], now)
            recipients.append((worker_id, f"event:{event_id}:{worker_id}",
                               to_iso(until) if until else None))
        async with self.db.transaction() as conn:
            await outbox.put_many(conn, body, recipients, to_iso(now))
            await store.set_notified(conn, project.id, batch, to_iso(now))
