"""``tapwork db copy``: a bot's SQLite database into an empty PostgreSQL one, checked; and
``storage.url`` in the config, with one clear line for each URL it cannot use."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.config import Config, load_config, parse_config
from bot.domain.errors import ConfigError
from bot.wiring import Services
from tests import pg
from tests.conftest import add_project, add_worker, storage_config
from tests.state import (
    assignments,
    bucket_sums,
    items,
    ledger_entries,
    outbox_rows,
    table_count,
)

TABLES = ("workers", "projects", "items", "assignments", "units", "ledger", "outbox")


@pytest.fixture
def empty_pg(pg_server: pg.Server | None) -> str:
    if pg_server is None:
        pg.unavailable("it did not answer")
    assert pg_server is not None
    return pg_server.create_empty()


async def copy(config: Path, url: str) -> int:
    """``tapwork db copy`` as an operator runs it (in a thread: it runs its own loop)."""
    return await asyncio.to_thread(main, ["db", "copy", "-c", str(config), "--to", url])


async def _work(where: str, clock: FakeClock) -> None:
    """Two workers answer a project, a unit settles, a bonus: every money table used."""
    services = await Services.open(Config(storage=storage_config(where)), clock)
    try:
        await add_project(services, items=4, overlap=2, settle_unit=2, gold_rate=0.0,
                          auto_approve_hours=1)
        for worker in (1, 2):
            await add_worker(services, worker)
            task = (await services.work.start(worker, "reviews")).task
            while task is not None:
                clock.advance(seconds=10)
                result = await services.work.answer_choice(worker, task.assignment_id, 0)
                task = result.served.task if result.served else None
        clock.advance(hours=2)
        assert await services.payroll.settle_due() > 0
        await services.payroll.bonus(2, 1_230_000, "USD", "thanks", "b1")
    finally:
        await services.close()


async def test_a_copy_holds_every_row_and_every_sum_and_goes_on_working(
        tmp_path: Path, empty_pg: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "tapwork.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{db}"\n')
    clock = FakeClock()
    await _work(str(db), clock)

    assert await copy(config, empty_pg) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"ledger: {table_count(db, 'ledger')} rows" in out
    assert any(line.startswith("copied ") and "ledger balances (worker, currency, bucket)"
               " agree" in line for line in out), out

    for table in TABLES:
        assert table_count(empty_pg, table) == table_count(db, table) > 0, table
    assert ledger_entries(empty_pg) == ledger_entries(db)
    assert bucket_sums(empty_pg) == bucket_sums(db)
    assert assignments(empty_pg) == assignments(db)
    assert items(empty_pg) == items(db)
    assert outbox_rows(empty_pg) == outbox_rows(db)

    # the copy is a working database: new rows get ids after the copied ones
    before = len(ledger_entries(empty_pg))
    services = await Services.open(Config(storage=storage_config(empty_pg)), clock)
    try:
        await services.payroll.bonus(1, 10_000, "USD", "more", "b2")
        await add_project(services, items=2, name="second")
    finally:
        await services.close()
    assert len(ledger_entries(empty_pg)) == before + 1
    assert table_count(empty_pg, "items") == table_count(db, "items") + 2

    # a second copy into what is no longer empty is refused, in one line, changing nothing
    assert await copy(config, empty_pg) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tapwork: the PostgreSQL database ") and "is not empty" in err
    assert "\n" not in err
    assert len(ledger_entries(empty_pg)) == before + 1


async def test_copy_refuses_while_the_bot_runs_and_without_a_file(
        tmp_path: Path, empty_pg: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "missing.db"\n')
    assert await copy(config, empty_pg) == 2
    assert "there is no database at" in capsys.readouterr().err
    config.write_text('[storage]\npath = "tapwork.db"\n')
    assert await copy(config, "mysql://x@y/z") == 2
    assert "--to must be a postgresql:// URL" in capsys.readouterr().err
    await _work(str(tmp_path / "tapwork.db"), FakeClock())
    from bot.runlock import RunLock

    with RunLock(tmp_path / "tapwork.db"):
        assert await copy(config, empty_pg) == 2
    assert "another tapwork run is using" in capsys.readouterr().err
    # nothing was written: with the bot stopped, the same target takes the copy
    assert await copy(config, empty_pg) == 0


# -- storage.url ----------------------------------------------------------------------------


def test_storage_url_names_either_backend(tmp_path: Path) -> None:
    assert parse_config({}).storage.target == "tapwork.db"
    sqlite = parse_config({"storage": {"url": "sqlite:///data/bot.db"}}).storage
    assert (sqlite.path, sqlite.url, sqlite.postgres) == ("data/bot.db", "", False)
    pg_url = "postgresql://tapwork:pw@db.internal:5432/tapwork"
    postgres = parse_config({"storage": {"url": pg_url}}).storage
    assert (postgres.target, postgres.postgres) == (pg_url, True)
    file = tmp_path / "config.toml"
    file.write_text('[storage]\nurl = "sqlite:///bot.db"\n')
    assert load_config(file).storage.path == str(tmp_path / "bot.db")  # next to the config
    file.write_text(f'[storage]\nurl = "{pg_url}"\n')
    assert load_config(file).storage.target == pg_url  # a URL is left as it is


@pytest.mark.parametrize(("url", "line"), [
    ("mysql://u@h/db", "<c>: storage.url mysql://… is neither sqlite:///FILE nor "
                       "postgresql://USER:PASSWORD@HOST:5432/DATABASE"),
    ("tapwork.db", "<c>: storage.url tapwork.db is neither sqlite:///FILE nor "
                   "postgresql://USER:PASSWORD@HOST:5432/DATABASE"),
    ("sqlite://tapwork.db", "<c>: storage.url sqlite://tapwork.db: a SQLite URL has three "
                            "slashes then the file, as in sqlite:///tapwork.db"),
    ("sqlite:///", "<c>: storage.url sqlite:/// names no file (sqlite:///tapwork.db, or "
                   "sqlite:////var/lib/tapwork.db for an absolute path)"),
    ("postgresql://u@h:54x/db", "<c>: storage.url: the port after h: is not a number from "
                                "1 to 65535"),
    ("postgresql://u@h:5432", "<c>: storage.url names no database: add /DATABASE after the "
                              "host, as in postgresql://tapwork@localhost:5432/tapwork"),
])
def test_a_storage_url_it_cannot_use_is_one_clear_line(url: str, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"storage": {"url": url}}, "<c>")
    assert str(caught.value) == line


def test_url_and_path_together_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"storage\.url and storage\.path both name"):
        parse_config({"storage": {"url": "sqlite:///a.db", "path": "b.db"}})
