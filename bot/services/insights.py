"""What the operator dashboard shows of one project beyond ``tapwork stats``: when
items were finished, its workers' hourly rates, how much they agree, the items most
worth a look, each worker's standing, and the latest broadcasts.

Every read runs on the report threads (``Reports.read`` and ``Reports.job``) with a
read-only connection of their own, so a large project never stalls the work loop; the
agreement pass pages through the answers as exports do (``storage.reports.export_page``)
and keeps only counters and a few items (``bot.domain.agreement``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from bot.domain.agreement import Agreement, SplitItem
from bot.domain.projects import Project
from bot.domain.records import Broadcast, BroadcastProgress
from bot.services.catalog import Catalog
from bot.services.ledger import per_hour
from bot.services.reports import EXPORT_PAGE, Cancelled, Reports
from storage import Database
from storage import broadcasts as broadcast_store
from storage import dashboard as dashboard_store
from storage import insights as store
from storage import ledger as ledger_store
from storage import reports as report_store
from storage.connection import Connection, SideConnection
from storage.insights import WorkerInProject

#: items shown for review on the quality page
SPLIT_ITEMS = 20
#: workers listed on a project's workers page
WORKERS_SHOWN = 500
#: broadcasts listed on a project's page
BROADCASTS_SHOWN = 5


@dataclass(frozen=True)
class Pace:
    """Items done by the hour of their last answer, and each worker's real hourly rate
    (task pay after discounts / time on the project's tasks; bonuses left out)."""

    done_by_hour: list[tuple[str, int]]
    hourly_rates: list[int]
    min_hourly: int | None


@dataclass(frozen=True)
class WorkerQuality:
    worker: WorkerInProject
    #: share of their answers matching the others' most common answer on the item
    agreement: float | None
    #: the latest operator's words for the state they are in (suspend or reinstate)
    note: str | None


@dataclass(frozen=True)
class Quality:
    agreement: float | None
    mean_top_share: float | None
    items_judged: int
    workers: list[WorkerQuality]
    #: the most split items with their answers and (for text items) their text
    split: list[tuple[SplitItem, str]]


class Insights:
    def __init__(self, db: Database, catalog: Catalog, reports: Reports) -> None:
        self.db = db
        self.catalog = catalog
        self.reports = reports

    async def pace(self, project: Project) -> Pace:
        async def read(conn: Connection) -> tuple[list[tuple[str, int]],
                                                  list[tuple[int, int, float]]]:
            return (await store.done_by_hour(conn, project.id),
                    await ledger_store.project_worker_rates(conn, project.id))

        done, rates = await self.reports.read(read)
        hourly = sorted(rate for _worker, earned, seconds in rates
                        if (rate := per_hour(earned, seconds)) is not None)
        return Pace(done, hourly, project.spec.min_hourly_micros)

    async def quality(self, project: Project) -> Quality:
        """Agreement over every answer, each worker's gold record and agreement, the
        most split items: one paged pass on a report thread."""
        agreement = await self.reports.job(
            lambda conn, cancel: _agreement(conn, cancel, project.id))
        split = agreement.most_split()

        async def read(conn: Connection) -> tuple[list[WorkerInProject], dict[int, str],
                                                  dict[tuple[int, str], tuple[str, int, str]]]:
            return (await store.project_workers(conn, project.id, WORKERS_SHOWN),
                    await store.item_texts(conn, [s.item_pk for s in split]),
                    await dashboard_store.last_actions(conn, project.id))

        workers, texts, notes = await self.reports.read(read)
        rows = [WorkerQuality(w, agreement.worker(w.id), _note(w, notes)) for w in workers]
        return Quality(agreement.overall, agreement.mean_top_share, agreement.items, rows,
                       [(s, texts.get(s.item_pk, "")) for s in split])

    async def broadcasts(self, project: Project, limit: int = BROADCASTS_SHOWN
                         ) -> list[tuple[Broadcast, BroadcastProgress]]:
        async with self.db.read() as conn:
            found = await broadcast_store.recent(conn, project.id, limit)
            return [(b, await broadcast_store.progress(conn, b.id)) for b in found]


def _note(worker: WorkerInProject,
          notes: dict[tuple[int, str], tuple[str, int, str]]) -> str | None:
    action = "suspend" if worker.suspended else "reinstate"
    found = notes.get((worker.id, action))
    return found[0] if found else None


def _agreement(conn: SideConnection, cancel: threading.Event,
               project_id: int) -> Agreement:
    """Every item's answers, page by page (on a report thread)."""
    agreement = Agreement(keep=SPLIT_ITEMS)
    after = 0
    while True:
        if cancel.is_set():
            raise Cancelled
        page = report_store.export_page(conn, project_id, after, EXPORT_PAGE)
        if not page:
            return agreement
        start = 0
        for end in range(1, len(page) + 1):
            if end == len(page) or page[end].item_pk != page[start].item_pk:
                rows = page[start:end]
                agreement.add(rows[0].item_pk, rows[0].ext_id,
                              [(r.worker_id, r.answer or "") for r in rows
                               if r.worker_id is not None])
                start = end
        after = page[-1].item_pk



