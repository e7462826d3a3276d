"""How a broadcast looks on a worker's phone; ``bot/services/broadcast_runner.py`` sends it."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.domain.money import format_money
from bot.domain.projects import Project
from bot.i18n import Gettext
from bot.services.sending import Outgoing
from handlers import say
from handlers.keyboards import start_project


def invitation(project: Project, text: str | None, _: Gettext
               ) -> tuple[str, InlineKeyboardMarkup]:
    """The message a worker gets: the operator's words, or ours in their language.

    The title stands on a line of its own, followed only by " · ": a title may end with
    its own "?" or "。", and a sentence around it would double the punctuation.

    The operator's words are sent as written and were checked to fit one message when
    they were written (``bot.services.broadcast.check_text``); one queued before that check is
    cut with "…" rather than split, since a broadcast sends each worker one message.
    Plain text: the outbox delivers deferred invitations as they are.
    """
    body = say.shorten(text, say.TEXT_LIMIT) if text else _(
        "New tasks are waiting:\n{title} · {amount} per task",
        title=project.spec.title.get(_.language), amount=_reward(project, _))
    markup = InlineKeyboardMarkup([[start_project(_("▶️ Start"), project.id)]])
    return body, markup


def invitation_message(project: Project, text: str | None, _: Gettext) -> Outgoing:
    """``invitation`` as the broadcast engine and the outbox carry it."""
    body, markup = invitation(project, text, _)
    return Outgoing(body, markup)


def _reward(project: Project, _: Gettext) -> str:
    return format_money(project.spec.reward_micros, project.spec.currency, _.language)
