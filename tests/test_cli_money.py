"""The operator's money commands: bonus, payouts, ledger, stats with money."""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.config import load_config
from bot.wiring import Services
from tests.conftest import add_project, add_worker


@pytest.fixture
def config(tmp_path: Path) -> Path:
    file = tmp_path / "config.toml"
    file.write_text('[storage]\npath = "tapwork.db"\n'
                    '[payouts]\nmin_payout = { USD = "0.01" }\n')
    return file


async def _earn(config: Path, answers: int, min_hourly: str | None = None) -> None:
    """Worker 1 answers ``answers`` tasks (10 s each) of a project and a unit settles."""
    clock = FakeClock()
    services = await Services.open(load_config(config), clock)
    try:
        extra = {"min_hourly": min_hourly} if min_hourly else {}
        await add_project(services, items=answers, overlap=1, settle_unit=answers,
                          gold_rate=0.0, **extra)
        await add_worker(services, 1)
        task = (await services.work.start(1, "reviews")).task
        while task is not None:
            clock.advance(seconds=10)
            result = await services.work.answer_choice(1, task.assignment_id, 0)
            task = result.served.task if result.served else None
        assert await services.payroll.settle_due() == 1
    finally:
        await services.close()


def test_bonus_day_is_the_clocks_day(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default key holds the day: the same command pays once a day, by the clock every
    service reads (a fixed one here, far from today), not the wall clock."""
    asyncio.run(_earn(config, 1))
    clock = FakeClock(datetime(2020, 2, 29, 23, 0, tzinfo=UTC))
    args = ["bonus", "-c", str(config), "1", "0.10", "--reason", "thanks", "--currency", "USD"]
    assert main(args, clock=clock) == 0
    assert "recorded" in capsys.readouterr().out
    assert main(args, clock=clock) == 0
    assert "already recorded" in capsys.readouterr().out
    clock.advance(hours=2)  # 1 March on the clock; the wall clock has not moved a day
    assert main(args, clock=clock) == 0
    out = capsys.readouterr().out
    assert "recorded" in out and "already" not in out
    assert main(["ledger", "-c", str(config), "--json"], clock=clock) == 0
    balances = json.loads(capsys.readouterr().out)["1"][0]
    assert balances["available"] == 20_000 + 2 * 100_000


def test_bonus_is_idempotent_and_ledger_shows_it(config: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_earn(config, 5))
    args = ["bonus", "-c", str(config), "1", "0.25", "--reason", "great work", "--key", "k1"]
    assert main(args) == 0
    assert "recorded" in capsys.readouterr().out
    assert main(args) == 0
    assert "already recorded" in capsys.readouterr().out
    assert main(["ledger", "-c", str(config), "--json"]) == 0
    balances = json.loads(capsys.readouterr().out)["1"][0]
    assert balances["available"] == 5 * 20_000 + 250_000 and balances["pending"] == 0
    assert main(["bonus", "-c", str(config), "1", "0.1234567", "--reason", "x"]) == 2
    assert "more than 6 decimals" in capsys.readouterr().err
    assert main(["bonus", "-c", str(config), "99", "1", "--reason", "x"]) == 2
    assert "no worker with id 99" in capsys.readouterr().err


def test_payouts_list_export_approve_reject(config: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_earn(config, 5))

    async def request() -> int:
        services = await Services.open(load_config(config))
        try:
            [made] = await services.payroll.request_payout(1, "tap-1")
            assert made.payout is not None
            return made.payout.id
        finally:
            await services.close()

    first = asyncio.run(request())
    assert main(["payouts", "-c", str(config), "list"]) == 0
    assert f"#{first}  worker 1  0.100000 USD  requested" in capsys.readouterr().out
    out = tmp_path / "batch.csv"
    assert main(["payouts", "-c", str(config), "export", "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert rows == [{"payout_id": str(first), "worker_id": "1", "currency": "USD",
                     "amount": "0.100000", "status": "requested",
                     "requested_at": rows[0]["requested_at"], "decided_at": "",
                     "reason": ""}]
    assert main(["payouts", "-c", str(config), "reject", str(first)]) == 2
    assert "needs a reason" in capsys.readouterr().err
    assert main(["payouts", "-c", str(config), "reject", str(first), "--reason",
                 "wrong account"]) == 0
    assert main(["payouts", "-c", str(config), "approve", str(first)]) == 2
    assert "already rejected" in capsys.readouterr().err
    assert main(["ledger", "-c", str(config), "--worker", "1"]) == 0
    assert "available 0.100000" in capsys.readouterr().out  # the money came back


def test_stats_warns_below_min_hourly(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_earn(config, 6, min_hourly="12.00"))  # $0.02 per 10 s = $7.20 an hour
    assert main(["stats", "-c", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "$7.20" in out and err.startswith("warning: reviews")  # the table stays clean
    assert main(["stats", "-c", str(config), "--json"]) == 0
    [stats] = json.loads(capsys.readouterr().out)
    assert stats["median_hourly"] == 7_200_000 and stats["below_min_hourly"] is True
    assert stats["spent"] == 120_000 and stats["per_answer"] == 20_000
