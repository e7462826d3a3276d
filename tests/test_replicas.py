"""Several replicas on one database, in one process: two ``Services`` on one SQLite file
(each its own connection, as two processes have), driven on a clock of their own.

What must hold across them: an update is handled by one of them, and by another only when
the first died holding it; the shared send rate is never exceeded by both together; and
every repeating job may run on both at once without a notice sent twice, a unit paid
twice or a broadcast recipient messaged twice.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Config, StorageConfig
from bot.domain import bucket
from bot.services.broadcast_runner import BroadcastRunner
from bot.services.pacing import SharedBucket, SharedPace
from bot.services.sending import Outgoing, Sent
from bot.services.updates import CLAIM_TIMEOUT, Claim, Found
from bot.wiring import Services
from tests.conftest import add_project, add_worker
from tests.state import duplicate_keys, ledger_count, notice_outcomes, units


@pytest.fixture
async def two(tmp_path: Path, clock: FakeClock) -> AsyncIterator[tuple[Services, Services]]:
    config = Config(storage=StorageConfig(path=str(tmp_path / "tapwork.db")))
    first = await Services.open(config, clock)
    second = await Services.open(config, clock)
    try:
        yield first, second
    finally:
        await second.close()
        await first.close()


# -- updates -----------------------------------------------------------------------

async def test_an_update_is_claimed_by_one_replica(two: tuple[Services, Services]) -> None:
    a, b = two
    results = await asyncio.gather(a.updates.claim(501), b.updates.claim(501))
    claims = [r for r in results if isinstance(r, Claim)]
    assert len(claims) == 1
    assert Found.BUSY in results  # the other is told it is in hand elsewhere
    winner = a.updates if claims[0].token == a.updates.token else b.updates
    assert await winner.finish(claims[0])
    assert await a.updates.claim(501) is Found.DONE
    assert await b.updates.claim(501) is Found.DONE


async def test_a_claim_left_by_a_dead_replica_is_taken_over_after_the_timeout(
        two: tuple[Services, Services], clock: FakeClock) -> None:
    a, b = two
    dead = await a.updates.claim(502)
    assert isinstance(dead, Claim)
    clock.advance(seconds=CLAIM_TIMEOUT.total_seconds() - 1)
    assert await b.updates.claim(502) is Found.BUSY
    clock.advance(seconds=2)
    taken = await b.updates.claim(502)
    assert isinstance(taken, Claim)
    # the replica presumed dead finishes late: the claim is no longer its own
    assert not await a.updates.finish(dead)
    assert await b.updates.finish(taken)
    assert await a.updates.claim(502) is Found.DONE


async def test_claims_older_than_48_hours_are_pruned(two: tuple[Services, Services],
                                                     clock: FakeClock) -> None:
    a, _b = two
    old = await a.updates.claim(503)
    assert isinstance(old, Claim)
    await a.updates.finish(old)
    clock.advance(hours=47)
    assert isinstance(await a.updates.claim(504), Claim)
    assert await a.updates.prune() == 0
    clock.advance(hours=2)
    assert await a.updates.prune() == 1  # 503 went; 504 is 2 hours old


# -- the shared send rate ----------------------------------------------------------

class VirtualTime:
    """A clock that moves only when every sender is asleep: to the next wake-up."""

    def __init__(self) -> None:
        self.now = 1_767_600_000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._seq), future))
        await future

    async def run(self, until: float) -> None:
        """Advance to each next wake-up once the loop has nothing else to do."""
        while self.now < until:
            for _ in range(20):  # let every runnable sender reach its next sleep
                await asyncio.sleep(0)
            if not self._sleepers:
                continue
            wake, _seq, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            future.set_result(None)


def _most_in_any_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    most, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window - 1e-9:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize("shared", [True, False])
async def test_two_senders_sharing_a_bucket_never_exceed_its_rate(
        two: tuple[Services, Services], shared: bool) -> None:
    """10 messages a second, a second's burst: two replicas sending flat out for 20
    virtual seconds send at most 10 + 10 x 20 between them, and at most 20 in any one
    second (the saved-up second, then the rate). Without sharing (each its own row, as
    each process's in-memory pace would be) the two together send twice the rate."""
    a, b = two
    time = VirtualTime()
    stamps: list[float] = []

    async def sender(services: Services, name: str) -> None:
        limit = SharedBucket(services.db, name, 10, now=time.time, sleep=time.sleep)
        while True:
            await limit.take()
            stamps.append(time.now)

    senders = [asyncio.create_task(sender(a, "telegram")),
               asyncio.create_task(sender(b, "telegram" if shared else "other"))]
    start = time.now
    await time.run(start + 20)
    for task in senders:
        task.cancel()
    await asyncio.gather(*senders, return_exceptions=True)
    sent = [s for s in stamps if s < start + 20]
    if shared:
        assert 200 <= len(sent) <= 10 + 10 * 20
        assert _most_in_any_window(sent, 1.0) <= 20
        later = [s for s in sent if s >= start + 2]  # past the saved-up second
        assert _most_in_any_window(later, 1.0) <= 11
    else:
        assert len(sent) > 2 * 10 * 20 * 0.95  # what sharing is there to prevent


async def test_a_429_pauses_every_replica(two: tuple[Services, Services]) -> None:
    a, b = two
    time = VirtualTime()
    first = SharedBucket(a.db, "telegram", 30, now=time.time, sleep=time.sleep)
    second = SharedBucket(b.db, "telegram", 30, now=time.time, sleep=time.sleep)
    assert await first.try_take() == 0.0
    await first.pause(3.0)
    wait = await second.try_take()
    assert 2.9 <= wait <= 3.1  # the other replica waits out Telegram's retry_after too


def test_bucket_arithmetic_is_exact_and_never_mints_a_token() -> None:
    rate = bucket.Rate.of(3, burst_seconds=1)
    state = bucket.full(rate, 0)
    granted = 0
    now = 0
    for step in range(1, 10_001):  # 10,000 tries 1 ms apart: 10 s
        now = step * 1000
        state, got, _wait = bucket.take(state, rate, now)
        granted += got
    assert granted <= 3 + 3 * 10  # capacity, then the rate; rounding only ever down
    assert granted >= 3 + 3 * 10 - 1
    # a clock running behind the row's adds nothing and never moves it back
    behind, got, wait = bucket.take(state, rate, now - 5_000_000)
    assert behind.updated_us == state.updated_us and got == 0 and wait > 0


# -- the repeating jobs ------------------------------------------------------------

class RecordingSender:
    """Every message any replica sent, by chat."""

    def __init__(self, sent: list[int]) -> None:
        self.sent = sent

    async def send(self, chat_id: int, message: Outgoing) -> Sent:
        await asyncio.sleep(0)  # a send takes a moment: the other replica runs meanwhile
        self.sent.append(chat_id)
        return Sent(len(self.sent))

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> Sent:
        return Sent(message_id)


def _render(*_args: object) -> Outgoing:
    return Outgoing("hello")


async def test_every_job_runs_on_two_replicas_at_once_without_doubling(
        two: tuple[Services, Services], clock: FakeClock, tmp_path: Path) -> None:
    a, b = two
    db = tmp_path / "tapwork.db"
    await add_project(a, items=16, overlap=1, settle_unit=1, auto_approve_hours=1)
    workers = list(range(7001, 7009))
    for worker in workers:
        await add_worker(a, worker)
    # work: half the workers answer a task (and are leased the next), the others are
    # leased one on the other replica; every open lease expires below
    for worker in workers[:4]:
        served = await a.work.start(worker, "reviews")
        assert served.task is not None
        await a.work.answer_choice(worker, served.task.assignment_id, 0)
    for worker in workers[4:]:
        assert (await b.work.start(worker, "reviews")).task is not None
    for worker in workers:
        assert await a.payroll.bonus(worker, 10_000, "USD", "thanks", f"bonus-{worker}")
    clock.advance(hours=2)

    # lease expiry and settlement, both replicas at once, twice
    returned, settled = 0, 0
    for _round in range(2):
        returned += sum(await asyncio.gather(a.work.expire_leases(),
                                             b.work.expire_leases()))
        settled += sum(await asyncio.gather(a.payroll.settle_due(),
                                            b.payroll.settle_due()))
    assert returned == 8  # each open lease returned once, by one of them
    assert settled == 4  # each answer's unit paid once, by one of them
    assert [u.status for u in units(db)] == ["settled"] * 4
    entries = ledger_count(db)
    assert entries == 8 + 4 + 4 * 2  # bonuses; earnings; each unit's release pair
    assert not any(duplicate_keys(db).values())

    # the outbox: pay and bonus notices, delivered by both at once
    sent: list[int] = []
    sender = RecordingSender(sent)
    for _round in range(3):
        await asyncio.gather(a.delivery.deliver(sender, _render),
                             b.delivery.deliver(sender, _render))
    outcomes = notice_outcomes(db)
    assert outcomes.get("sent") == len(sent)
    assert "open" not in outcomes and "in_flight" not in outcomes
    bonus_notices = [w for w in sent if w in workers]
    assert sorted(set(bonus_notices)) == workers  # everyone told

    # a broadcast sent by both replicas at once, at one shared pace
    await add_project(a, name="more", items=20)
    broadcast, audience = await a.broadcasts.start("more")
    assert audience.total == len(workers)
    invited: list[int] = []
    runners = [BroadcastRunner(s.broadcasts, s.workers, RecordingSender(invited), _render,
                               pace=lambda br, s=s: SharedPace(SharedBucket(
                                   s.db, f"broadcast:{br.id}", 1000)))
               for s in (a, b)]
    await asyncio.gather(*(r.run(broadcast) for r in runners))
    assert sorted(invited) == workers  # each once, whichever replica sent it
    assert ledger_count(db) == entries  # and nothing paid again meanwhile
    # the finish was reported by one of them
    assert [await s.broadcasts.finish(broadcast) for s in (a, b)] == [False, False]


async def test_a_replica_starting_settles_only_old_claims(
        two: tuple[Services, Services], clock: FakeClock, tmp_path: Path) -> None:
    """Another replica's notice on the wire right now is not counted in doubt by one
    that starts; one claimed long ago (its replica died) is."""
    a, b = two
    for worker in (7101, 7102):
        await add_worker(a, worker)
        assert await a.payroll.bonus(worker, 10_000, "USD", "thanks", f"k{worker}")
    old, new = await a.notices.due()
    assert await a.notices.claim(old) is not None
    clock.advance(minutes=20)
    assert await a.notices.claim(new) is not None
    settled = await b.notices.settle_in_flight(timedelta(minutes=15))
    assert [n.id for n in settled] == [old.id]
    assert notice_outcomes(tmp_path / "tapwork.db") == {"in_doubt": 1, "open": 1}  # in flight
