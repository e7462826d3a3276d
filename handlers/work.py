"""The work loop on the phone: pick a project, answer, skip, stop, type a transcription."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.domain.money import format_money
from bot.domain.projects import Project
from bot.domain.records import Worker
from bot.i18n import Gettext
from bot.services.catalog import MANY
from bot.services.leasing import Shown
from bot.services.work import AnswerResult, Outcome
from handlers import bursts, quiz, say, serve
from handlers.callbacks import (
    Answer,
    Notify,
    Pick,
    ReadsLanguage,
    Skip,
    Stop,
    Tasks,
    Unreadable,
    any_of,
    parse_any,
)
from handlers.common import Context, many
from handlers.keyboards import button, column, only_other_projects, other_projects, stale
from handlers.quiz_text import feedback_note, too_long
from handlers.render import show_text

#: the buttons of the task loop: one handler, matched first (they are nearly every tap)
TASK_BUTTONS = (Answer, Unreadable, Skip, Stop, Pick, Tasks)
TASK_PATTERN = any_of(*TASK_BUTTONS)


async def tasks(update: Update, context: Context, replace: Message | None = None) -> None:
    """``/tasks``: open projects with their pay and how much work waits, one tap each."""
    chat = update.effective_chat
    if chat is None:
        return
    user = update.effective_user
    _ = await context.gettext()
    projects = (await context.services.work.offers(user.id, MANY + 1)
                if user is not None else [])
    if not projects:
        await show_text(context, chat.id, _("There are no tasks right now. Please look again "
                                             "later."), replace=replace)
        return
    rows = column(button(
        _("{title} · {amount} · {count} left", title=p.spec.title.get(_.language),
          amount=format_money(p.spec.reward_micros, p.spec.currency, _.language),
          count=many(n)), Pick(p.id)) for p, n in projects)
    await show_text(context, chat.id, _("Pick a project to start:"),
                    InlineKeyboardMarkup(rows), replace=replace)


async def callback(update: Update, context: Context) -> None:
    """Every task button. The data is parsed strictly and checked against the database."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    tapped = parse_any(query.data, TASK_BUTTONS)
    replace = query.message if isinstance(query.message, Message) else None
    if tapped is None:
        await stale(query, await context.gettext())
        return
    work = context.services.work
    if isinstance(tapped, Pick):
        await query.answer()
        await serve.begin_by_id(update, context, tapped.project, replace)
        return
    if isinstance(tapped, Tasks):
        await query.answer()
        await tasks(update, context, replace)
        return
    # the next task will be edited into this message: the domain records it there
    shown = Shown(replace.chat_id, replace.message_id) if replace is not None else None
    if isinstance(tapped, Answer):
        result = await work.answer_choice(user.id, tapped.assignment, tapped.choice, shown)
    elif isinstance(tapped, Unreadable):
        result = await work.answer_text(user.id, "", message_id=None,
                                        assignment_id=tapped.assignment, shown=shown)
    elif isinstance(tapped, Skip):
        result = await work.skip(user.id, tapped.assignment, shown)
    else:
        assert isinstance(tapped, Stop)
        result = await work.stop(user.id, tapped.assignment)
    # the worker's row came back from the answer's transaction: no second read
    context.remember(result.worker)
    worker, _ = result.worker, await context.gettext()
    if isinstance(tapped, Stop):
        await query.answer(_("Stopped. Your answers are saved."))
        if result.outcome is not Outcome.FORGED and result.served and result.served.project:
            await _stopped(update, context, result.served.project, _, replace)
        return
    saved = _skipped_line(result, _) if isinstance(tapped, Skip) else _saved_line(result, _)
    # refused when this tap was answered before: a replica that died after answering it
    # and before showing the next task, whose update another replica handles again
    with contextlib.suppress(BadRequest):
        await query.answer(saved or _outcome_text(result, _))
    if result.served is not None:
        if await _burst_over(update, context, worker, result, replace):
            return
        senior = worker is not None and worker.senior
        note = "\n".join(n for n in (saved if senior else "", _feedback(result, _)) if n)
        await serve.present(update, context, result.served, _, replace, note, senior,
                            answered=True)


async def typed_answer(update: Update, context: Context) -> None:
    """A text message is the answer to the worker's open transcription task."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or message.text is None:
        return
    if await quiz.typed_answer(update, context):
        return
    result = await context.services.work.answer_text(user.id, message.text,
                                                         message.message_id)
    context.remember(result.worker)
    worker, _ = result.worker, await context.gettext()
    if result.outcome is Outcome.ALREADY_ANSWERED:
        return  # the same message delivered twice: it was answered the first time
    if result.outcome is Outcome.NO_TASK:
        await say.reply(message, _("To get a task, tap /tasks."))
        return
    if result.outcome is Outcome.TOO_LONG:
        await say.reply(message, too_long(_))
        return
    if result.outcome is Outcome.INVALID:
        await say.reply(message, _("Please answer with the buttons under the task."))
        return
    note = "\n".join(n for n in (_saved_line(result, _) or _outcome_text(result, _),
                                 _feedback(result, _)) if n)
    if result.served is not None:
        if await _burst_over(update, context, worker, result, None):
            return
        await serve.present(update, context, result.served, _, note=note,
                            senior=worker is not None and worker.senior, answered=True)


async def not_text(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is not None:
        _ = await context.gettext()
        await say.reply(message, _("Please type your answer as text, or tap a button."))


async def unknown_button(update: Update, context: Context) -> None:
    """Anything else a client sends as callback data: forged or from an old version."""
    query = update.callback_query
    if query is not None:
        await stale(query, await context.gettext())


async def reads_button(update: Update, context: Context) -> None:
    """ "Yes, I read Korean": the language joins the worker's, then the project starts."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    tapped = ReadsLanguage.parse(query.data)
    services = context.services
    project = await services.catalog.get_by_id(tapped.project) if tapped else None
    if tapped is None or project is None or tapped.language not in project.languages:
        await stale(query, await context.gettext())
        return
    worker = await services.workers.add_language(user.id, tapped.language)
    if worker is None:
        await stale(query, await context.gettext())
        return
    await query.answer()
    context.remember(worker)
    replace = query.message if isinstance(query.message, Message) else None
    await serve.begin_by_id(update, context, project.id, replace)


async def notify_button(update: Update, context: Context) -> None:
    """ "Tell me when there are tasks": notifications on, and this project may tell them
    at once when it has work for them."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    tapped = Notify.parse(query.data)
    services = context.services
    _ = await context.gettext()
    if tapped is None or not await services.broadcasts.subscribe(user.id, tapped.project):
        await stale(query, _)
        return
    await query.answer()
    replace = query.message if isinstance(query.message, Message) else None
    chat = update.effective_chat
    assert chat is not None
    await show_text(context, chat.id, _("Done: we will send you a message when this project "
                                        "has tasks for you."),
                    only_other_projects(_), replace)


async def _stopped(update: Update, context: Context, project: Project, _: Gettext,
                   replace: Message | None) -> None:
    chat = update.effective_chat
    assert chat is not None
    markup = InlineKeyboardMarkup(column([button(_("▶️ Continue"), Pick(project.id)),
                                          other_projects(_)]))
    text = _("Stopped. Your answers are saved. Tap Continue when you have another minute.")
    if replace is not None and replace.text is None:
        # a photo or recording cannot turn into text: take its buttons away instead
        await replace.edit_reply_markup(None)
        replace = None
    await show_text(context, chat.id, text, markup, replace)


def _saved_line(result: AnswerResult, _: Gettext) -> str:
    """ "✓ Saved · +$0.02 · 14 today": the progress a spare minute adds up to."""
    served = result.served
    if result.outcome is not Outcome.ACCEPTED or served is None or served.project is None:
        return ""
    spec = served.project.spec
    return _("✓ Saved · +{amount} · {count} today",
             amount=format_money(spec.reward_micros, spec.currency, _.language),
             count=result.today)


def _skipped_line(result: AnswerResult, _: Gettext) -> str:
    """A skip earns nothing and is not counted: saying "Saved · +$0.02" would promise pay
    that never comes."""
    return _("⏭ Skipped") if result.outcome is Outcome.ACCEPTED else ""


async def _burst_over(update: Update, context: Context, worker: Worker | None,
                      result: AnswerResult, replace: Message | None) -> bool:
    """After an answer: if a /quick burst's time is up, show its summary instead of the
    next task (``Bursts.end_if_over`` hands that back). True when it did."""
    over, summary = await context.services.bursts.end_if_over(worker, result.served)
    if summary is not None:
        user = update.effective_user
        assert user is not None
        await bursts.show_summary(context, user.id, summary,
                                  await context.gettext(), replace)
    return over


def _feedback(result: AnswerResult, _: Gettext) -> str:
    served = result.served
    if result.feedback is None or served is None or served.project is None:
        return ""
    return feedback_note(served.project, result.feedback, _)


def _outcome_text(result: AnswerResult, _: Gettext) -> str:
    texts = {
        Outcome.ACCEPTED: _("✓ Saved"),
        Outcome.ALREADY_ANSWERED: _("This answer was already saved."),
        Outcome.NOT_OPEN: _("This task is already closed."),
        Outcome.EXPIRED: _("This task timed out and went back to the pool, so the answer "
                           "was not counted."),
        Outcome.FORGED: _("Sorry, this button does not work any more."),
        Outcome.INVALID: _("Sorry, that answer does not fit this task."),
        Outcome.TOO_LONG: too_long(_),
        Outcome.NO_TASK: _("To get a task, tap /tasks."),
    }
    return texts[result.outcome]
