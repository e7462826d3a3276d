"""Sending broadcasts: paced, resumable, and reporting live progress to the operator.

All state lives in the database (``bot/services/broadcast.py``); this is the engine that walks a
broadcast's queue at its rate. It knows nothing of Telegram: a ``Sender`` sends, and an
``InvitationRenderer`` draws the message, so tests drive it with a fake of each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from bot.domain.projects import Project
from bot.domain.records import POSTING, Broadcast, BroadcastProgress
from bot.i18n import Gettext, gettext_for
from bot.services.broadcast import Broadcasts, Recipient
from bot.services.sending import Blocked, Failed, Outgoing, RetryAfter, Sender, Sent, Unconfirmed
from bot.services.workers import Workers

log = logging.getLogger(__name__)
#: how often the operator's progress message is edited
PROGRESS_EVERY = 2.0
#: sends in flight at once, at most; also the most a crash can leave in doubt
MAX_IN_FLIGHT = 4
#: a sender per this many messages per second of the broadcast's rate
RATE_PER_SENDER = 25
#: how long a stopping bot waits for the batch in flight to be sent and recorded
STOP_GRACE = 10.0
#: tries of one recipient's message (after a 429, or when the request never left)
TRIES = 3
#: the pause before trying again a message that never left (no connection)
RECONNECT_DELAY = 0.5
#: a project, the operator's words (None: ours), the reader's language -> the message
InvitationRenderer = Callable[[Project, str | None, Gettext], Outgoing]
Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


class Pacing(Protocol):
    """A broadcast's pace: wait for the next send's turn; hold everyone after a 429."""

    async def slot(self) -> None: ...

    async def pause(self, seconds: float) -> None: ...


#: a broadcast -> the pace its senders share (``Pace`` in memory for one process,
#: ``bot.services.pacing.SharedPace`` in the database for several replicas)
PaceFor = Callable[[Broadcast], Pacing]


def senders(rate: float) -> int:
    """How many sends a broadcast at ``rate`` keeps in flight: one per 25 messages a
    second, 1 to ``MAX_IN_FLIGHT``. Each sender has at most one recipient claimed and
    unconfirmed at any moment, so this is also the most recipients a crash can leave in
    doubt."""
    return max(1, min(MAX_IN_FLIGHT, int(rate // RATE_PER_SENDER)))


def progress_text(broadcast: Broadcast, progress: BroadcastProgress, _: Gettext, done: bool) -> str:
    """Sent, failed, left; and, when there are any, the recipients in doubt (a send
    without Telegram's answer, or on the wire when a process died): the operator is
    told, since they may not have got the message and are not sent it again."""
    doubt = progress.unconfirmed
    if done and doubt:
        return _("Broadcast #{id} finished: sent {sent}, failed {failed}, in doubt {doubt} "
                 "(they may not have it; not sent again).", id=broadcast.id,
                 sent=progress.sent, failed=progress.failed, doubt=doubt)
    if done:
        return _("Broadcast #{id} finished: sent {sent}, failed {failed}.", id=broadcast.id,
                 sent=progress.sent, failed=progress.failed)
    if doubt:
        return _("Broadcast #{id}: sent {sent}, failed {failed}, in doubt {doubt}, left "
                 "{left}.", id=broadcast.id, sent=progress.sent, failed=progress.failed,
                 doubt=doubt, left=progress.left)
    return _("Broadcast #{id}: sent {sent}, failed {failed}, left {left}.", id=broadcast.id,
             sent=progress.sent, failed=progress.failed, left=progress.left)


class Pace:
    """One broadcast's pace, shared by its senders: a token bucket that may catch up one
    second, and that every sender respects while Telegram asked to wait (a 429)."""

    def __init__(self, rate: float, sleep: Sleep, monotonic: Monotonic) -> None:
        self.interval = 1.0 / rate
        self.sleep = sleep
        self.monotonic = monotonic
        self.next = monotonic()
        self.paused_until = 0.0

    async def slot(self) -> None:
        while True:
            now = self.monotonic()
            wait = max(self.next, self.paused_until) - now
            if wait <= 0:
                self.next = max(self.next + self.interval, now - 1.0)
                return
            await self.sleep(wait)

    async def pause(self, seconds: float) -> None:
        """Telegram said "too many requests": nobody sends for ``seconds``."""
        self.paused_until = self.monotonic() + seconds
        await self.sleep(seconds)


class BroadcastRunner:
    """One asyncio task per broadcast being sent; all state lives in the database."""

    def __init__(self, broadcasts: Broadcasts, workers: Workers, sender: Sender,
                 invitation: InvitationRenderer, sleep: Sleep = asyncio.sleep,
                 monotonic: Monotonic = time.monotonic, pace: PaceFor | None = None,
                 ) -> None:
        """``sleep`` and ``monotonic`` keep the pace; tests give a clock of their own.
        ``pace`` replaces the in-memory pace (several replicas share one in the
        database)."""
        self.broadcasts = broadcasts
        self.workers = workers
        self.sender = sender
        self.invitation = invitation
        self.sleep = sleep
        self.monotonic = monotonic
        self.pace_for: PaceFor = pace or (lambda b: Pace(b.rate, self.sleep, self.monotonic))
        self.tasks: dict[int, asyncio.Task[None]] = {}
        #: broadcast id -> the operator's progress message
        self.progress_messages: dict[int, int] = {}
        #: set on shutdown: finish the batch in flight, record it, claim no more
        self.stopping = False

    def launch(self, broadcast: Broadcast) -> None:
        if broadcast.id in self.tasks and not self.tasks[broadcast.id].done():
            return
        self.tasks[broadcast.id] = asyncio.create_task(self.run(broadcast),
                                                       name=f"broadcast-{broadcast.id}")

    async def resume(self, older_than: timedelta | None = None) -> None:
        """At start-up: carry on with every broadcast a previous run did not finish.
        ``older_than``: with several replicas, only claims that old are in doubt."""
        for broadcast in await self.broadcasts.resumable(older_than):
            self.launch(broadcast)

    async def poll(self) -> None:
        """Pick up broadcasts queued by another process (``tapwork broadcast``)."""
        for broadcast in await self.broadcasts.unfinished():
            self.launch(broadcast)

    async def stop(self) -> None:
        """A clean stop: the batch in flight is sent and recorded, nothing more is claimed,
        so a restart resumes with nobody in doubt."""
        self.stopping = True
        running = [t for t in self.tasks.values() if not t.done()]
        if running:
            await asyncio.wait(running, timeout=STOP_GRACE)
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def run(self, broadcast: Broadcast) -> None:
        """A few senders share the broadcast's pace; each claims one recipient only when
        its slot comes and records it before claiming the next, so a process killed at
        any moment leaves at most one recipient in doubt per sender (``senders(rate)``,
        at most ``MAX_IN_FLIGHT``)."""
        project = await self.broadcasts.project(broadcast)
        if project is None:
            await self.broadcasts.finish(broadcast)
            return
        pace = self.pace_for(broadcast)
        reporter = asyncio.create_task(self._report(broadcast))
        try:
            # a few sends in flight are enough to keep pace; more make each send dearer
            # in PTB's HTTP pool (measured: 4 at once ~660/s, 40 at once ~300/s)
            await asyncio.gather(*[self._sender(broadcast, project, pace)
                                   for _i in range(senders(broadcast.rate))])
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        if self.stopping:
            return  # resumed at the next start
        if await self.broadcasts.finish(broadcast):  # another replica's, if not ours
            await self._show_progress(broadcast, done=True)

    async def _sender(self, broadcast: Broadcast, project: Project, pace: Pacing) -> None:
        """Wait for a slot, then claim one recipient, send, record: only messages
        actually on the wire are ever in doubt if the process dies."""
        while not self.stopping:
            await pace.slot()
            batch = await self.broadcasts.claim(broadcast, 1)
            if batch is None:
                return
            for recipient in batch:
                status = await self._send(broadcast, project, recipient, pace)
                await self.broadcasts.record(broadcast, [(recipient.worker.id, status)])

    async def _send(self, broadcast: Broadcast, project: Project, recipient: Recipient,
                    pace: Pacing) -> str:
        """Send one invitation; returns what happened: sent, blocked, failed, unconfirmed.

        Sent again only after a failure that certainly did not deliver it (a 429, no
        connection); anything that may have delivered it (no answer in time, a dropped
        connection, a 5xx) is "unconfirmed" and never sent again.
        """
        worker = recipient.worker
        message = self.invitation(project, broadcast.text, gettext_for(worker.language))
        if broadcast.paid:
            message = Outgoing(message.text, message.buttons, paid=True)
        for _attempt in range(TRIES):
            result = await self.sender.send(worker.id, message)
            if isinstance(result, Sent):
                return "sent"
            if isinstance(result, RetryAfter):  # the rate limiter's retries ran out
                await pace.pause(result.seconds)
            elif isinstance(result, Blocked):
                await self.workers.blocked(worker.id)
                return "blocked"
            elif isinstance(result, Unconfirmed):  # it may have arrived: never again
                log.warning("broadcast %s to %s unconfirmed: %s", broadcast.id, worker.id,
                            result.reason)
                return "unconfirmed"
            elif isinstance(result, Failed) and result.transient:
                await self.sleep(RECONNECT_DELAY)  # no connection: it never left
            else:
                return "failed"
        return "failed"

    async def _report(self, broadcast: Broadcast) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)  # a timer, not the pace: never faked
            await self._show_progress(broadcast, done=False)

    async def _show_progress(self, broadcast: Broadcast, done: bool) -> None:
        chat = broadcast.operator_chat
        if chat is None:
            return
        progress = await self.broadcasts.progress(broadcast)
        operator = await self.workers.get(chat)
        _ = gettext_for(operator.language if operator else "en")
        message = Outgoing(progress_text(broadcast, progress, _, done))
        message_id = self.progress_messages.get(broadcast.id)
        if message_id is None:  # with several replicas, one posts it and all edit it
            message_id = await self.broadcasts.take_progress_message(broadcast)
            if message_id == POSTING and not done:
                return  # another replica is posting it right now
        if message_id:
            self.progress_messages[broadcast.id] = message_id
            result = await self.sender.edit(chat, message_id, message)
        else:
            result = await self.sender.send(chat, message)
            # on a failure the right to post is handed back, for the next round
            await self.broadcasts.set_progress_message(
                broadcast, result.message_id if isinstance(result, Sent) else None)
            if isinstance(result, Sent):
                self.progress_messages[broadcast.id] = result.message_id
        if not isinstance(result, Sent):  # "not modified", a hiccup: next time
            log.debug("progress of broadcast %s not shown: %s", broadcast.id, result)
