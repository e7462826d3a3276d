"""Delivering the outbox: pay notices, project invitations, held broadcasts, summaries.

Nothing here is a reply, so nothing goes out in the worker's quiet hours: a notice due
then waits for their morning. Nor does one land in the middle of a task, where it would
push the task's buttons up out of sight. Each notice is sent at most once
(``bot/services/notices.py`` keeps the books); how it looks is the chat side's business (a
``NoticeRenderer``), and so is the sending (a ``Sender``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.clock import Clock
from bot.domain.errors import NotFound
from bot.domain.notice_kinds import INVITATIONS, Notice, NoticeBody, UnitSettled
from bot.domain.projects import Project
from bot.domain.quiet import quiet_until
from bot.domain.records import Worker
from bot.i18n import Gettext, gettext_for
from bot.services.catalog import Catalog
from bot.services.notices import Notices
from bot.services.sending import Blocked, Outgoing, Sender, Sent, Unconfirmed
from bot.services.work import Work
from bot.services.workers import Workers

log = logging.getLogger(__name__)
#: a notice that keeps failing is dropped after this many tries
MAX_ATTEMPTS = 5
#: seconds a notice waits while its worker is in the middle of a task
BUSY_DELAY = 60
#: a notice, the project it is about (None for one about no project), the reader's
#: language -> the message
NoticeRenderer = Callable[[NoticeBody, Project | None, Gettext], Outgoing]


class Stale(Exception):
    """The notice no longer makes sense (its project closed, or has nothing left for
    the worker): finished as ``stale``, not sent."""


class NoticeDelivery:
    def __init__(self, clock: Clock, notices: Notices, workers: Workers, work: Work,
                 catalog: Catalog) -> None:
        self.clock = clock
        self.notices = notices
        self.workers = workers
        self.work = work
        self.catalog = catalog

    async def deliver(self, sender: Sender, render: NoticeRenderer) -> None:
        """Send what is due; blocked users are marked, certain failures retried, then
        dropped; a send that may have arrived is never repeated."""
        for notice in await self.notices.due():
            worker = await self.workers.get(notice.worker_id)
            if worker is None or not worker.active:
                await self.notices.skip(notice, "gone")  # nobody to tell
            elif quiet_until(worker, self.clock.now()) is not None:
                await self.notices.after_quiet_hours(notice, worker)
            elif await self.work.busy([worker.id]):
                # mid-task or mid-quiz: a message now would push the question up the chat
                await self.notices.postpone(notice, BUSY_DELAY)
            else:
                await self._deliver_one(sender, render, notice, worker)

    async def _deliver_one(self, sender: Sender, render: NoticeRenderer, notice: Notice,
                           worker: Worker) -> None:
        try:
            message = render(notice.body, await self.about(notice), gettext_for(
                worker.language))
        except Stale:
            await self.notices.skip(notice, "stale")
            return
        except Exception:  # a bug must not block every notice behind this one
            log.exception("notice %s could not be rendered", notice.id)
            if (claim := await self.notices.claim(notice)) is not None:
                await self.notices.later(notice, claim, MAX_ATTEMPTS)
            return
        # committed before the send: from here a crash leaves it in doubt, never resent
        claim = await self.notices.claim(notice)
        if claim is None:
            return  # another delivery has it, or finished it meanwhile
        result = await sender.send(notice.worker_id, message)
        if isinstance(result, Sent):
            await self.notices.sent(notice, claim)
        elif isinstance(result, Blocked):
            await self.workers.blocked(notice.worker_id)
            await self.notices.blocked(notice, claim)
        elif isinstance(result, Unconfirmed):  # it may have arrived: never a second copy
            await self.notices.in_doubt(notice, claim, result.reason)
        else:  # refused, too many requests, or never left: certainly not delivered
            log.warning("notice %s not sent: %s", notice.id, result)
            await self.notices.later(notice, claim, MAX_ATTEMPTS)

    async def about(self, notice: Notice) -> Project | None:
        """The project a notice is about, as it is now; ``Stale`` for an invitation to
        one that has nothing left for the worker."""
        body = notice.body
        if isinstance(body, INVITATIONS):
            invited = await self.catalog.get_by_id(body.project_id)
            if invited is None or invited.status != "open":
                raise Stale
            if not await self.work.has_work(notice.worker_id, invited):
                raise Stale  # taken by others, or done, while the notice waited
            return invited
        if isinstance(body, UnitSettled):
            if body.project_id is not None:
                return await self.catalog.get_by_id(body.project_id)
            if body.project_slug is not None:  # queued before notices named the id
                try:
                    return await self.catalog.get(body.project_slug)
                except NotFound:
                    return None
        return None
