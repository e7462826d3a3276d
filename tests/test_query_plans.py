"""The statements the running bot repeats must find their rows through an index.

A full scan is invisible on a test database and costs seconds on a real one (settling a
unit once read the whole ledger), so this records every statement of a busy stretch (answers,
skips, lease expiry, settlement, the outbox) and asks SQLite how it would run each one
against a migrated database.
"""

from __future__ import annotations

import io
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.services import reports
from bot.services.pacing import SharedBucket
from bot.services.updates import Claim
from bot.wiring import Services
from tests.conftest import add_project, add_worker

#: tables that grow with the work; a scan of one of them is a bug
GROWING = ("items", "assignments", "ledger", "units", "outbox", "broadcast_targets",
           "update_claims")
#: scans that are meant: a partial index holding only the rows due now (or, for the
#: outbox, the notices not yet finished)
DUE_INDEXES = ("units_waiting", "outbox_due")


def trace(services: Services, monkeypatch: pytest.MonkeyPatch
          ) -> tuple[set[str], sqlite3.Connection]:
    """Record every statement the bot runs: on its own connection (returned, to stop the
    trace) and on the connections the report threads open (a notice's audience, exports),
    which are the bot's statements too."""
    statements: set[str] = set()
    raw: sqlite3.Connection = services.db._conn._connection  # type: ignore[attr-defined]
    open_reader = services.db.open_reader

    def traced_reader() -> sqlite3.Connection:
        conn = open_reader()
        conn.set_trace_callback(statements.add)
        return conn

    monkeypatch.setattr(services.db, "open_reader", traced_reader)
    raw.set_trace_callback(statements.add)
    return statements, raw


@pytest.mark.sqlite_only("SQLite's EXPLAIN QUERY PLAN (tests/test_query_plans_pg.py)")
async def test_the_work_loop_and_its_jobs_never_scan_a_growing_table(
        services: Services, clock: FakeClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await add_project(services, items=6, overlap=2, settle_unit=2, auto_approve_hours=1)
    for worker in (1, 2, 3):
        await add_worker(services, worker)
    statements, raw = trace(services, monkeypatch)
    try:
        for worker in (1, 2, 3):
            served = await services.work.start(worker, "reviews")
            while served.task is not None:
                result = await services.work.answer_choice(worker,
                                                           served.task.assignment_id, 0)
                assert result.served is not None
                served = result.served
        task = (await services.work.start(1, "reviews")).task
        if task is not None:
            await services.work.skip(1, task.assignment_id)
        clock.advance(hours=2)
        await services.work.expire_leases()
        assert await services.payroll.settle_due() > 0
        for notice in await services.notices.due():
            claim = await services.notices.claim(notice)
            assert claim is not None
            await services.notices.sent(notice, claim)
        await services.notices.settle_in_flight()
        await services.workers.get(1)
        await services.payroll.wallet(1)
        # what decides who is offered what: /tasks, notices, broadcasts
        await services.work.offers(1, 10_001)
        await services.broadcasts.notify_events()
        await services.broadcasts.start("reviews")
        # webhook replicas: update claims, the shared rate, the in-doubt sweep, /metrics
        claim = await services.updates.claim(10_001)
        assert isinstance(claim, Claim)
        await services.updates.claim(10_001)
        await services.updates.finish(claim)
        await services.updates.prune()
        await SharedBucket(services.db, "telegram", 30).take()
        await services.notices.settle_in_flight(timedelta(minutes=15))
        await services.broadcasts.resumable(timedelta(minutes=15))
        await services.health.depths()
    finally:
        raw.set_trace_callback(None)
    scans, sorts = [], []
    for statement in statements:
        if not re.match(r"\s*(SELECT|UPDATE|INSERT|DELETE|WITH)", statement, re.I):
            continue
        for _id, _parent, _unused, detail in raw.execute("EXPLAIN QUERY PLAN " + statement):
            if detail.startswith("USE TEMP B-TREE") and re.search(r"FROM items\b", statement):
                sorts.append(f"{detail}: {' '.join(statement.split())[:140]}")
            match = re.match(r"SCAN (\w+)(?: AS \w+)?(?: USING (?:COVERING )?INDEX (\w+))?",
                             detail)
            if match is None:
                continue
            table, index = match.groups()
            if table in GROWING and index not in DUE_INDEXES:
                scans.append(f"{detail}: {' '.join(statement.split())[:140]}")
    assert len(statements) > 30  # the stretch really ran
    assert scans == []
    assert sorts == []  # the next item is the first entry of an index range, never sorted
    # serving asks one need bucket at a time (issue 13), straight from the serving index
    serving = [s for s in statements if "i.need = " in s and "ORDER BY i.id" in s]
    assert serving
    for statement in serving:
        plan = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement)]
        assert any(step.startswith("SEARCH i USING INDEX items_to_serve (project_id=? AND"
                                   " lang=? AND state=? AND need=?)") for step in plan), plan


@pytest.mark.sqlite_only("SQLite's EXPLAIN QUERY PLAN (tests/test_query_plans_pg.py)")
async def test_export_pages_walk_an_index_in_id_order_without_sorting_the_project(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """At a million items a page that sorts the project costs 0.6 s: 500 pages, 5 minutes.

    Every statement an export runs (on the main connection or its own) is traced; each
    that pages through items must range over an index on (project, id) and leave at most
    the page's own answers to sort.
    """
    await add_project(services, items=12, overlap=1)
    await add_worker(services, 1)
    served = await services.work.start(1, "reviews")
    assert served.task is not None
    await services.work.answer_choice(1, served.task.assignment_id, 0)
    statements, raw = trace(services, monkeypatch)
    monkeypatch.setattr(reports, "EXPORT_PAGE", 5)
    try:
        for fmt in ("jsonl", "csv"):
            await services.reports.export("reviews", io.StringIO(), fmt)
    finally:
        raw.set_trace_callback(None)
    paging = [s for s in statements if re.search(r"FROM items\b", s)
              and re.search(r"\bid > \d+", s)]
    assert len(paging) >= 3  # a page for each 5 items, and the empty one after them
    for statement in paging:
        plan = list(raw.execute("EXPLAIN QUERY PLAN " + statement))
        item_steps = [(node, parent, detail) for node, parent, _, detail in plan
                      if re.match(r"(SEARCH|SCAN) items\b", detail)]
        assert [d for _, _, d in item_steps] == [
            "SEARCH items USING INDEX items_in_order (project_id=? AND id>?)"], statement
        page = item_steps[0][1]  # the co-routine that builds the page
        assert not [d for node, parent, _, d in plan
                    if parent == page and d.startswith("USE TEMP B-TREE")], statement
