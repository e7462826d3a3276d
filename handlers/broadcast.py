"""Sending broadcasts: paced, resumable, and reporting live progress to the operator."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.broadcast import Recipient
from bot.i18n import Gettext, gettext_for
from bot.projects import Project
from bot.records import Broadcast, BroadcastProgress
from bot.services import Services
from handlers import say
from handlers.common import App, never_left
from handlers.keyboards import start_project

log = logging.getLogger(__name__)
#: how often the operator's progress message is edited
PROGRESS_EVERY = 2.0
#: sends in flight at once, at most; also the most a crash can leave in doubt
MAX_IN_FLIGHT = 4
#: a sender per this many messages per second of the broadcast's rate
RATE_PER_SENDER = 25
#: how long a stopping bot waits for the batch in flight to be sent and recorded
STOP_GRACE = 10.0


def invitation(project: Project, text: str | None, _: Gettext
               ) -> tuple[str, InlineKeyboardMarkup]:
    """The message a worker gets: the operator's words, or ours in their language.

    The title stands on a line of its own, followed only by " · ": a title may end with
    its own "?" or "。", and a sentence around it would double the punctuation.

    The operator's words are sent as written and were checked to fit one message when
    they were written (``bot.broadcast.check_text``); one queued before that check is
    cut with "…" rather than split, since a broadcast sends each worker one message.
    Plain text: the outbox delivers deferred invitations as they are.
    """
    body = say.shorten(text, say.TEXT_LIMIT) if text else _(
        "New tasks are waiting:\n{title} · {amount} per task",
        title=project.spec.title.get(_.language), amount=_reward(project, _))
    markup = InlineKeyboardMarkup([[start_project(_("▶️ Start"), project.id)]])
    return body, markup


def _reward(project: Project, _: Gettext) -> str:
    from bot.money import format_money

    return format_money(project.spec.reward_micros, project.spec.currency, _.language)


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


class BroadcastRunner:
    """One asyncio task per broadcast being sent; all state lives in the database."""

    def __init__(self, application: App) -> None:
        self.application = application
        self.tasks: dict[int, asyncio.Task[None]] = {}
        #: broadcast id -> the operator's progress message
        self.progress_messages: dict[int, int] = {}
        #: set on shutdown: finish the batch in flight, record it, claim no more
        self.stopping = False

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data["services"]
        return services

    def launch(self, broadcast: Broadcast) -> None:
        if broadcast.id in self.tasks and not self.tasks[broadcast.id].done():
            return
        self.tasks[broadcast.id] = asyncio.create_task(self._run(broadcast),
                                                       name=f"broadcast-{broadcast.id}")

    async def resume(self) -> None:
        """At start-up: carry on with every broadcast a previous run did not finish."""
        for broadcast in await self.services.broadcasts.resumable():
            self.launch(broadcast)

    async def poll(self) -> None:
        """Pick up broadcasts queued by another process (``tapwork broadcast``)."""
        for broadcast in await self.services.broadcasts.unfinished():
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

    async def _run(self, broadcast: Broadcast) -> None:
        """A few senders share the broadcast's pace (a token bucket); each claims one
        recipient only when its slot comes and records it before claiming the next, so a
        process killed at any moment leaves at most one recipient in doubt per sender
        (``senders(rate)``, at most ``MAX_IN_FLIGHT``)."""
        services = self.services
        project = await services.broadcasts.project(broadcast)
        if project is None:
            await services.broadcasts.finish(broadcast)
            return
        interval = 1.0 / broadcast.rate
        # a few sends in flight are enough to keep pace; more make each send dearer in
        # PTB's HTTP pool (measured: 4 at once ~660/s, 40 at once ~300/s)
        in_flight = senders(broadcast.rate)
        clock = {"next": time.monotonic()}
        pause = {"until": 0.0}

        async def slot() -> None:
            """Pace sends across the batch (a token bucket that may catch up 1 s)."""
            while True:
                now = time.monotonic()
                wait = max(clock["next"], pause["until"]) - now
                if wait <= 0:
                    clock["next"] = max(clock["next"] + interval, now - 1.0)
                    return
                await asyncio.sleep(wait)

        async def sender() -> None:
            """Wait for a slot, then claim one recipient, send, record: only messages
            actually on the wire are ever in doubt if the process dies."""
            while not self.stopping:
                await slot()
                batch = await services.broadcasts.claim(broadcast, 1)
                if batch is None:
                    return
                for recipient in batch:
                    status = await self._send(broadcast, project, recipient, pause)
                    await services.broadcasts.record(broadcast,
                                                     [(recipient.worker.id, status)])

        reporter = asyncio.create_task(self._report(broadcast))
        try:
            await asyncio.gather(*[sender() for _i in range(in_flight)])
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        if self.stopping:
            return  # resumed at the next start
        await services.broadcasts.finish(broadcast)
        await self._show_progress(broadcast, done=True)

    async def _send(self, broadcast: Broadcast, project: Project, recipient: Recipient,
                    pause: dict[str, float]) -> str:
        """Send one invitation; returns what happened: sent, blocked, failed, unconfirmed.

        Sent again only after a failure that certainly did not deliver it (a 429, no
        connection); anything that may have delivered it (no answer in time, a dropped
        connection, a 5xx) is "unconfirmed" and never sent again.
        """
        worker = recipient.worker
        _ = gettext_for(worker.language)
        text, markup = invitation(project, broadcast.text, _)
        for _attempt in range(3):
            try:
                await say.send(self.application.bot, worker.id, text, reply_markup=markup,
                               allow_paid_broadcast=True if broadcast.paid else None)
            except RetryAfter as exc:  # the rate limiter's retries ran out: all wait
                delay = exc.retry_after
                seconds = float(delay.total_seconds() if hasattr(delay, "total_seconds")
                                else delay)
                pause["until"] = time.monotonic() + seconds
                await asyncio.sleep(seconds)
                continue
            except Forbidden:
                await self.services.workers.blocked(worker.id)
                return "blocked"
            except BadRequest:
                return "failed"
            except Exception as exc:
                if not never_left(exc):  # it may have arrived: never risk a second copy
                    log.warning("broadcast %s to %s unconfirmed: %s", broadcast.id,
                                worker.id, exc)
                    return "unconfirmed"
                await asyncio.sleep(0.5)  # no connection: it never left
                continue
            return "sent"
        return "failed"

    async def _report(self, broadcast: Broadcast) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            await self._show_progress(broadcast, done=False)

    async def _show_progress(self, broadcast: Broadcast, done: bool) -> None:
        if broadcast.operator_chat is None:
            return
        services = self.services
        progress = await services.broadcasts.progress(broadcast)
        operator = await services.workers.get(broadcast.operator_chat)
        _ = gettext_for(operator.language if operator else "en")
        text = progress_text(broadcast, progress, _, done)
        bot = self.application.bot
        message_id = self.progress_messages.get(broadcast.id, broadcast.progress_message)
        try:
            if message_id is None:
                sent = await say.send(bot, broadcast.operator_chat, text)
                await services.broadcasts.set_progress_message(broadcast, sent.message_id)
                self.progress_messages[broadcast.id] = sent.message_id
            else:
                await say.edit_by_id(bot, broadcast.operator_chat, message_id, text)
        except (BadRequest, NetworkError) as exc:  # "not modified", a hiccup: next time
            log.debug("progress of broadcast %s not shown: %s", broadcast.id, exc)
