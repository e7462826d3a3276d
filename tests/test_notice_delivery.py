"""Outbox delivery (bot/services/notice_delivery.py) with a fake Sender: at most once, in doubt
never again, certain failures retried then failed, blocked workers marked, quiet hours
and stale invitations respected."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import FakeClock
from bot.domain.notice_kinds import NoticeBody
from bot.domain.projects import Project
from bot.i18n import Gettext
from bot.services.notice_delivery import MAX_ATTEMPTS
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


@dataclass
class FakeSender:
    results: list[SendResult] = field(default_factory=list)
    sent: list[tuple[int, str]] = field(default_factory=list)

    async def send(self, chat_id: int, message: Outgoing) -> SendResult:
        self.sent.append((chat_id, message.text))
        return self.results.pop(0) if self.results else Sent(1)

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> SendResult:
        return Sent(message_id)


def render(body: NoticeBody, project: Project | None, _: Gettext) -> Outgoing:
    return Outgoing(f"{body.KIND}:{project.id if project else '-'}")


async def _bonus(services: Services) -> None:
    await add_worker(services, 1)
    assert await services.payroll.bonus(1, 500_000, "USD", "great week", "week-1")


async def test_a_notice_goes_once(services: Services) -> None:
    await _bonus(services)
    sender = FakeSender()
    await services.delivery.deliver(sender, render)
    await services.delivery.deliver(sender, render)
    assert sender.sent == [(1, "bonus:-")]
    assert await services.notices.outcomes() == {"sent": 1}


async def test_a_send_that_may_have_arrived_is_in_doubt_and_not_repeated(
        services: Services, clock: FakeClock) -> None:
    await _bonus(services)
    sender = FakeSender([Unconfirmed("TimedOut")])
    await services.delivery.deliver(sender, render)
    clock.advance(hours=1)
    await services.delivery.deliver(sender, render)
    assert len(sender.sent) == 1
    assert await services.notices.outcomes() == {"in_doubt": 1}


async def test_a_certain_failure_is_tried_again_then_failed(services: Services,
                                                             clock: FakeClock) -> None:
    await _bonus(services)
    sender = FakeSender([Failed("BadRequest"), RetryAfter(3), Failed("ConnectError", True)]
                        + [Failed("BadRequest")] * MAX_ATTEMPTS)
    await services.delivery.deliver(sender, render)
    await services.delivery.deliver(sender, render)  # held for a minute: not yet
    assert len(sender.sent) == 1
    for _try in range(MAX_ATTEMPTS + 2):
        clock.advance(minutes=2)
        await services.delivery.deliver(sender, render)
    assert len(sender.sent) == MAX_ATTEMPTS
    assert await services.notices.outcomes() == {"failed": 1}


async def test_a_worker_who_blocked_the_bot_is_marked(services: Services) -> None:
    await _bonus(services)
    await services.delivery.deliver(FakeSender([Blocked()]), render)
    worker = await services.workers.get(1)
    assert worker is not None and not worker.active
    assert await services.notices.outcomes() == {"blocked": 1}


async def test_nothing_goes_in_quiet_hours(services: Services, clock: FakeClock) -> None:
    await _bonus(services)
    now = clock.now()
    minute = now.hour * 60 + now.minute
    await services.workers.update(1, quiet_start=minute,
                                  quiet_end=(minute + 60) % 1440)
    sender = FakeSender()
    await services.delivery.deliver(sender, render)
    assert sender.sent == []
    clock.advance(minutes=61)
    await services.delivery.deliver(sender, render)
    assert sender.sent == [(1, "bonus:-")]


async def test_an_invitation_to_a_closed_project_is_stale(services: Services) -> None:
    project_id = await add_project(services, items=2)
    await add_worker(services, 1)
    await services.broadcasts.notify_events()
    project = await services.catalog.get_by_id(project_id)
    assert project is not None
    await services.catalog.set_status(project.spec.name, "paused")
    sender = FakeSender()
    await services.delivery.deliver(sender, render)
    assert sender.sent == []
    assert await services.notices.outcomes() == {"stale": 1}
