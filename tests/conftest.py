"""Shared fixtures: real SQLite files in tmp_path, a clock that moves only when told."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Config, StorageConfig
from bot.projects import parse_project
from bot.services import Services
from storage import items as item_store

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data" / "crowd"


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
