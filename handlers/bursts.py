"""/quick: spare-minute bursts, and the summary that ends them on time."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden

from bot.domain.money import format_money
from bot.i18n import Gettext, gettext_for
from bot.services.bursts import DEFAULT_MINUTES, MAX_MINUTES, BurstSummary
from handlers import say, serve
from handlers.callbacks import MoreMinute
from handlers.common import Context
from handlers.inputs import whole_number
from handlers.keyboards import button, column, other_projects
from handlers.render import show_text


def summary_text(summary: BurstSummary, _: Gettext) -> str:
    earned = ", ".join(format_money(v, c, _.language) for c, v in summary.earned.items())
    lines = [_("Time's up! In {minutes} min you did {tasks} tasks and earned {amount}.",
               minutes=summary.minutes, tasks=summary.tasks, amount=earned or "0")]
    if summary.gold_total:
        lines.append(_("Check questions right: {share}%.",
                       share=round(100 * summary.gold_correct / summary.gold_total)))
    return "\n".join(lines)


def summary_markup(_: Gettext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(column([button(_("⏱ 1 more minute?"), MoreMinute()),
                                        other_projects(_)]))


async def show_summary(context: Context, chat_id: int, summary: BurstSummary, _: Gettext,
                       replace: Message | None = None) -> None:
    await show_text(context, chat_id, summary_text(summary, _), summary_markup(_), replace)


async def quick(update: Update, context: Context) -> None:
    """``/quick [minutes]``: tasks for that long from the project worked on last."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    _ = await context.gettext()
    minutes = DEFAULT_MINUTES
    if context.args:
        chosen = whole_number(context.args[0], 1, MAX_MINUTES)
        if chosen is None:
            await say.reply(message, _("Use: /quick MINUTES, from 1 to {most}.",
                                         most=MAX_MINUTES))
            return
        minutes = chosen
    await _begin(update, context, minutes, None)


async def more(update: Update, context: Context) -> None:
    """The "1 more minute?" button."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    replace = query.message if isinstance(query.message, Message) else None
    await _begin(update, context, 1, replace)


async def _begin(update: Update, context: Context, minutes: int,
                 replace: Message | None) -> None:
    user = update.effective_user
    assert user is not None
    services = context.services
    _ = await context.gettext()
    project_id = await services.work.last_project(user.id)
    candidates = [p for p, _count in await services.work.offers(user.id, 1)]
    if project_id is None or all(p.id != project_id for p in candidates):
        project_id = candidates[0].id if candidates else None
    if project_id is None:
        chat = update.effective_chat
        assert chat is not None
        await show_text(context, chat.id, _("There are no tasks right now. Please look "
                                             "again later."), replace=replace)
        return
    await services.bursts.start(user.id, minutes)
    note = _("⏱ {minutes} min: go!", minutes=minutes)
    await serve.begin_by_id(update, context, project_id, replace, note)


async def end_bursts(context: Context) -> None:
    """A job: bursts whose time ran out mid-task end on time (``Bursts.end_due``); each
    worker gets the summary, and the task's buttons are taken away."""
    for ended in await context.services.bursts.end_due():
        worker_id, _ = ended.worker.id, gettext_for(ended.worker.language)
        try:
            if ended.task_message_id is not None:
                with contextlib.suppress(BadRequest):
                    await context.bot.edit_message_reply_markup(
                        worker_id, ended.task_message_id, reply_markup=None)
            await say.send(context.bot, worker_id, summary_text(ended.summary, _),
                           reply_markup=summary_markup(_))
        except Forbidden:
            await context.services.workers.blocked(worker_id)
