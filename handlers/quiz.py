"""The qualifying quiz on the phone: the exam, and practice with explanations for a worker
who misses its first question."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update

from bot.i18n import Gettext
from bot.services.quiz import Question, QuizOutcome, QuizStep
from handlers import say, serve
from handlers.callbacks import QuizAnswer, QuizStart, any_of, parse_any
from handlers.common import Context
from handlers.keyboards import other_projects, stale, start_project
from handlers.quiz_text import feedback_note, gate_text, practice_note, result_text, too_long
from handlers.render import answer_rows, drawing_button, show_item, show_text

#: starting a round and answering its questions: one handler
QUIZ_BUTTONS = (QuizStart, QuizAnswer)
QUIZ_PATTERN = any_of(*QUIZ_BUTTONS)


async def show_question(context: Context, chat_id: int, question: Question, _: Gettext,
                        replace: Message | None = None, note: str = "") -> None:
    """A question with its answer buttons; a boxes or points question has one, opening
    it in the Mini App (``/app/quiz/<attempt>/<position>``)."""
    a, p = question.attempt_id, question.position
    # both rounds may end early (bot.quiz_rules): the total is an upper bound
    header = (_("Practice {n} of at most {total}", n=p + 1, total=question.total)
              if question.phase == "training"
              else _("Exam question {n} of at most {total}", n=p + 1, total=question.total))
    if question.project.spec.spatial:
        markup = InlineKeyboardMarkup([[drawing_button(
            question.project, f"quiz/{a}/{p}", _, context.services.config.web.public_url,
            other_projects(_))]])
    else:
        markup = InlineKeyboardMarkup(answer_rows(question.project, _,
                                                  lambda choice: QuizAnswer(a, p, choice)))
    sent, file_id = await show_item(context, chat_id, question.project, question.text,
                                    question.media, markup, _, replace, note, header)
    if file_id and question.media is not None:
        await context.services.work.remember_file_id(question.media.id, file_id)
    assert sent


async def present_step(update: Update, context: Context, step: QuizStep, _: Gettext,
                       replace: Message | None = None) -> None:
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    if step.outcome in (QuizOutcome.NO_QUIZ, QuizOutcome.NOTHING_LEFT):
        if step.project is not None:
            await serve.begin_by_id(update, context, step.project.id, replace)
        return
    if user is not None:
        await present_to(context, chat.id, user.id, step, _, replace)


async def present_to(context: Context, chat_id: int, user_id: int, step: QuizStep,
                     _: Gettext, replace: Message | None = None, note: str | None = None
                     ) -> None:
    """The next question, the end of practice, or the exam's result, in ``chat_id``
    (``note``: instead of the feedback line, when it was shown apart)."""
    project = step.project
    if note is None:
        note = feedback_note(project, step.feedback, _) if step.feedback and project else ""
    if step.practice_started:
        note = "\n\n".join(p for p in (note, practice_note(_)) if p)
    if step.outcome is QuizOutcome.NEXT and step.question is not None:
        await show_question(context, chat_id, step.question, _, replace, note)
        return
    if project is None:
        return
    if step.outcome is QuizOutcome.TRAINING_DONE:
        gate = await context.services.work.access(user_id, project)
        text, markup = gate_text(project, gate, _)
        done = _("Practice finished. Well done!")
        await show_text(context, chat_id, "\n\n".join(p for p in (note, done, text) if p),
                        markup, replace)
        return
    if step.outcome is QuizOutcome.FINISHED and step.result is not None:
        rows = [[start_project(_("▶️ Start working"), project.id)]] \
            if step.result.passed else []
        rows.append([other_projects(_)])
        await show_text(context, chat_id, result_text(project, step.result, _),
                        InlineKeyboardMarkup(rows), replace)


async def callback(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _ = await context.gettext()
    services = context.services
    replace = query.message if isinstance(query.message, Message) else None
    tapped = parse_any(query.data, QUIZ_BUTTONS)
    if isinstance(tapped, QuizStart):
        await query.answer()
        project = await services.catalog.get_by_id(tapped.project)
        if project is None:
            return
        step = await services.quizzes.begin(user.id, project)
        await present_step(update, context, step, _, replace)
        return
    if not isinstance(tapped, QuizAnswer):
        await stale(query, _)
        return
    if tapped.choice is None:  # "I can't make it out"
        step = await services.quizzes.answer(user.id, tapped.attempt, tapped.position,
                                             text="")
    else:
        step = await services.quizzes.answer(user.id, tapped.attempt, tapped.position,
                                             choice=tapped.choice)
    await query.answer(_step_alert(step, _))
    if step.outcome in (QuizOutcome.NEXT, QuizOutcome.TRAINING_DONE, QuizOutcome.FINISHED):
        await present_step(update, context, step, _, replace)


async def typed_answer(update: Update, context: Context) -> bool:
    """A typed reply to an open transcription quiz; False when there is none."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or message.text is None:
        return False
    services = context.services
    current = await services.quizzes.open_attempt(user.id)
    if current is None:
        return False
    attempt, position = current
    step = await services.quizzes.answer(user.id, attempt, position, text=message.text,
                                         message_id=message.message_id)
    _ = await context.gettext()
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
