"""The qualifying quiz on the phone: practice with explanations, then the exam."""

from __future__ import annotations

import re

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.assign import MAX_TYPED_ANSWER, GoldFeedback, Project
from bot.i18n import Gettext
from bot.qualify import GOLD, OPERATOR, TOO_FAST, Access, Gate
from bot.quiz import ExamResult, Feedback, Question, QuizOutcome, QuizStep
from handlers import say
from handlers.common import Context, gettext_of, services_of
from handlers.render import answer_rows, show_item, show_text, value_name

#: ``q:<attempt>:<position>:<choice or u>`` answers; ``qs:<project>`` starts a round
_ANSWER = re.compile(r"^q:([0-9]{1,12}):([0-9]{1,3}):([0-9]{1,2}|u)$")
_START = re.compile(r"^qs:([0-9]{1,12})$")


def other_projects(_: Gettext) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(_("📋 Other projects"), callback_data="t")]


def gate_text(project: Project, gate: Access, _: Gettext) -> tuple[str, InlineKeyboardMarkup]:
    """Why this worker cannot work here yet, in plain words, and what they can do."""
    start = [InlineKeyboardButton(_("▶️ Start practice") if gate.training
                                  else _("▶️ Start the exam"),
                                  callback_data=f"qs:{project.id}")]
    quiz = project.spec.quiz
    if gate.gate is Gate.QUIZ and quiz is not None:
        if gate.training:
            text = _("Before you work on this project, a short practice round shows you how. "
                     "After each answer you see the right one and why. Practice is not scored.")
        else:
            text = _("The exam has {count} questions; you need {needed} right to unlock the "
                     "tasks. You will see your score and the right answers at the end. "
                     "Tries left: {tries}.", count=quiz.questions, needed=quiz.pass_count,
                     tries=gate.tries_left)
        return text, InlineKeyboardMarkup([start, other_projects(_)])
    if gate.gate is Gate.COOLDOWN and gate.retry_at is not None:
        text = _("You can take the exam again from {when}. Tries left: {tries}.",
                 when=format_datetime(gate.retry_at, "short", locale=_.language),
                 tries=gate.tries_left)
    elif gate.gate is Gate.CLOSED:
        text = _("You have used every try at this project's exam, so it stays closed to you. "
                 "Other projects may suit you better.")
    elif gate.gate is Gate.SUSPENDED:
        text = suspension_text(project, gate.reason, _)
    else:
        text = _("This project is not open yet. Please look again later.")
    return text, InlineKeyboardMarkup([other_projects(_)])


def suspension_text(project: Project, reason: str | None, _: Gettext) -> str:
    if reason == GOLD:
        return _("You are paused from this project: fewer than {share}% of your answers to "
                 "check questions were right. An operator can look at it and reinstate you.",
                 share=round(project.spec.min_accuracy * 100))
    if reason == TOO_FAST:
        return _("You are paused from this project: many of your recent answers came faster "
                 "than a task can be read. An operator can look at it and reinstate you.")
    assert reason in (OPERATOR, None)
    return _("An operator has paused you from this project.")


def feedback_note(project: Project, feedback: Feedback | GoldFeedback, _: Gettext) -> str:
    """Right or wrong, the right answer, and why: shown at once, kept on screen."""
    if feedback.correct:
        text = _("✓ Right!")
    else:
        text = _("✗ Not quite. The right answer is: {answer}",
                 answer=value_name(project, feedback.answer, _))
    if feedback.explain is not None:
        text += "\n" + feedback.explain.get(_.language)
    return text


def result_text(project: Project, result: ExamResult, _: Gettext) -> str:
    """The score, what happens now, and each missed question with its right answer and
    why. The questions were on screen during the exam, so each is recalled by its first
    words (``say.RECALL`` characters); the explanations are whole, and a long result
    arrives as several messages (``handlers.say``)."""
    lines = [_("Exam finished: {correct} of {total} right ({needed} needed).",
               correct=result.correct, total=result.total, needed=result.needed)]
    if result.passed:
        lines.append(_("You passed! The tasks of this project are open to you now."))
    elif result.retry_at is not None:
        lines.append(_("Not passed this time. You can try again from {when}. Tries left: "
                       "{tries}.", when=format_datetime(result.retry_at, "short",
                                                        locale=_.language),
                       tries=result.tries_left))
    else:
        lines.append(_("Not passed, and no tries are left, so this project stays closed "
                       "to you."))
    if result.missed:
        lines.append("")
        lines.append(_("What you missed:"))
        for missed in result.missed:
            recalled = say.shorten(missed.text, say.RECALL) if missed.text else "…"
            line = f"• {recalled} → {value_name(project, missed.answer, _)}"
            if missed.explain is not None:
                line += f" ({missed.explain.get(_.language)})"
            lines.append(line)
    return "\n".join(lines)


async def show_question(context: Context, chat_id: int, question: Question, _: Gettext,
                        replace: Message | None = None, note: str = "") -> None:
    a, p = question.attempt_id, question.position
    header = (_("Practice {n} of {total}", n=p + 1, total=question.total)
              if question.phase == "training"
              else _("Exam question {n} of {total}", n=p + 1, total=question.total))
    markup = InlineKeyboardMarkup(answer_rows(question.project, _,
                                              lambda choice: f"q:{a}:{p}:{choice}"))
    sent, file_id = await show_item(context, chat_id, question.project, question.text,
                                    question.media, markup, _, replace, note, header)
    if file_id and question.media is not None:
        await services_of(context).loop.remember_file_id(question.media.id, file_id)
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
        gate = await services_of(context).loop.access(update.effective_user.id, project)
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
        from handlers import work

        await work.begin_by_id(update, context, project.id, replace)


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


def too_long(_: Gettext) -> str:
    """A typed answer over the limit, in a quiz or at work: nothing was saved, and this
    says how long an answer may be (not "use the buttons": there are none to use)."""
    return _("That answer is too long: an answer can have at most {limit} characters. "
             "Nothing was saved; please shorten it and send it again.",
             limit=MAX_TYPED_ANSWER)


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
