"""On PostgreSQL too, the statements the running bot repeats find their rows by index.

The same busy stretch as tests/test_query_plans.py (answers, skips, lease expiry,
settlement, the outbox, an import, offers and broadcasts) is recorded, statement text
and parameters, and each is EXPLAINed with ``enable_seqscan = off``.

Why that setting rather than filling the tables: on a test-sized database the planner
rightly reads a few pages whole, so a plain EXPLAIN would show Seq Scans everywhere and
prove nothing; filling enough rows to tip it (and ANALYZE) costs seconds per test and
depends on statistics. With sequential scans priced out, a Seq Scan that remains is one
the planner had no index for: exactly the bug this test is about (a statement that would
read a whole growing table). The export's one statement is checked the same way, and
that it never sorts the whole project (an Incremental Sort over the index order sorts
one item's answers at a time).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.clock import FakeClock
from bot.wiring import Services
from storage import pgside
from storage import reports as report_store
from storage.dialect import placeholders
from storage.postgres import PgConnection
from tests.conftest import add_project, add_worker
from tests.test_query_plans import DUE_INDEXES, GROWING


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(conn: psycopg.Connection[Any], sql: str, params: Any) -> list[dict[str, Any]]:
    text, has_params = placeholders(sql)
    cur = conn.execute(f"EXPLAIN (FORMAT JSON) {text if has_params else sql}",
                       params if has_params else None)
    row = cur.fetchone()
    assert row is not None
    found = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return list(_nodes(found[0]["Plan"]))


def _scans(nodes: list[dict[str, Any]]) -> list[str]:
    return [f"{n['Node Type']} on {n.get('Relation Name')}" for n in nodes
            if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in GROWING
            and n.get("Index Name") not in DUE_INDEXES]


async def test_the_work_loop_and_its_jobs_never_scan_a_growing_table(
        pg_services: Services, pg_url: str, clock: FakeClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    services = pg_services
    recorded: dict[str, Any] = {}
    execute = PgConnection.execute

    def record(self: PgConnection, sql: str, parameters: Any = ()) -> Any:
        recorded.setdefault(sql, parameters)
        return execute(self, sql, parameters)

    monkeypatch.setattr(PgConnection, "execute", record)
    await add_project(services, items=6, overlap=2, settle_unit=2, auto_approve_hours=1)
    file = tmp_path / "more.jsonl"
    file.write_text("".join(f'{{"id": "m{i}", "text": "fine {i}"}}\n' for i in range(5)))
    assert (await services.catalog.import_file("reviews", file)).ok
    for worker in (1, 2, 3):
        await add_worker(services, worker)
    for worker in (1, 2, 3):
        served = await services.work.start(worker, "reviews")
        while served.task is not None:
            result = await services.work.answer_choice(worker, served.task.assignment_id, 0)
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
    await services.payroll.wallet(1)
    await services.work.offers(1, 10_001)
    await services.broadcasts.notify_events()
    await services.broadcasts.start("reviews")
    monkeypatch.undo()

    scans, serving = [], []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        for sql, params in recorded.items():
            if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE",
                                                    "WITH")):
                continue
            nodes = _plan(conn, sql, params)
            scans += [f"{s}: {' '.join(sql.split())[:140]}" for s in _scans(nodes)]
            if "i.need = " in sql and "ORDER BY i.id" in sql:
                serving.append({n.get("Index Name") for n in nodes})
    assert len(recorded) > 30  # the stretch really ran
    assert scans == []
    assert serving and all("items_to_serve" in used for used in serving), serving
    assert any("WITH RECURSIVE" in sql for sql in recorded)  # the languages, recomputed


async def test_an_export_reads_the_project_in_index_order_without_sorting_it(
        pg_services: Services, pg_url: str) -> None:
    services = pg_services
    await add_project(services, items=12, overlap=1)
    await add_worker(services, 1)
    served = await services.work.start(1, "reviews")
    assert served.task is not None
    await services.work.answer_choice(1, served.task.assignment_id, 0)
    assert await services.reports.export("reviews", io.StringIO(), "jsonl") == 12
    conn = pgside.connect(pg_url, read_only=True)
    try:
        conn.raw.execute("SET enable_seqscan = off")
        nodes = _plan(conn.raw, report_store.EXPORT_ALL, (1,))
    finally:
        conn.close()
    assert _scans(nodes) == []
    assert "Sort" not in [n["Node Type"] for n in nodes], nodes
    assert "items_in_order" in {n.get("Index Name") for n in nodes}, nodes
