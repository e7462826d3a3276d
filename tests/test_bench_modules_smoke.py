"""Every benchmark runs as ``python -m bench.<name>`` from the repository root, as the
README says, and none reaches for ``sys.path`` to find the project.

The figures of each are smoke-tested in its own ``test_bench_*_smoke.py``; this one only
starts each in module form (``--help``: it imports everything the benchmark uses).
"""

from __future__ import annotations

import pytest

from tests.bench_module import ROOT, run_bench

BENCHMARKS = sorted(path.stem for path in (ROOT / "bench").glob("*.py")
                    if "\ndef main(" in path.read_text())


def test_the_benchmarks_are_found() -> None:
    assert {"aggregate", "bare_app", "broadcast", "export", "io", "languages",
            "loop"} <= set(BENCHMARKS)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_runs_as_a_module(name: str) -> None:
    assert "usage:" in run_bench(name, "--help", timeout=120)


def test_no_benchmark_patches_sys_path() -> None:
    patched = [path.name for path in sorted((ROOT / "bench").glob("*.py"))
               if "sys.path" in path.read_text()]
    assert not patched, f"bench/ modules that patch sys.path: {patched}"
