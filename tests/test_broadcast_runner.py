"""The broadcast engine (bot/services/broadcast_runner.py) against a fake Sender and a fake clock:
its pace, a 429's pause, blocked workers, and recipients in doubt, without a bot."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from bot.domain.projects import Project
from bot.domain.records import Broadcast
from bot.i18n import Gettext
from bot.services.broadcast_runner import BroadcastRunner, Pace
from bot.services.sending import (
    Blocked,
    Failed,
    Outgoing,
    RetryAfter,
    SendResult,
    Sent,
    Unconfirmed,
)
from bot.wiring import Services
from tests.conftest import add_project, add_worker
from tests.state import broadcast_statuses

WORKERS = (11, 12, 13, 14, 15)


@dataclass
class FakeTime:
    """Monotonic seconds that move only when someone sleeps."""

    now: float = 100.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class FakeSender:
    """Answers each chat's tries from a script (then ``Sent``), noting when each try
    was made on the fake clock."""

    time: FakeTime
    script: dict[int, list[SendResult]] = field(default_factory=dict)
    tries: list[tuple[int, float, Outgoing]] = field(default_factory=list)
    edits: list[tuple[int, int]] = field(default_factory=list)

    async def send(self, chat_id: int, message: Outgoing) -> SendResult:
        self.tries.append((chat_id, self.time.now, message))
        planned = self.script.get(chat_id, [])
        return planned.pop(0) if planned else Sent(1000 + chat_id)

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> SendResult:
        self.edits.append((chat_id, message_id))
        return Sent(message_id)

    def chats(self) -> list[int]:
        return [chat for chat, _at, _m in self.tries]


def invitation(project: Project, text: str | None, _: Gettext) -> Outgoing:
    return Outgoing(f"{project.spec.name}: {text}", buttons=("start", project.id))


async def _broadcast(services: Services, sender: FakeSender, rate: float,
                     paid: bool = False) -> dict[int, str]:
    """Broadcast to every worker at ``rate`` through the fake sender; the status each
    recipient ended with."""
    await add_project(services, items=5)
    for worker in WORKERS:
        await add_worker(services, worker)
    broadcast, audience = await services.broadcasts.start("reviews", "Come back")
    assert audience.total == len(WORKERS)
    broadcast = replace(broadcast, rate=rate, paid=paid)
    runner = BroadcastRunner(services.broadcasts, services.workers, sender, invitation,
                             sleep=sender.time.sleep, monotonic=sender.time.monotonic)
    await runner.run(broadcast)
    return broadcast_statuses(services.db, broadcast.id)


async def test_recipients_go_in_order_one_interval_apart(services: Services) -> None:
    sender = FakeSender(FakeTime())
    statuses = await _broadcast(services, sender, rate=10)  # one sender, 0.1 s apart
    assert sender.chats() == list(WORKERS)
    times = [at - sender.tries[0][1] for _chat, at, _m in sender.tries]
    assert [round(t, 6) for t in times] == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert set(statuses.values()) == {"sent"}
    message = sender.tries[0][2]
    assert message.text == "reviews: Come back" and message.buttons == ("start", 1)
    assert message.paid is False


async def test_a_paid_broadcast_is_sent_as_one(services: Services) -> None:
    sender = FakeSender(FakeTime())
    await _broadcast(services, sender, rate=10, paid=True)
    assert {m.paid for _chat, _at, m in sender.tries} == {True}


async def test_retry_after_pauses_every_send_then_tries_again(services: Services) -> None:
    sender = FakeSender(FakeTime(), {12: [RetryAfter(7.0)]})
    statuses = await _broadcast(services, sender, rate=50)  # two senders
    assert sorted(sender.chats()) == [11, 12, 12, 13, 14, 15]
    assert sender.chats()[:2] == [11, 12]
    refused_at = sender.tries[1][1]
    assert 7.0 in sender.time.sleeps
    # nobody, the refused chat included, is sent anything before the pause is over
    assert all(at >= refused_at + 7.0 for _chat, at, _m in sender.tries[2:])
    assert set(statuses.values()) == {"sent"}


async def test_a_pause_holds_the_other_senders_too() -> None:
    """While one sender waits out a 429, another one's next slot waits as long."""
    time = FakeTime()
    pace = Pace(10, time.sleep, time.monotonic)
    await pace.slot()
    held = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        await held.wait()  # the pausing sender is still asleep

    pace.sleep = held_sleep
    pausing = asyncio.create_task(pace.pause(7.0))
    await asyncio.sleep(0)
    pace.sleep = time.sleep
    start = time.now
    await pace.slot()
    assert time.now - start >= 7.0
    held.set()
    await pausing


async def test_a_blocked_worker_is_marked_inactive(services: Services) -> None:
    sender = FakeSender(FakeTime(), {13: [Blocked()]})
    statuses = await _broadcast(services, sender, rate=10)
    assert statuses[13] == "blocked"
    assert sender.chats().count(13) == 1
    worker = await services.workers.get(13)
    assert worker is not None and not worker.active
    other = await services.workers.get(12)
    assert other is not None and other.active


async def test_a_send_that_may_have_arrived_is_in_doubt_and_never_repeated(
        services: Services) -> None:
    sender = FakeSender(FakeTime(), {14: [Unconfirmed("TimedOut: no answer")]})
    statuses = await _broadcast(services, sender, rate=10)
    assert sender.chats().count(14) == 1
    assert statuses[14] == "unconfirmed"
    assert [s for w, s in statuses.items() if w != 14] == ["sent"] * 4


async def test_a_send_that_never_left_is_tried_again_and_a_refusal_is_not(
        services: Services) -> None:
    sender = FakeSender(FakeTime(), {
        11: [Failed("ConnectError", transient=True)],
        12: [Failed("BadRequest: chat not found")],
        15: [Failed("ConnectError", transient=True)] * 3})
    statuses = await _broadcast(services, sender, rate=10)
    assert sender.chats().count(11) == 2 and statuses[11] == "sent"
    assert sender.chats().count(12) == 1 and statuses[12] == "failed"
    assert sender.chats().count(15) == 3 and statuses[15] == "failed"  # three tries at most


OPERATOR = 99


async def _two_replicas(services: Services, sender: FakeSender
                        ) -> tuple[BroadcastRunner, BroadcastRunner, Broadcast]:
    await add_project(services, items=5)
    for worker in WORKERS:
        await add_worker(services, worker)
    broadcast, _audience = await services.broadcasts.start("reviews", "Come back",
                                                          operator_chat=OPERATOR)
    replicas = tuple(BroadcastRunner(services.broadcasts, services.workers, sender,
                                     invitation, sleep=sender.time.sleep,
                                     monotonic=sender.time.monotonic) for _i in range(2))
    return replicas[0], replicas[1], broadcast


async def test_two_replicas_post_one_progress_message_and_both_edit_it(
        services: Services) -> None:
    """Each replica sending a broadcast reports its progress; the operator gets one
    message, which every replica then edits, not one message per replica."""
    sender = FakeSender(FakeTime())
    first, second, broadcast = await _two_replicas(services, sender)
    await asyncio.gather(first._show_progress(broadcast, done=False),
                         second._show_progress(broadcast, done=False))
    await asyncio.gather(first._show_progress(broadcast, done=False),
                         second._show_progress(broadcast, done=False))
    assert sender.chats() == [OPERATOR]
    assert len(sender.edits) >= 2 and set(sender.edits) == {(OPERATOR, 1000 + OPERATOR)}


async def test_a_progress_message_that_failed_is_posted_by_the_next_report(
        services: Services) -> None:
    sender = FakeSender(FakeTime(), {OPERATOR: [Failed("ConnectError", transient=True)]})
    first, second, broadcast = await _two_replicas(services, sender)
    await first._show_progress(broadcast, done=False)
    await second._show_progress(broadcast, done=False)
    await first._show_progress(broadcast, done=False)
    assert sender.chats() == [OPERATOR, OPERATOR]
    assert sender.edits == [(OPERATOR, 1000 + OPERATOR)]
