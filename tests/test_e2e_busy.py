"""Another program holding SQLite's write lock (a DB browser, a backup): the worker hears
"busy" in their language, nothing is half-written, and the same tap works afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

import storage.db
from bot.cli import main
from bot.config import load_config
from bot.domain.errors import DatabaseBusy
from bot.sim.crowd import join, task_id
from bot.wiring import Services
from storage.db import Database
from tests.conftest import Running, add_worker
from tests.state import answered_count, assignments, ledger_count
from tests.test_e2e_loop import load, sentiment_items
from tests.waiting import eventually

#: SQLite's own write lock, as another program holds it (tests/test_postgres.py has the
#: writer lock of PostgreSQL, held the same way)
pytestmark = pytest.mark.sqlite_only("SQLite's file lock, held by a plain sqlite3 connection")

#: the bot's whole wait for the lock in these tests (the default is 5 s)
WAIT = 0.3
BUSY = {"en": "The bot is busy, please try again in a moment.",
        "ko": "지금은 봇이 바빠요. 잠시 후에 다시 시도해 주세요.",
        "zh": "机器人正忙，请稍后再试。"}


def _shown(bot: Running, assignment: int | None) -> bool:
    return any(a.id == assignment and a.message_id is not None
               for a in assignments(bot.services.config.storage.path))


@pytest.mark.parametrize("language", ["en", "ko"])
async def test_a_tap_while_another_program_holds_the_lock_is_busy_then_counts_once(
        bot: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        language: str) -> None:
    await load(bot, tmp_path, sentiment_items(4), overlap=1)
    phone = bot.server.phone(300, "Min", language_code=language)
    task = await join(phone, "reviews")
    first = task_id(task)
    assert first is not None
    label = phone.buttons(task)[0][0]
    # the bot records where it showed the task just after showing it: let that finish
    assert await eventually(lambda: _shown(bot, first))
    monkeypatch.setattr(storage.db, "LOCK_WAIT", WAIT)

    # a plain sqlite3 connection, as a DB browser holds it: the write lock, kept
    blocker = sqlite3.connect(bot.services.config.storage.path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        before = (answered_count(blocker), ledger_count(blocker))
        tapped = await phone.tap(label, task)
        busy = await phone.wait_text(BUSY[language], timeout=10)
        assert (answered_count(blocker), ledger_count(blocker)) == before  # nothing half-written
        assert not [a for a in phone.alerts if "Saved" in a or "저장" in a]
        # one message about it, and the task is still the open one
        assert [m for m in phone.messages if phone.text(m) == BUSY[language]] == [busy]
    finally:
        blocker.execute("ROLLBACK")

    bot.server.replay(tapped)  # the same tap, once the lock is free
    # the next task is edited into the same message
    await phone.wait_for(lambda p: task_id(p.current(task)) not in (None, first), 10)
    answered = bot.server.count("answerCallbackQuery")
    bot.server.replay(tapped)  # and once more: it counts nothing more
    assert await eventually(lambda: bot.server.count("answerCallbackQuery") > answered)
    with contextlib.closing(sqlite3.connect(bot.services.config.storage.path)) as conn:
        assert answered_count(conn) == before[0] + 1
        assert [a.id for a in assignments(conn) if a.status == "answered"].count(first) == 1


async def test_a_transaction_waits_for_the_lock_within_its_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.db, "LOCK_WAIT", WAIT)
    path = tmp_path / "t.db"
    db = await Database.open(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseBusy) as refused:
            async with db.transaction() as conn:
                await conn.execute("CREATE TABLE never (x)")
        assert refused.value.tries > 1  # tried again before giving up
        async with db.read() as conn, conn.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone())[0] == db.schema_version  # reads go on (WAL)

        # a lock let go while the bot waits: the transaction goes through
        async def release() -> None:
            await asyncio.sleep(WAIT / 3)
            blocker.execute("ROLLBACK")

        releasing = asyncio.create_task(release())
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE later (x)")
        await releasing
        assert blocker.execute("SELECT count(*) FROM sqlite_master WHERE name IN"
                               " ('never', 'later')").fetchone()[0] == 1
    finally:
        blocker.close()
        await db.close()


def test_a_cli_command_on_a_locked_database_says_so_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')

    async def worker() -> None:
        services = await Services.open(load_config(config))
        try:
            await add_worker(services, 1)
        finally:
            await services.close()

    asyncio.run(worker())
    bonus = ["bonus", "-c", str(config), "1", "1.00", "--reason", "thanks", "--currency", "USD"]
    monkeypatch.setattr(storage.db, "LOCK_WAIT", WAIT)
    with contextlib.closing(sqlite3.connect(tmp_path / "tapwork.db",
                                            isolation_level=None)) as blocker:
        blocker.execute("BEGIN IMMEDIATE")
        capsys.readouterr()
        assert main(bonus) == 2
        err = capsys.readouterr().err
        assert ledger_count(blocker) == 0
        blocker.execute("ROLLBACK")
    assert err.splitlines() == [
        f"tapwork: the database is busy: another program held its write lock for over "
        f"{WAIT:g} s ({err.split('(')[1].split(' ')[0]} tries); nothing was changed, try "
        f"again in a moment"]
    assert main(bonus) == 0
