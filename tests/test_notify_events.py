"""Automatic notices ("a project opened", "new items") for a crowd: whom to tell is read on
a report thread while the event loop keeps serving, the notices are written in batches,
and a stop part way tells the rest on the next run and nobody twice."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest

from bot.services import broadcast
from bot.wiring import Services
from storage import broadcasts as broadcast_store
from storage import outbox
from storage.connection import Connection
from tests.conftest import add_project, add_worker
from tests.state import outbox_rows

#: how long the report thread waits for the event loop to show it is free: a guard
#: against a hang, not a measure of speed (the loop answers within milliseconds)
GUARD_SECONDS = 10


async def _crowd(services: Services, workers: int) -> None:
    await add_project(services, items=3)  # its "opened" event waits for notify_events
    for worker in range(1, workers + 1):
        await add_worker(services, worker)


async def test_the_audience_is_read_while_the_event_loop_serves_others(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audience query waits, mid-read, until a task on the event loop has run: read
    inline on the loop it would wait for ever (here: fail after the guard)."""
    await _crowd(services, 3)
    reading, served = threading.Event(), threading.Event()
    real = broadcast_store.audience

    async def audience(conn: Connection, reach: broadcast_store.Reach) -> list[int]:
        reading.set()
        assert served.wait(GUARD_SECONDS), "the event loop was held while the audience " \
                                           "was read"
        return await real(conn, reach)

    async def meanwhile() -> None:
        """Another worker's turn on the event loop, while the audience is being read."""
        assert await asyncio.to_thread(reading.wait, GUARD_SECONDS)
        served.set()

    monkeypatch.setattr(broadcast_store, "audience", audience)
    other = asyncio.create_task(meanwhile())
    assert await services.broadcasts.notify_events() == 3
    await other
    assert sorted(n.worker_id for n in outbox_rows(services.db)) == [1, 2, 3]


async def test_a_stop_part_way_tells_the_rest_and_nobody_twice(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    await _crowd(services, 5)
    monkeypatch.setattr(broadcast, "NOTIFY_BATCH", 2)
    real = outbox.put_many
    batches = 0

    async def put_many(*args: object, **kwargs: object) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise RuntimeError("stopped part way")
        await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "put_many", put_many)
    with pytest.raises(RuntimeError):
        await services.broadcasts.notify_events()
    assert sorted(n.worker_id for n in outbox_rows(services.db)) == [1, 2]
    monkeypatch.setattr(outbox, "put_many", real)
    # the event is still open: the next run tells the three not yet told, and only them
    assert await services.broadcasts.notify_events() == 3
    assert sorted(n.worker_id for n in outbox_rows(services.db)) == [1, 2, 3, 4, 5]
    assert await services.broadcasts.notify_events() == 0  # and then it is closed


async def test_a_notice_queued_twice_is_queued_once(services: Services,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With no gap between notices (``notify_every_hours = 0``) a run repeated after a
    stop finds everyone due again: the event's keys still queue each notice once."""
    await _crowd(services, 3)
    monkeypatch.setattr(services.broadcasts, "config",
                        replace(services.broadcasts.config, notify_every_hours=0.0))
    real_close = broadcast_store.close_event
    closes = 0

    async def close_event(conn: Connection, event_id: int, now: str) -> bool:
        nonlocal closes
        closes += 1
        if closes == 1:
            raise RuntimeError("stopped before the event was closed")
        return await real_close(conn, event_id, now)

    monkeypatch.setattr(broadcast_store, "close_event", close_event)
    with pytest.raises(RuntimeError):
        await services.broadcasts.notify_events()
    await services.broadcasts.notify_events()
    assert sorted(n.worker_id for n in outbox_rows(services.db)) == [1, 2, 3]
