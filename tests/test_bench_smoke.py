"""The work-loop benchmark still runs end to end (bot processes, stand-in, figures), as
``python -m bench.loop``.

Only the shape of the result is checked, never a timing: speed lives in ``bench/``.
"""

from __future__ import annotations

import json
import sys

import pytest

from bench import loop
from tests.bench_module import run_bench

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the benchmark reads /proc")

KEYS = {
    "answers", "answers_per_second", "bare_answers_per_second", "throughput_ratio",
    "latency_p50_ms", "latency_p99_ms", "api_calls_per_answer", "cpu_ms_per_answer_small",
    "cpu_ms_per_answer", "cost_ratio", "peak_rss_mb", "figures", "targets_met", "phases",
    "seed_seconds",
}


def test_smallest_benchmark_runs_every_phase() -> None:
    # two rounds: each phase's rounds are pooled, and round two starts from a fresh copy
    result = json.loads(run_bench("loop", "--workers", "3", "--items", "2000",
                                  "--small-items", "200", "--seconds", "1", "--warmup", "0.5",
                                  "--rounds", "2", "--json"))
    assert set(result) >= KEYS
    # aiohttp (the default) and, interleaved, the same two bots on httpx
    assert set(result["phases"]) == {"bare", "bare_httpx", "tapwork_small", "tapwork",
                                     "tapwork_httpx"}
    for name, phase in result["phases"].items():
        assert phase["answers"] > 0, name
        assert phase["api_calls_per_answer"] is not None, name
        assert phase["stalled"] == 0, name
    assert result["answers"] > 0
    assert len(result["round_ratios"]) == 2
    assert len(result["vs_bare_httpx_rounds"]) == 2 and result["vs_bare_httpx"] is not None
    assert result["client_cpu_ratio"] is not None
    assert result["phases"]["tapwork"]["ran_out"] == 0  # round two did not find items used up
    assert all(set(f) >= {"figure", "value", "target", "pass"} for f in result["figures"])
    assert "PASS" in loop.format_table(result) or "FAIL" in loop.format_table(result)
