"""After a drawing is saved in the Mini App, the chat moves on: the next task (or why
there is none) arrives as a new message, with "✓ Saved" and any gold feedback above it.

A tap edits the next task into the message it came from; a Mini App closes, and the
answer reached the web server, not the chat, so there is no message to edit. The old
task's button is taken away (its page would only say the task is answered).

A quiz question answered in the Mini App moves on the same way: after a practice
question the picture comes back with the right boxes or points drawn in green and the
worker's in red (right or wrong: practice teaches), then the next question; an exam
says nothing until its end, where the result is followed by each missed question drawn
(at most ``MISSED_SHOWN`` pictures).
"""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest

from bot.domain.money import format_money
from bot.domain.projects import Project
from bot.i18n import Gettext
from bot.services.quiz import QuizOutcome, QuizStep
from bot.services.work import AnswerResult, Feedback
from handlers import say
from handlers.common import App
from handlers.context import TapworkContext
from handlers.keyboards import other_projects
from handlers.quiz import present_to
from handlers.quiz_text import feedback_note
from handlers.render import show_task, show_text
from handlers.web.miniapp import AnswerHook
from handlers.web.miniapp.quiz import QuizHook

#: missed exam questions shown drawn at the end of an exam (the rest are counted)
MISSED_SHOWN = 5


def next_task_in_chat(application: App) -> AnswerHook:
    """The Mini App's ``on_answered`` for a running bot (``handlers.web.miniapp``)."""

    async def show(worker_id: int, result: AnswerResult, _: Gettext) -> None:
        served = result.served
        if served is None:
            return
        context = TapworkContext(application, chat_id=worker_id, user_id=worker_id)
        context.remember(result.worker)
        notes = []
        if served.project is not None:
            spec = served.project.spec
            notes.append(_("✓ Saved · +{amount} · {count} today",
                           amount=format_money(spec.reward_micros, spec.currency,
                                               _.language), count=result.today))
        if result.feedback is not None and served.project is not None and (
                result.feedback.correct or not await _drawn(
                    context, worker_id, served.project, result.feedback, _)):
            notes.append(feedback_note(served.project, result.feedback, _))
        note = "\n".join(notes)
        if result.answered_in is not None:
            chat_id, message_id = result.answered_in
            with contextlib.suppress(BadRequest):
                await application.bot.edit_message_reply_markup(chat_id, message_id,
                                                                reply_markup=None)
        if served.task is not None:
            senior = result.worker is not None and result.worker.senior
            await show_task(context, worker_id, served.task, _, note=note, senior=senior)
            return
        text = _("You have done every task in this project for now. Thank you!")
        await show_text(context, worker_id, f"{note}\n\n{text}" if note else text,
                        InlineKeyboardMarkup([[other_projects(_)]]))

    return show


async def _drawn(context: TapworkContext, chat_id: int, project: Project,
                 feedback: Feedback, _: Gettext) -> bool:
    """The picture with the right shapes (green) and the worker's (red, dashed) drawn
    on it, captioned with the feedback; False when there is no picture to draw."""
    picture = await context.services.work.drawn_feedback(project, feedback)
    if picture is None:
        return False
    caption = "\n".join((feedback_note(project, feedback, _),
                          _("Green: the right answer. Red, dashed: yours.")))
    await say.send_media(context.bot, chat_id, "photo",
                         InputFile(picture, filename="right.jpg"), caption, None)
    return True


def next_question_in_chat(application: App) -> QuizHook:
    """The Mini App's ``on_quiz`` for a running bot (``handlers.web.miniapp.quiz``)."""

    async def show(worker_id: int, step: QuizStep, _: Gettext) -> None:
        context = TapworkContext(application, chat_id=worker_id, user_id=worker_id)
        project = step.project
        note = None
        if step.feedback is not None and project is not None \
                and await _drawn(context, worker_id, project, step.feedback, _):
            note = ""  # said in the picture's caption
        await present_to(context, worker_id, worker_id, step, _, note=note)
        if step.outcome is not QuizOutcome.FINISHED or step.result is None \
                or project is None:
            return
        missed = [m for m in step.result.missed if m.media_id is not None]
        for shown in missed[:MISSED_SHOWN]:
            await _drawn(context, worker_id, project, shown.feedback, _)
        if len(missed) > MISSED_SHOWN:
            await show_text(context, worker_id, _(
                "{count} more missed questions are not shown as pictures.",
                count=len(missed) - MISSED_SHOWN))

    return show
