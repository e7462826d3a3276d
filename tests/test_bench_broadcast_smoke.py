"""The broadcast benchmark still runs end to end: bot process, stand-in, SIGKILL, restart.

Only counts are checked, never a timing: speed lives in ``bench/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import broadcast as bench
from bot.services.broadcast_runner import MAX_IN_FLIGHT, senders

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the benchmark reads /proc")


async def test_killed_broadcast_resumes_without_doubles(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "FAULTS_AT", (0.25,))  # one 429 pause keeps it short
    workers = 400
    options = bench.Options(workers=workers, rate=400.0, crash_workers=workers,
                            term_workers=0, blocked_every=200, probe=False)
    seeds = bench.Seeds(tmp_path)
    run = await bench.run_broadcast("sigkill", await seeds.get(workers), workers,
                                    options.rate, options, tmp_path, "SIGKILL")

    assert run.blocked == 2
    assert run.duplicates == 0
    assert run.throttled_429 == bench.FAULT_TIMES
    assert run.refused_403 <= run.blocked
    assert sum(run.statuses.values()) == workers
    assert run.statuses.get("pending", 0) == run.statuses.get("sending", 0) == 0
    # what the killed process had in flight ends "unconfirmed", and nothing else does
    assert run.in_doubt_at_stop is not None
    assert run.statuses.get("unconfirmed", 0) == run.in_doubt_at_stop
    # every "sent" in the database is one message on a phone
    assert run.delivered == run.statuses.get("sent", 0) + run.unconfirmed_delivered
    # a worker left without the message is one of the claims in doubt, never another
    assert set(run.skipped_by_status) <= {"unconfirmed"}
    assert bench.skipped_outside_doubt(run) == 0
    # and a killed process leaves at most one recipient in doubt per sender
    assert run.in_doubt_at_stop <= senders(options.rate) == MAX_IN_FLIGHT

    result = bench.summarize(options, options.rate, seeds.seconds,
                             {"clean": run, "sigkill": run}, 1.0)
    table = bench.format_table(result)
    assert "messaged twice" in table
    assert "skipped, not in doubt" in table
    assert result["figures"]
