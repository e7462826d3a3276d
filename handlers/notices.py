"""Delivering the outbox: pay notices, project invitations, deferred broadcasts.

Nothing here is a reply, so nothing goes out in the worker's quiet hours: a notice due
then waits for their morning. Nor does one land in the middle of a task, where it would
push the task's buttons up out of sight.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import Forbidden

from bot.i18n import Gettext, gettext_for
from bot.money import format_money
from bot.notices import Notice
from bot.projects import Project
from bot.quiet import quiet_until
from handlers import say
from handlers.broadcast import invitation
from handlers.common import Context, many, never_left, services_of
from handlers.render import value_name
from handlers.wallet import notice_text

log = logging.getLogger(__name__)
#: a notice that keeps failing is dropped after this many tries
MAX_ATTEMPTS = 5
PROJECT_KINDS = ("opened", "new_items", "broadcast")
#: seconds a notice waits while its worker is in the middle of a task
BUSY_DELAY = 60


async def render(context: Context, notice: Notice, _: Gettext
                 ) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """Text and buttons for a notice; None when it no longer makes sense to send."""
    services = services_of(context)
    if notice.kind in PROJECT_KINDS:
        invited = await services.catalog.get_by_id(int(notice.payload["project_id"]))
        if invited is None or invited.status != "open":
            return None
        if not await services.work.has_work(notice.worker_id, invited):
            return None  # taken by others, or done, while the notice waited
        return invitation(invited, notice.payload.get("text"), _)
    if notice.kind == "summary":
        return summary_text(notice.payload, _), None
    project: Project | None = None
    if "project_id" in notice.payload:
        project = await services.catalog.get_by_id(int(notice.payload["project_id"]))
    elif "project" in notice.payload:  # queued before notices named the project by id
        with contextlib.suppress(LookupError):
            project = await services.catalog.get(notice.payload["project"])
    if project is not None:
        # the reader sees the project's title in their language, never its slug
        notice = replace(notice, payload={**notice.payload,
                                          "project": project.spec.title.get(_.language)})

    def name(value: str) -> str:
        return value_name(project, value, _) if project else (value or "—")

    return notice_text(notice, _, name), None


def summary_text(payload: dict[str, Any], _: Gettext) -> str:
    """The day's summary, read from the notice's stored JSON payload."""
    earned = payload.get("earned") or {}
    assert isinstance(earned, dict)
    money = ", ".join(format_money(int(v), str(c), _.language) for c, v in earned.items())
    lines = [_("Your day: earned {amount}.", amount=money or format_money(0, "USD", _.language))]
    total, correct = int(payload.get("gold_total") or 0), int(payload.get("gold_correct") or 0)
    if total:
        lines.append(_("Check questions right: {share}%.", share=round(100 * correct / total)))
    lines.append(_("Tasks waiting: {count}. Tap /tasks when you have a minute.",
                   count=many(payload.get("waiting", 0))))
    return "\n".join(lines)


async def deliver_notices(context: Context) -> None:
    """A job: send what is due, each notice at most once (``bot/notices.py`` says how);
    blocked users are marked, certain failures retried, then dropped."""
    services = services_of(context)
    notices = services.notices
    now = services.clock.now()
    for notice in await notices.due():
        worker = await services.workers.get(notice.worker_id)
        if worker is None or not worker.active:
            await notices.skip(notice, "gone")  # nobody to tell
            continue
        if quiet_until(now, worker.timezone, worker.quiet_start, worker.quiet_end):
            await notices.after_quiet_hours(notice, worker)
            continue
        if await services.work.busy([worker.id]):
            # mid-task or mid-quiz: a message now would push the question up the chat
            await notices.postpone(notice, BUSY_DELAY)
            continue
        _ = gettext_for(worker.language)
        try:
            rendered = await render(context, notice, _)
        except Exception:  # a bug must not block every notice behind this one
            log.exception("notice %s could not be rendered", notice.id)
            if (claim := await notices.claim(notice)) is not None:
                await notices.later(notice, claim, MAX_ATTEMPTS)
            continue
        if rendered is None:
            await notices.skip(notice, "stale")
            continue
        # committed before the send: from here a crash leaves it in doubt, never resent
        claim = await notices.claim(notice)
        if claim is None:
            continue  # another delivery has it, or finished it meanwhile
        text, markup = rendered
        try:
            await say.send(context.bot, notice.worker_id, text, reply_markup=markup)
        except Forbidden:
            await services.workers.blocked(notice.worker_id)
            await notices.blocked(notice, claim)
        except Exception as exc:
            if not never_left(exc):  # it may have arrived: never risk a second copy
                await notices.in_doubt(notice, claim, f"{type(exc).__name__}: {exc}")
                continue
            log.warning("notice %s not sent: %s", notice.id, exc)
            await notices.later(notice, claim, MAX_ATTEMPTS)
        else:
            await notices.sent(notice, claim)
