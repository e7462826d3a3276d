"""Shared fixtures: real SQLite files in tmp_path and real PostgreSQL databases
(``tests/pg.py``), a clock that moves only when told.

``storage_url`` runs a test once per backend: ``services``, ``bot`` and ``e2e_config``'s
callers that take it run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import aiohttp
import psycopg
import pytest
from hypothesis import settings
from telegram.ext import Application

from bot.app import running
from bot.clock import FakeClock
from bot.config import (
    Config,
    OperatorsConfig,
    PayoutsConfig,
    StorageConfig,
    TelegramConfig,
    WebConfig,
    WorkConfig,
)
from bot.domain.projects import parse_project
from bot.sim.standin import BotApiStandIn
from bot.wiring import Services
from storage import items as item_store
from tests import pg

os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22's opt-in; silences its warning

# CI explores the same examples every run (a red run must be reproducible); locally
# hypothesis keeps searching new ones
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
OPERATOR_ID = 777
SHARED_DATA = ROOT.parent / "shared" / "data" / "crowd"


class FixedRandom(random.Random):
    """``random()`` always returns ``value``: 0.0 forces a gold check, 0.99 never."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.Server | None]:
    """The session's PostgreSQL template (``tests/pg.py``); None when unreachable (each
    PostgreSQL test then fails or skips with one line)."""
    try:
        server = pg.Server(pg.admin_url())
    except psycopg.Error:
        yield None
        return
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the test's database is: a SQLite file in tmp_path, or a fresh PostgreSQL
    database (migrated, from the session's template)."""
    if request.param == "sqlite":
        yield str(tmp_path / "tapwork.db")
        return
    server: pg.Server | None = request.getfixturevalue("pg_server")
    if server is None:
        pg.unavailable("it did not answer")
        return
    url = server.create()
    try:
        yield url
    finally:
        server.drop(url)


@pytest.fixture
def pg_url(pg_server: pg.Server | None) -> Iterator[str]:
    if pg_server is None:
        pg.unavailable("it did not answer")
        return
    url = pg_server.create()
    try:
        yield url
    finally:
        pg_server.drop(url)


@pytest.fixture
async def pg_services(pg_url: str, clock: FakeClock) -> AsyncIterator[Services]:
    svc = await Services.open(Config(storage=StorageConfig(url=pg_url)), clock)
    try:
        yield svc
    finally:
        await svc.close()


def storage_config(where: str | Path) -> StorageConfig:
    """A SQLite file or a PostgreSQL URL as the config's storage section."""
    where = str(where)
    if where.startswith("postgresql://"):
        return StorageConfig(url=where)
    return StorageConfig(path=where)


@pytest.fixture
async def services(storage_url: str, clock: FakeClock) -> AsyncIterator[Services]:
    config = Config(storage=storage_config(storage_url))
    svc = await Services.open(config, clock)
    try:
        yield svc
    finally:
        await svc.close()


def sentiment_doc(name: str = "reviews", **extra: object) -> dict[str, object]:
    doc: dict[str, object] = {"name": name, "kind": "sentiment", "title": "Reviews",
                              "reward": "0.02", "currency": "USD"}
    doc.update(extra)
    return doc


async def add_project(services: Services, items: int = 5, **extra: object) -> int:
    """A sentiment project with ``items`` text items, written straight to storage."""
    spec = parse_project(sentiment_doc(**extra))
    project, _ = await services.catalog.save(spec)
    async with services.db.transaction() as conn:
        await item_store.insert_many(conn, project.id, [
            item_store.NewItem(f"it-{i}", f"text {i}", None, None, False, None, None)
            for i in range(items)], "2026-01-01T00:00:00.000000Z")
    return project.id


async def add_worker(services: Services, worker_id: int) -> None:
    await services.workers.seen(worker_id, f"W{worker_id}", "en")
    await services.workers.consent(worker_id)


# -- end to end: the real Application against the local Bot API stand-in ----------------


@dataclass
class Running:
    """A running bot: the stand-in it talks to, its Application and its services."""

    server: BotApiStandIn
    app: Application
    services: Services
    clock: FakeClock


def e2e_config(server: BotApiStandIn, db: Path | str, **work: float) -> Config:
    return Config(
        telegram=TelegramConfig(token=server.token, api_base_url=server.api_base_url,
                                file_base_url=server.file_base_url, max_rate=0,
                                max_retries=3),
        storage=storage_config(db),
        operators=OperatorsConfig(ids=(OPERATOR_ID,)),
        work=WorkConfig(lease_check_seconds=work.get("lease_check_seconds", 0.1),
                        settle_check_seconds=work.get("settle_check_seconds", 0.1)),
        payouts=PayoutsConfig(min_payout={"USD": 50_000}))


@pytest.fixture
async def server() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as stand_in:
        yield stand_in
    assert not stand_in.internal_errors


@pytest.fixture
async def bot(server: BotApiStandIn, storage_url: str, clock: FakeClock
              ) -> AsyncIterator[Running]:
    async with running(e2e_config(server, storage_url), clock,
                       poll_timeout=1) as (app, services):
        yield Running(server, app, services, clock)


#: the https address the drawn tests' bot gives its Mini App links (never fetched)
PUBLIC = "https://tapwork.example.org"


@pytest.fixture
async def drawn_bot(server: BotApiStandIn, tmp_path: Path, clock: FakeClock
                    ) -> AsyncIterator[Running]:
    """The bot with a public address, so boxes and points tasks open the Mini App."""
    config = replace(e2e_config(server, tmp_path / "tapwork.db"),
                     web=WebConfig(public_url=PUBLIC))
    async with running(config, clock, poll_timeout=1) as (app, services):
        yield Running(server, app, services, clock)


def polling_config(server: BotApiStandIn, directory: Path) -> Path:
    """A config.toml in ``directory`` for a polling ``tapwork run`` against the stand-in,
    its database ``directory/tapwork.db``."""
    config = directory / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{server.token}"\napi_base_url = "{server.api_base_url}"\n'
        f'file_base_url = "{server.file_base_url}"\nmax_rate = 0\n'
        '[storage]\npath = "tapwork.db"\n[work]\nlease_check_seconds = 1\n')
    return config


async def start_bot(config: Path, *extra: str, token: str = "", cwd: Path | None = None,
                    stdout: int | IO[Any] = asyncio.subprocess.DEVNULL,
                    stderr: int | IO[Any] = asyncio.subprocess.PIPE
                    ) -> asyncio.subprocess.Process:
    """``tapwork run -c config *extra`` in a process of its own, running this checkout's
    code. The token comes from the config unless ``token`` is given (it is then
    ``TAPWORK_TOKEN``); stderr is kept for a failing test to show unless ``stderr`` says
    where it goes."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "-c", str(config), *extra, cwd=cwd,
        stdout=stdout, stderr=stderr,
        env={**os.environ, "TAPWORK_TOKEN": token, "PYTHONPATH": str(ROOT)})


async def http_get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    """Status and body of a GET, or (0, "") while nothing answers there yet."""
    try:
        async with session.get(url) as response:
            return response.status, await response.text()
    except aiohttp.ClientError:
        return 0, ""


async def healthy(session: aiohttp.ClientSession, base: str) -> bool:
    """The bot at ``base`` answers its health check with 200."""
    return (await http_get(session, f"{base}/healthz"))[0] == 200


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    """SIGTERM a bot started in its own process, then SIGKILL if it has not gone in 15 s."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(why): the test is about SQLite itself (its files, PRAGMAs, "
                   "locks, SQL only it speaks): run it on the SQLite backend only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A ``sqlite_only`` test's PostgreSQL run is deselected (the reason is on the
    marker)."""
    keep, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("storage_url") == "postgresql"
        (dropped if on_pg and item.get_closest_marker("sqlite_only") else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
