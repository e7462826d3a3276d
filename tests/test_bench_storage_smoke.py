"""``python -m bench.storage`` measures an answer on both backends, as the README says."""

from __future__ import annotations

import json

from tests import pg
from tests.bench_module import run_bench


def test_the_storage_benchmark_measures_both_backends(pg_server: pg.Server | None) -> None:
    if pg_server is None:
        pg.unavailable("it did not answer")
    out = run_bench("storage", "--answers", "20", "--rounds", "1", "--server",
                    pg.admin_url(), "--json", timeout=300)
    figures = json.loads(out)
    assert set(figures) == {"sqlite", "postgresql"}
    assert all(ms > 0 for ms in figures.values())
