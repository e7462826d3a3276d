"""``python -m bench.replicas --quick --json`` runs end to end (SQLite polling, then 1 and 2
webhook replicas on PostgreSQL) and reports every figure per phase: shapes only, never
timings."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests import pg
from tests.bench_module import run_bench


def test_replicas_benchmark_reports_every_phase() -> None:
    try:
        psycopg.connect(pg.admin_url(), connect_timeout=5).close()
    except psycopg.Error:
        pg.unavailable("it did not answer")
        pytest.skip("unreachable")
    result = json.loads(run_bench("replicas", "--quick", "--replicas", "1,2", "--json",
                                  timeout=300))
    phases = {p["phase"]: p for p in result["phases"]}
    assert list(phases) == ["sqlite", "pg1", "pg2"]
    assert [phases[n]["processes"] for n in phases] == [1, 1, 2]
    for name, p in phases.items():
        assert p["answers"] > 0, name
        assert p["bot_cpu_ms_per_answer"] > 0 and p["answer_tx_ms"] is not None, name
    assert phases["sqlite"]["postgres_cpu_ms_per_answer"] is None
    assert phases["sqlite"]["throughput_vs_sqlite"] == 1
    for name in ("pg1", "pg2"):
        assert phases[name]["db_active_ms_per_answer"] is not None, name
        assert phases[name]["postgres_answers_per_core_second"] is not None, name
    assert "active_time" in result["database_time"]
