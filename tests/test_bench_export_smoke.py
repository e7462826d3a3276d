"""The export benchmark still runs end to end (seeding, a process per export, figures), as
``python -m bench.export``.

Only the shape of the result is checked, never a timing: speed lives in ``bench/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import export
from tests.bench_module import run_bench

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the benchmark reads /proc")


def test_smallest_export_benchmark_measures_both_formats(tmp_path: Path) -> None:
    summary = json.loads(run_bench("export", "--sizes", "300,900", "--keep", str(tmp_path),
                                   "--json"))
    runs = {(r["items"], r["format"]): r for r in summary["results"]}
    assert set(runs) == {(300, "jsonl"), (300, "csv"), (900, "jsonl"), (900, "csv")}
    for (items, fmt), run in runs.items():
        assert run["rows"] == (items if fmt == "jsonl" else items * export.ANSWERS_PER_ITEM)
        assert run["peak_rss"] >= run["rss_before"] > 0 and run["bytes"] > 0
    assert set(summary["flatness"]) == {"jsonl", "csv"}
    assert "| 900 | csv |" in export.format_table(summary)
    assert export.seeded_count(tmp_path / "export-900.db") == 900  # kept for a rerun
