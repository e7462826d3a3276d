"""When a practice round or an exam may stop: pure rules over the answers so far.

Replaying real crowds showed the unpaid quiz costing more answers than the paid work it
guards (11 quiz answers per worker before their first task), so both rounds stop as soon
as asking more would not change what happens next.

**Practice** teaches, and only a worker who misses the exam's first question before ever
practising gets it (``bot.services.quiz``); once they get ``PRACTICE_STREAK`` questions
in a row right they have understood the task, and more practice only costs them time. It
never runs past ``PRACTICE_MOST`` questions.

**The exam** keeps the verdict it always had: at most ``questions`` questions, passed
with ``pass_count`` of them right. It stops early in two cases:

- *Fail*, only when passing has become impossible (more wrong answers than the exam
  allows). No statistical early fail: a worker failed by mistake loses a try and waits
  out the cooldown, and most of them would not come back; a worker passed by mistake is
  still checked by gold questions while working and suspended below ``min_accuracy``.
- *Pass*, when the chance that the worker would reach the pass mark over the whole exam
  is at least ``SURE`` (0.95). The chance is the posterior predictive of a Beta-binomial:
  a uniform Beta(1, 1) prior on the worker's accuracy (nothing is known of a newcomer),
  updated with the answers so far, predicts the remaining questions. At 8 of 10 this
  passes a worker after 6 right in a row; a single miss makes them earn it for longer.

Why not Wald's SPRT between pass ± 0.1, or "posterior P(accuracy ≥ pass) > 0.95"? At a
pass mark of 0.8 with error rates of 0.05 the SPRT needs 12 right answers in a row and
the posterior rule 13: proving an accuracy of 80 % takes more answers than a 10-question
exam has, so neither would ever pass anyone early. The question a short exam can settle
early is the one it asks: will this worker reach the pass mark?

Probabilities are exact fractions, so a hand-worked case is decided exactly as the
arithmetic says (no 0.9499999 at a threshold).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from math import comb

#: a practice round never asks more than this (nor more than the exam's ``questions``)
PRACTICE_MOST = 5
#: right answers in a row that end the practice round
PRACTICE_STREAK = 2
#: an exam passes early once reaching the pass mark is at least this likely
SURE = Fraction(95, 100)
#: the Beta prior on a newcomer's accuracy: uniform, every accuracy as likely
PRIOR = (1, 1)


def practice_over(answers: Sequence[bool], most: int) -> bool:
    """The practice round is over after ``PRACTICE_STREAK`` right in a row, or ``most``."""
    streak = answers[-PRACTICE_STREAK:]
    return len(answers) >= most or (len(streak) == PRACTICE_STREAK and all(streak))


def chance_to_pass(correct: Fraction | int, wrong: Fraction | int, questions: int,
                   needed: Fraction | int) -> Fraction:
    """How likely a worker with these answers is to have ``needed`` of ``questions``
    right at the end: 1 once they have, 0 once they cannot.

    ``correct`` and ``wrong`` may be fractions: a typed answer scores the share of its
    words that are right (``bot.domain.quality.answer_score``), and the questions left are
    predicted as whole ones, right or wrong, from the same Beta posterior."""
    left = questions - round(correct + wrong)
    short = needed - correct
    if short <= 0:
        return Fraction(1)
    if short > left:
        return Fraction(0)
    a, b = PRIOR[0] + Fraction(correct), PRIOR[1] + Fraction(wrong)
    # Beta-binomial: P(x right of ``left``) = C(left, x) a^(x) b^(left-x) / (a+b)^(left),
    # with x^(j) the rising factorial; exact fractions throughout
    return sum((comb(left, x) * _rising(a, x) * _rising(b, left - x) / _rising(a + b, left)
                for x in range(math.ceil(short), left + 1)), Fraction(0))


def exam_verdict(answers: Sequence[bool | Fraction], questions: int,
                 needed: Fraction | int) -> bool | None:
    """Passed (True), failed (False), or not settled yet (None: ask the next question).
    Each answer is right (True), wrong (False), or for a typed one the share of its words
    right; ``needed`` is then a number of questions' worth of words."""
    correct = sum((Fraction(a) for a in answers), Fraction(0))
    wrong = len(answers) - correct
    if len(answers) >= questions:
        return correct >= needed  # the whole exam: decided by the share, as always
    chance = chance_to_pass(correct, wrong, questions, needed)
    if chance == 0:
        return False
    if chance >= SURE:
        return True
    return None


def fewest_to_pass(questions: int, needed: int) -> int:
    """Questions a worker who gets every one right answers before passing."""
    for asked in range(1, questions + 1):
        if exam_verdict([True] * asked, questions, needed):
            return asked
    return questions


def _rising(x: Fraction, count: int) -> Fraction:
    result = Fraction(1)
    for i in range(count):
        result *= x + i
    return result
