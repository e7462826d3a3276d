"""The import/export benchmark still runs end to end (inputs, child processes, table), as
``python -m bench.io``.

Only the shape of the result is checked, never a timing: speed lives in ``bench/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import io as bench
from tests.bench_module import run_bench

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the benchmark reads wait4's peak memory")


def test_the_import_phase_measures_every_size(tmp_path: Path) -> None:
    rows = json.loads(run_bench("io", "--sizes", "300,600", "--phase", "import", "--keep",
                                str(tmp_path), "--json"))
    assert [row["size"] for row in rows] == [300, 600]
    for row in rows:
        assert row["items"] == row["size"] and row["phase"] == "import"
        assert row["peak_rss_mb"] > 0 and row["cpu_seconds"] > 0
        assert row["stall_ms"] >= 0 and row["bytes_per_item"] >= 0
    lines = bench.table(rows).splitlines()
    assert lines[0].split()[:2] == ["phase", "items"] and len(lines) == 4
    assert (tmp_path / "items-600.jsonl").read_text().count("\n") == 600
