"""Sending paces shared by every replica of one bot, through the database.

Why: Telegram's limits (about 30 messages a second, a broadcast's own rate) are per bot,
not per process. One process keeps them in memory (PTB's ``AIORateLimiter``, the
broadcast runner's ``Pace``); several replicas behind a webhook would each send at the
full rate. A ``SharedBucket`` is one row per bucket name (``storage/buckets.py``): each
token is taken in one short write transaction, refilled with exact integers
(``bot/domain/bucket.py``) from a clock every replica shares (the wall clock, in
microseconds since the epoch). Whatever the interleaving, the messages sent by all
replicas together in any stretch of time are at most the bucket's capacity plus the
rate times that stretch, because each one spends a token that was written to the row.

One token per transaction, not a batch kept locally: a batch held by one replica would
let it and the row both spend the same second's capacity. It costs one small write per
message, and only in the deployments that have several replicas (webhook mode).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.domain.bucket import Bucket, Rate, full, pause, take
from storage import Database
from storage import buckets as store
from storage.connection import Connection

Sleep = Callable[[float], Awaitable[None]]
#: seconds since the epoch, as a float: the wall clock every replica shares
Now = Callable[[], float]


class SharedBucket:
    """``await bucket.take()`` waits until one token is free in the row named ``name``."""

    def __init__(self, db: Database, name: str, per_second: float, *,
                 burst_seconds: float = 1.0, now: Now = time.time,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.db = db
        self.name = name
        self.rate = Rate.of(per_second, burst_seconds)
        self.now = now
        self.sleep = sleep

    def _now_us(self) -> int:
        return int(self.now() * 1_000_000)

    async def _row(self, conn: Connection, now_us: int) -> Bucket:
        found = await store.read(conn, self.name)
        return Bucket(*found) if found is not None else full(self.rate, now_us)

    async def try_take(self) -> float:
        """Take a token if one is free: 0.0, else the seconds until the next one."""
        async with self.db.transaction() as conn:
            now_us = self._now_us()
            after, granted, wait_us = take(await self._row(conn, now_us), self.rate, now_us)
            await store.write(conn, self.name, after.tokens, after.updated_us)
        return 0.0 if granted else wait_us / 1_000_000

    async def take(self) -> None:
        while (wait := await self.try_take()) > 0:
            await self.sleep(wait)

    async def pause(self, seconds: float) -> None:
        """Nobody, on any replica, takes a token for ``seconds`` (Telegram's 429)."""
        async with self.db.transaction() as conn:
            now_us = self._now_us()
            after = pause(await self._row(conn, now_us), self.rate, now_us, seconds)
            await store.write(conn, self.name, after.tokens, after.updated_us)

    async def forget(self) -> None:
        async with self.db.transaction() as conn:
            await store.forget(conn, self.name)


class SharedPace:
    """A broadcast's pace (``slot``/``pause``, as ``broadcast_runner.Pace``) kept in a
    shared bucket, so replicas sending one broadcast together keep its rate."""

    def __init__(self, bucket: SharedBucket, sleep: Sleep = asyncio.sleep) -> None:
        self.bucket = bucket
        self.sleep = sleep

    async def slot(self) -> None:
        await self.bucket.take()

    async def pause(self, seconds: float) -> None:
        await self.bucket.pause(seconds)
        await self.sleep(seconds)
