"""Money arithmetic cannot overflow (issue 11): amounts are bounded when they are entered,
and a database written before the bounds (a stored project with a huge reward, entries
whose total passes 2**63 - 1) still shows every balance and keeps paying the others."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from bot.app import running
from bot.cli import main
from bot.clock import FakeClock
from bot.config import load_config
from bot.domain.errors import TapworkError
from bot.domain.limits import INT64_MAX, MAX_AMOUNT, MAX_BALANCE
from bot.domain.money import MICROS
from bot.domain.records import LedgerEntry
from bot.sim.crowd import answer_tasks, join
from bot.sim.standin import BotApiStandIn
from bot.wiring import Services
from storage import ledger as ledger_store
from storage.dialect import SQLITE
from storage.schema import MIGRATIONS, script
from tests.conftest import add_project, add_worker, e2e_config, sentiment_doc
from tests.state import add_waiting_unit, project_specs_valid

NOW = "2026-01-05T09:00:00.000000Z"  # FakeClock's start
#: two amounts that each fit in a 64-bit integer and whose sum does not
HUGE = 2**62 + 2**61


async def seed(services: Services, *entries: LedgerEntry) -> None:
    """Entries as a database written before the bounds may hold them."""
    async with services.db.transaction() as conn:
        for entry in entries:
            assert await ledger_store.append(conn, [entry], NOW)


def bonus(worker: int, amount: int, key: str) -> LedgerEntry:
    return LedgerEntry(worker, "USD", "bonus", "available", amount, f"bonus:{key}",
                 reason="operator")


# -- bounded at entry ----------------------------------------------------------------------


async def test_a_bonus_is_at_most_one_million_major_units(services: Services) -> None:
    await add_worker(services, 1)
    with pytest.raises(TapworkError, match="at most 1000000 USD"):
        await services.payroll.bonus(1, MAX_AMOUNT + 1, "USD", "too much", "k1")
    with pytest.raises(TapworkError, match="at most 1000000 USD"):
        await services.payroll.bonus(1, HUGE, "USD", "far too much", "k2")
    assert await services.payroll.bonus(1, MAX_AMOUNT, "USD", "the most", "k3")
    assert (await services.payroll.balances(1))[1][0].available == MAX_AMOUNT


async def test_two_bonuses_that_each_fit_but_not_together_refuse_the_second(
        services: Services) -> None:
    await add_worker(services, 1)
    await seed(services, bonus(1, MAX_BALANCE - MAX_AMOUNT, "earlier"))
    each = MAX_AMOUNT * 3 // 4
    assert await services.payroll.bonus(1, each, "USD", "first", "a")
    with pytest.raises(TapworkError, match="more than 1000000000 USD"):
        await services.payroll.bonus(1, each, "USD", "second", "b")
    held = MAX_BALANCE - MAX_AMOUNT + each
    assert (await services.payroll.balances(1))[1][0].available == held
    # another currency is another balance
    assert await services.payroll.bonus(1, each, "EUR", "second", "b-eur")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    file = tmp_path / "config.toml"
    file.write_text('[storage]\npath = "tapwork.db"\n')
    return file


def test_cli_bonus_beyond_the_bounds_is_one_line_and_ledger_still_works(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def prepare() -> None:
        services = await Services.open(load_config(config))
        try:
            await add_worker(services, 1)
            await seed(services, bonus(1, MAX_BALANCE - MAX_AMOUNT, "earlier"))
        finally:
            await services.close()

    asyncio.run(prepare())
    # each fits a 64-bit integer of micros; their sum would not
    assert main(["bonus", "-c", str(config), "1", str(HUGE // MICROS), "--reason", "x",
                 "--currency", "USD"]) == 2
    err = capsys.readouterr().err
    assert err == "tapwork: a bonus must be at most 1000000 USD\n"
    args = ["bonus", "-c", str(config), "1", "750000", "--reason", "x", "--currency", "USD"]
    assert main([*args, "--key", "one"]) == 0
    capsys.readouterr()
    assert main([*args, "--key", "two"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "would then hold more than 1000000000 USD" in err
    assert main(["ledger", "-c", str(config), "--json"]) == 0
    [balance] = json.loads(capsys.readouterr().out)["1"]
    assert balance["available"] == MAX_BALANCE - MAX_AMOUNT + 750_000 * MICROS


# -- a database from before the bounds ---------------------------------------------------


async def legacy(config: Path) -> None:
    """Worker 1 holds two bonuses of ``HUGE`` (their sum passes 2**63 - 1) and has earned
    in a project; worker 2 holds an ordinary amount."""
    services = await Services.open(load_config(config), FakeClock())
    try:
        project_id = await add_project(services, items=2, overlap=1, gold_rate=0.0)
        for worker in (1, 2):
            await add_worker(services, worker)
        await seed(services, bonus(1, HUGE, "old-1"), bonus(1, HUGE, "old-2"),
                   LedgerEntry(1, "USD", "earning", "pending", HUGE, "earn:old", project_id),
                   LedgerEntry(1, "USD", "earning", "pending", HUGE, "earn:old-2", project_id),
                   bonus(2, 5 * MICROS, "fine"))
    finally:
        await services.close()


def test_sums_past_64_bits_show_exactly_in_ledger_and_stats(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(legacy(config))
    assert main(["ledger", "-c", str(config), "--json"]) == 0
    balances = json.loads(capsys.readouterr().out)
    assert balances["1"][0]["available"] == 2 * HUGE > INT64_MAX
    assert balances["1"][0]["pending"] == 2 * HUGE
    assert balances["2"][0]["available"] == 5 * MICROS
    assert main(["ledger", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"available {2 * HUGE // MICROS}.{2 * HUGE % MICROS:06d}" in out
    assert main(["stats", "-c", str(config)]) == 0
    assert "reviews" in capsys.readouterr().out
    assert main(["stats", "-c", str(config), "--json"]) == 0
    [stats] = json.loads(capsys.readouterr().out)
    assert stats["committed"] == 2 * HUGE


async def test_wallet_top_and_payout_survive_sums_past_64_bits(services: Services) -> None:
    project_id = await add_project(services, items=2)
    await add_worker(services, 1)
    await seed(services, bonus(1, HUGE, "old-1"), bonus(1, HUGE, "old-2"),
               LedgerEntry(1, "USD", "earning", "pending", HUGE, "earn:1", project_id),
               LedgerEntry(1, "USD", "earning", "pending", HUGE, "earn:2", project_id))
    wallet = await services.payroll.wallet(1)
    assert wallet.balances[0].available == 2 * HUGE
    assert wallet.earned_today["USD"] == 4 * HUGE
    project = await services.catalog.get("reviews")
    since = services.clock.now().replace(year=2000)
    assert await services.payroll.top(project, since) == [(1, None, 2 * HUGE)]
    money = await services.payroll.project_money(project)
    assert money.committed == 2 * HUGE
    # one request reserves what a worker may hold; the rest waits for the next
    [request] = await services.payroll.request_payout(1, "tap-1")
    assert request.payout is not None and request.payout.amount == MAX_BALANCE
    after = (await services.payroll.balances(1))[1][0]
    assert (after.available, after.reserved) == (2 * HUGE - MAX_BALANCE, MAX_BALANCE)


async def test_a_unit_too_big_to_release_waits_and_the_others_are_paid(
        services: Services) -> None:
    project_id = await add_project(services, items=4, overlap=1, gold_rate=0.0,
                                   settle_unit=2, auto_approve_hours=1)
    for worker in (1, 2):
        await add_worker(services, worker)
    # worker 1's unit holds two answers stored at an old, huge reward
    add_waiting_unit(services.db, 1, 1, project_id, 2, NOW)
    async with services.db.transaction() as conn:
        for n in (1, 2):
            await ledger_store.append(conn, [LedgerEntry(1, "USD", "earning", "pending", HUGE,
                                                   f"earn:old-{n}", project_id, 1)], NOW)
    # worker 2 works at today's reward
    task = (await services.work.start(2, "reviews")).task
    for _ in range(2):
        assert task is not None
        result = await services.work.answer_choice(2, task.assignment_id, 0)
        task = result.served.task if result.served else None
    services.clock.advance(hours=2)
    assert await services.payroll.settle_due() == 1
    two = (await services.payroll.balances(2))[2][0]
    assert (two.pending, two.available) == (0, 40_000)
    one = (await services.payroll.balances(1))[1][0]
    assert one.pending == 2 * HUGE and one.available == 0


# -- a project stored with values no project may have any more ---------------------------


OLD_PROJECT = sentiment_doc(reward="9223372036854", auto_approve_hours=float("inf"),
                            min_seconds=float("nan"), title="T" * 10_000, overlap=1,
                            gold_rate=0.0, settle_unit=2,
                            skill_bonus={"min_accuracy": 0.0, "percent": 1000})


async def old_database(path: Path) -> None:
    """A database as the version before these limits left it: the first 8 migrations
    only, the project stored as it was accepted then (NaN and Infinity included). Later
    migrations then run on it as they would on a real upgrade."""
    with sqlite3.connect(path) as conn:
        for number, entry in enumerate(MIGRATIONS[:8], start=1):
            conn.executescript(script(entry, SQLITE))
            conn.execute(f"PRAGMA user_version = {number}")
        project = conn.execute(
            "INSERT INTO projects (name, kind, spec, created_at, updated_at)"
            " VALUES ('reviews', 'sentiment', ?, ?, ?) RETURNING id",
            (json.dumps(OLD_PROJECT, sort_keys=True), NOW, NOW)).fetchone()[0]
        conn.executemany("INSERT INTO items (project_id, ext_id, text, created_at)"
                         " VALUES (?, ?, ?, ?)",
                         [(project, f"it-{i}", f"text {i}", NOW) for i in range(4)])
    conn.close()


async def test_old_project_with_huge_reward_and_endless_hours_keeps_working(
        server: BotApiStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tapwork.db"
    await old_database(path)
    async with running(e2e_config(server, path), FakeClock(), poll_timeout=1) as (_, services):
        phone = server.phone(500, "Ana")
        await join(phone, "reviews")
        assert await answer_tasks(phone, lambda text, buttons: buttons[0], limit=3) == 3
        balance = (await services.payroll.balances(500))[500][0]
        # the reward is brought into range: 1,000,000 a task, not 9,223,372,036,854
        assert balance.pending + balance.available == 3 * MAX_AMOUNT
        # and two bonuses of the old days, whose sum no 64-bit integer holds
        await seed(services, bonus(500, HUGE, "old-1"), bonus(500, HUGE, "old-2"))
        await phone.send("/wallet")
        wallet = phone.text(await phone.wait_text("Your wallet")) or ""
        assert f"{2 * HUGE // MICROS:,}" in wallet, wallet
        assert "went wrong" not in phone.transcript(50)
    assert "brought into range" in caplog.text
    assert project_specs_valid(path) == [True]
