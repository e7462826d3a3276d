"""Export of answers and labels, and the numbers operators watch."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TextIO

from bot import csvsafe
from bot.aggregation import Aggregate, aggregate, aggregate_texts
from bot.assign import Project
from bot.catalog import Catalog
from bot.clock import Clock, to_iso
from bot.inventory import ItemCounts, tally
from bot.ledger import Payroll
from storage import Database
from storage import reports as report_store
from storage.reports import Activity, AnswerRow

EXPORT_PAGE = 2000
FORMATS = ("jsonl", "csv")


class Reports:
    def __init__(self, db: Database, clock: Clock, catalog: Catalog, payroll: Payroll) -> None:
        self.db = db
        self.clock = clock
        self.catalog = catalog
        self.payroll = payroll

    async def export(self, project_name: str, out: TextIO, fmt: str = "jsonl") -> int:
        """Write every item (JSONL) or every answer (CSV); returns the rows written.

        Pages are read one at a time so a million-item project never sits in memory and
        the bot keeps answering while an export runs.
        """
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r} (use jsonl or csv)")
        project = await self.catalog.get(project_name)
        # typed answers and operators' ids reach spreadsheets: cells that could run
        # as formulas are quoted (bot.csvsafe)
        writer = csvsafe.writer(out) if fmt == "csv" else None
        labels = {} if writer else await self.final_labels(project)
        if writer:
            writer.writerow(["item", "worker", "label", "answered_at", "seconds"])
        written, after = 0, 0
        while True:
            async with self.db.read() as conn:
                page = await report_store.export_page(conn, project.id, after, EXPORT_PAGE)
            if not page:
                return written
            for item_rows in _group(page):
                answered = [r for r in item_rows if r.worker_id is not None]
                if writer:
                    for r in answered:
                        writer.writerow([r.ext_id, r.worker_id, r.answer, r.answered_at,
                                         _seconds(r.seconds)])
                        written += 1
                    continue
                final = labels.get(item_rows[0].ext_id)
                out.write(json.dumps({
                    "id": item_rows[0].ext_id,
                    "label": final.label if final else "",
                    "confidence": round(final.confidence, 4) if final else None,
                    "method": final.method if final else None,
                    "answers": [{"worker": r.worker_id, "value": r.answer,
                                 "answered_at": r.answered_at,
                                 "seconds": _seconds(r.seconds)} for r in answered],
                }, ensure_ascii=False) + "\n")
                written += 1
            after = page[-1].item_pk

    async def final_labels(self, project: Project) -> dict[str, Aggregate]:
        """Every item's label by the project's ``aggregation`` method, over all answers.

        Gold answers feed Dawid-Skene ("gold-ds", the default when the project has gold
        checks); typed answers are combined with ROVER.
        """
        async with self.db.read() as conn:
            rows = await report_store.all_answers(conn, project.id)
            gold = await report_store.gold_answers(conn, project.id)
        if not rows:
            return {}
        spec = project.spec
        if not spec.categorical:
            return aggregate_texts(rows)
        return aggregate(rows, spec.aggregation, gold=gold or None,
                         label_order=spec.label_values)

    async def activity(self, project: Project) -> tuple[Activity, list[int], list[str]]:
        """The last hour's pace, gold accuracy, median time, and answers per hour over the
        last 24 hours (values and hour labels, oldest first) for a chart."""
        now = self.clock.now().replace(minute=0, second=0, microsecond=0)
        start = now - timedelta(hours=23)
        async with self.db.read() as conn:
            activity = await report_store.activity(
                conn, project.id, to_iso(self.clock.now() - timedelta(hours=1)), to_iso(start))
        counts = dict(activity.per_hour)
        hours = [start + timedelta(hours=i) for i in range(24)]
        values = [counts.get(h.strftime("%Y-%m-%dT%H"), 0) for h in hours]
        return activity, values, [h.strftime("%H") for h in hours]

    async def stats(self) -> list[ProjectStats]:
        since = to_iso(self.clock.now() - timedelta(hours=24))
        result = []
        for project in await self.catalog.all():
            async with self.db.read() as conn:
                counts = await report_store.project_counts(conn, project.id, since)
                contents = tally(await report_store.item_kinds(conn, project.id))
                left = await report_store.left_by_language(conn, project.id)
            money = await self.payroll.project_money(project)
            result.append(ProjectStats(project.spec.name, project.spec.kind, project.status,
                                       project.spec.currency, **asdict(counts),
                                       **asdict(money), contents=contents,
                                       left_by_language=left))
        return result


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


def _group(page: list[AnswerRow]) -> list[list[AnswerRow]]:
    groups: list[list[AnswerRow]] = []
    for row in page:
        if groups and groups[-1][0].item_pk == row.item_pk:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
