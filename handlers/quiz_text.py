"""What the quiz says, as text and buttons: shared by the quiz screens and the work loop.

Kept apart from ``handlers.quiz`` so the work loop can show a gate or a feedback line
without importing the quiz handlers (which start work when a quiz is done).
"""

from __future__ import annotations

from babel.dates import format_datetime
from babel.numbers import format_decimal
from telegram import InlineKeyboardMarkup

from bot.domain.money import format_money
from bot.domain.projects import Project
from bot.domain.qualify import GOLD, OPERATOR, TOO_FAST, Access, Gate
from bot.domain.quiz_rules import PRACTICE_MOST, PRACTICE_STREAK
from bot.i18n import Gettext
from bot.services.quiz import ExamResult
from bot.services.reports import ProjectStats
from bot.services.work import MAX_TYPED_ANSWER, Feedback
from handlers import say
from handlers.callbacks import QuizStart
from handlers.keyboards import button, column, other_projects
from handlers.render import value_name


def gate_text(project: Project, gate: Access, _: Gettext) -> tuple[str, InlineKeyboardMarkup]:
    """Why this worker cannot work here yet, in plain words, and what they can do."""
    start = button(_("▶️ Start the exam"), QuizStart(project.id))
    quiz = project.spec.quiz
    if gate.gate is Gate.QUIZ and quiz is not None and project.spec.typed:
        text = typed_exam_text(project, gate, _) + paid_exam_note(project, _)
        return text, InlineKeyboardMarkup(column([start, other_projects(_)]))
    if gate.gate is Gate.QUIZ and quiz is not None:
        if gate.training:
            # practice only for who needs it: a missed first question starts it
            text = _("The exam has up to {count} questions; you need {needed} of them right "
                     "to unlock the tasks. It ends as soon as your result is clear, so a "
                     "strong start passes sooner. If you miss the first question, it does "
                     "not count: a short practice round follows, with the right answer and "
                     "why after each question, until you get {streak} right in a row (at "
                     "most {most} questions), and then the exam starts afresh. Tries left: "
                     "{tries}.", count=quiz.questions, needed=quiz.pass_count,
                     streak=PRACTICE_STREAK, most=min(PRACTICE_MOST, quiz.questions),
                     tries=gate.tries_left)
        else:
            text = _("The exam has up to {count} questions; you need {needed} of them right "
                     "to unlock the tasks. It ends as soon as your result is clear, so a "
                     "strong start passes sooner. You will see your score and the right "
                     "answers at the end. Tries left: {tries}.", count=quiz.questions,
                     needed=quiz.pass_count, tries=gate.tries_left)
        text += paid_exam_note(project, _)
        return text, InlineKeyboardMarkup(column([start, other_projects(_)]))
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
    return text, InlineKeyboardMarkup([[other_projects(_)]])


def paid_exam_note(project: Project, _: Gettext) -> str:
    """Said before the exam of a project with ``quiz.paid``, so a worker knows up front
    that passing pays its questions (and that practice and a failed try do not)."""
    quiz = project.spec.quiz
    if quiz is None or not quiz.paid or project.spec.reward_micros <= 0:
        return ""
    return "\n\n" + _("This exam is paid: if you pass, each exam question you answered "
                       "earns {price}, as a task does. Practice questions and a failed "
                       "try are not paid.", price=format_money(project.spec.reward_micros,
                                                               project.spec.currency,
                                                               _.language))


def typed_exam_text(project: Project, gate: Access, _: Gettext) -> str:
    """The gate of a typed exam: it is passed by the share of the words typed right
    (``bot.domain.quality.answer_score``), not by whole answers."""
    quiz = project.spec.quiz
    assert quiz is not None
    share = round(100 * quiz.pass_share)
    if gate.training:
        return _("The exam has up to {count} questions; you need {share}% of the words right, "
                 "over all of them, to unlock the tasks. It ends as soon as your result is "
                 "clear. If you miss the first question, it does not count: a short practice "
                 "round follows, with the right answer after each question, until you get "
                 "{streak} right in a row (at most {most} questions), and then the exam "
                 "starts afresh. Tries left: {tries}.", count=quiz.questions, share=share,
                 streak=PRACTICE_STREAK, most=min(PRACTICE_MOST, quiz.questions),
                 tries=gate.tries_left)
    return _("The exam has up to {count} questions; you need {share}% of the words right, "
             "over all of them, to unlock the tasks. It ends as soon as your result is "
             "clear. You will see your score and the right answers at the end. Tries "
             "left: {tries}.", count=quiz.questions, share=share, tries=gate.tries_left)


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


def practice_note(_: Gettext) -> str:
    """Said when a missed first exam question turned the exam into the practice round."""
    return _("That first question was practice, so it does not count. Practise a little "
             "before the exam: after each answer you see the right one and why, until you "
             "get {streak} right in a row.", streak=PRACTICE_STREAK)


def feedback_note(project: Project, feedback: Feedback, _: Gettext) -> str:
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
    if result.words is not None:  # a typed exam goes by the share of words right
        if result.early:
            lines = [_("Exam finished early, as your result was already clear: {share}% of "
                       "the words right.", share=result.words_share)]
        else:
            lines = [_("Exam finished: {share}% of the words right ({needed}% needed).",
                       share=result.words_share, needed=result.needed_share)]
    elif result.early:  # "4 of 4 right (8 needed)" would read as a contradiction
        lines = [_("Exam finished early, as your result was already clear: {correct} of "
                   "{total} right.", correct=result.correct, total=result.total)]
    else:
        lines = [_("Exam finished: {correct} of {total} right ({needed} needed).",
                   correct=result.correct, total=result.total, needed=result.needed)]
    if result.passed:
        lines.append(_("You passed! The tasks of this project are open to you now."))
        if result.paid:
            lines.append(_("Your {count} exam answers are paid: {amount} ({price} each), "
                           "ready to pay out now (/wallet).", count=result.total,
                           amount=format_money(result.paid, result.currency, _.language),
                           price=format_money(result.price, result.currency, _.language)))
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


def too_long(_: Gettext) -> str:
    """A typed answer over the limit, in a quiz or at work: nothing was saved, and this
    says how long an answer may be (not "use the buttons": there are none to use)."""
    return _("That answer is too long: an answer can have at most {limit} characters. "
             "Nothing was saved; please shorten it and send it again.",
             limit=MAX_TYPED_ANSWER)


def quiz_cost(stats: ProjectStats, paid: bool, _: Gettext) -> str:
    """/project's line on what qualifying cost: every quiz answer per worker who passed,
    and, where passed exams are paid (``quiz.paid``, or paid before it was switched off),
    how many answers were paid and what stays unpaid per qualified worker."""
    def each(value: float | None) -> str:
        return format_decimal(value, locale=_.language) if value is not None else "-"

    if not paid and not stats.paid_exam_answers:
        return _("Quiz: {answers} answers, {qualified} workers passed; {each} answers per "
                 "qualified worker.", answers=stats.quiz_answers, qualified=stats.qualified,
                 each=each(stats.quiz_per_qualified))
    return _("Quiz: {answers} answers, {qualified} workers passed; {paid} answers of passed "
             "exams were paid, so {each} unpaid answers per qualified worker.",
             answers=stats.quiz_answers, qualified=stats.qualified,
             paid=stats.paid_exam_answers, each=each(stats.unpaid_per_qualified))
