"""The qualifying quiz on the phone: practice with explanations, then the exam."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.i18n import Gettext
from bot.quiz import Question, QuizOutcome, QuizStep
from handlers import say, serve
from handlers.common import Context, gettext_of, services_of
from handlers.quiz_text import feedback_note, gate_text, other_projects, result_text, too_long
from handlers.render import answer_rows, show_item, show_text

#: ``q:<attempt>:<position>:<choice or u>`` answers; ``qs:<project>`` starts a round
_ANSWER = re.compile(r"^q:([0-9]{1,12}):([0-9]{1,3}):([0-9]{1,2}|u)$")
_START = re.compile(r"^qs:([0-9]{1,12})$")


async def show_question(context: Context, chat_id: int, question: Question, _: Gettext,
                        replace: Message | None = None, note: str = "") -> None:
    a, p = question.attempt_id, question.position
    # both rounds may end early (bot.quiz_rules): the total is an upper bound
    header = (_("Practice {n} of at most {total}", n=p + 1, total=question.total)
              if question.phase == "training"
              else _("Exam question {n} of at most {total}", n=p + 1, total=question.total))
    markup = InlineKeyboardMarkup(answer_rows(question.project, _,
                                              lambda choice: f"q:{a}:{p}:{choice}"))
    sent, file_id = await show_item(context, chat_id, question.project, question.text,
                                    question.media, markup, _, replace, note, header)
    if file_id and question.media is not None:
        await services_of(context).work.remember_file_id(question.media.id, file_id)
    assert sent


async def present_step(update: Update, context: Context, step: QuizStep, _: Gettext,
                       replace: Message | None = None) -> None:
    chat = update.effective_chat
    assert chat is not None
    project = step.project
    note = feedback_note(project, step.feedback, _) if step.feedback and project else ""
    if step.outcome is QuizOutcome.NEXT and step.question is not None:
        await show_question(context, chat.id, step.question, _, replace, note)
        return
    if project is None:
        return
    if step.outcome is QuizOutcome.TRAINING_DONE and update.effective_user is not None:
        gate = await services_of(context).work.access(update.effective_user.id, project)
        text, markup = gate_text(project, gate, _)
        done = _("Practice finished. Well done!")
        await show_text(context, chat.id, "\n\n".join(p for p in (note, done, text) if p),
                        markup, replace)
        return
    if step.outcome is QuizOutcome.FINISHED and step.result is not None:
        rows = [[InlineKeyboardButton(_("▶️ Start working"), callback_data=f"p:{project.id}")]]\
            if step.result.passed else []
        rows.append(other_projects(_))
        await show_text(context, chat.id, result_text(project, step.result, _),
                        InlineKeyboardMarkup(rows), replace)
        return
    if step.outcome in (QuizOutcome.NO_QUIZ, QuizOutcome.NOTHING_LEFT):
        await serve.begin_by_id(update, context, project.id, replace)


async def callback(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _ = await gettext_of(update, context)
    services = services_of(context)
    replace = query.message if isinstance(query.message, Message) else None
    data = query.data or ""
    started = _START.match(data)
    if started:
        await query.answer()
        project = await services.catalog.get_by_id(int(started.group(1)))
        if project is None:
            return
        step = await services.quizzes.begin(user.id, project)
        await present_step(update, context, step, _, replace)
        return
    answered = _ANSWER.match(data)
    if answered is None:
        await query.answer(_("Sorry, this button does not work any more."))
        return
    attempt, position, choice = answered.groups()
    if choice == "u":
        step = await services.quizzes.answer(user.id, int(attempt), int(position), text="")
    else:
        step = await services.quizzes.answer(user.id, int(attempt), int(position),
                                             choice=int(choice))
    await query.answer(_step_alert(step, _))
    if step.outcome in (QuizOutcome.NEXT, QuizOutcome.TRAINING_DONE, QuizOutcome.FINISHED):
        await present_step(update, context, step, _, replace)


async def typed_answer(update: Update, context: Context) -> bool:
    """A typed reply to an open transcription quiz; False when there is none."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or message.text is None:
        return False
    services = services_of(context)
    current = await services.quizzes.open_attempt(user.id)
    if current is None:
        return False
    attempt, position = current
    step = await services.quizzes.answer(user.id, attempt, position, text=message.text,
                                         message_id=message.message_id)
    _ = await gettext_of(update, context)
    if step.outcome in (QuizOutcome.NEXT, QuizOutcome.TRAINING_DONE, QuizOutcome.FINISHED):
        await present_step(update, context, step, _)
    elif step.outcome is QuizOutcome.TOO_LONG:
        await say.reply(message, too_long(_))
    elif step.outcome is QuizOutcome.INVALID:
        await say.reply(message, _("Please answer with the buttons under the task."))
    return True


def _step_alert(step: QuizStep, _: Gettext) -> str:
    if step.outcome in (QuizOutcome.NEXT, QuizOutcome.TRAINING_DONE, QuizOutcome.FINISHED):
        return _("✓ Saved")
    if step.outcome is QuizOutcome.ALREADY_ANSWERED:
        return _("This answer was already saved.")
    if step.outcome is QuizOutcome.STALE:
        return _("This question is already closed.")
    if step.outcome is QuizOutcome.INVALID:
        return _("Sorry, that answer does not fit this task.")
    return _("Sorry, this button does not work any more.")
