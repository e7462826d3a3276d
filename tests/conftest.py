"""Shared fixtures: real SQLite files in tmp_path, a clock that moves only when told."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

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
    WorkConfig,
)
from bot.domain.projects import parse_project
from bot.sim.standin import BotApiStandIn
from bot.wiring import Services
from storage import items as item_store

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


@pytest.fixture
async def services(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    config = Config(storage=StorageConfig(path=str(tmp_path / "tapwork.db")))
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


def e2e_config(server: BotApiStandIn, db: Path, **work: float) -> Config:
    return Config(
        telegram=TelegramConfig(token=server.token, api_base_url=server.api_base_url,
                                file_base_url=server.file_base_url, max_rate=0,
                                max_retries=3),
        storage=StorageConfig(path=str(db)),
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
async def bot(server: BotApiStandIn, tmp_path: Path, clock: FakeClock
              ) -> AsyncIterator[Running]:
    async with running(e2e_config(server, tmp_path / "tapwork.db"), clock,
                       poll_timeout=1) as (app, services):
        yield Running(server, app, services, clock)


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    """SIGTERM a bot started in its own process, then SIGKILL if it has not gone in 15 s."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
