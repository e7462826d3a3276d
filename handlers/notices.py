"""How an outbox notice looks on a worker's phone; ``bot/services/notice_delivery.py`` decides
when it goes (never in quiet hours, never mid-task) and sends it through
``handlers/sending.py``."""

from __future__ import annotations

from bot.domain.money import format_money
from bot.domain.notice_kinds import INVITATIONS, BroadcastHeld, DailySummary, NoticeBody
from bot.domain.projects import Project
from bot.i18n import Gettext
from bot.services.sending import Outgoing
from handlers.broadcast import invitation_message
from handlers.common import Context, many
from handlers.render import value_name
from handlers.sending import TelegramSender
from handlers.wallet import notice_text


def render(body: NoticeBody, project: Project | None, _: Gettext) -> Outgoing:
    """The message for a notice; ``project`` is the one it is about, as it is now (its
    title in the reader's language, never its slug)."""
    if isinstance(body, INVITATIONS):
        assert project is not None, "the delivery finds an invitation's project"
        text = body.text if isinstance(body, BroadcastHeld) else None
        return invitation_message(project, text, _)
    if isinstance(body, DailySummary):
        return Outgoing(summary_text(body, _))

    def name(value: str) -> str:
        return value_name(project, value, _) if project else (value or "—")

    return Outgoing(notice_text(body, _, name, project.spec.title.get(_.language)
                                if project else None))


def summary_text(summary: DailySummary, _: Gettext) -> str:
    """The day's summary."""
    money = ", ".join(format_money(v, c, _.language) for c, v in summary.earned)
    lines = [_("Your day: earned {amount}.", amount=money or format_money(0, "USD", _.language))]
    total, correct = summary.gold_total, summary.gold_correct
    if total:
        lines.append(_("Check questions right: {share}%.", share=round(100 * correct / total)))
    lines.append(_("Tasks waiting: {count}. Tap /tasks when you have a minute.",
                   count=many(summary.waiting)))
    return "\n".join(lines)


async def deliver_notices(context: Context) -> None:
    """A job: send what the outbox holds that is due."""
    await context.services.delivery.deliver(TelegramSender(context.bot), render)
