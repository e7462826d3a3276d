"""When practice and the exam stop (bot.domain.quiz_rules), worked out by hand."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from bot.domain.quiz_rules import (
    PRACTICE_MOST,
    SURE,
    chance_to_pass,
    exam_verdict,
    fewest_to_pass,
    practice_over,
)

R, W = True, False


def stop(answers: list[bool], questions: int, needed: int) -> tuple[bool, int]:
    """The verdict and how many questions were asked to reach it."""
    for asked in range(1, len(answers) + 1):
        verdict = exam_verdict(answers[:asked], questions, needed)
        if verdict is not None:
            return verdict, asked
    raise AssertionError("no verdict after every answer")


# -- practice ---------------------------------------------------------------------------


def test_practice_stops_after_two_right_in_a_row() -> None:
    assert not practice_over([R], 5)
    assert practice_over([R, R], 5)
    assert not practice_over([W, R], 5)
    assert practice_over([W, R, R], 5)
    assert not practice_over([R, W, R], 5)
    assert practice_over([R, W, W, R, R], 5)


def test_practice_stops_at_five_whatever_the_answers() -> None:
    assert PRACTICE_MOST == 5
    assert not practice_over([R, W, R, W], 5)
    assert practice_over([R, W, R, W, R], 5)
    assert practice_over([W] * 5, 5)
    # never longer than the exam: a 3-question exam has at most 3 practice questions
    assert practice_over([W, W, W], 3)


# -- the exam ---------------------------------------------------------------------------


def test_the_chance_to_pass_is_the_beta_binomial_worked_by_hand() -> None:
    # 8 of 10 needed. After 5 right: Beta(6, 1), 3 of the 5 left needed. Of the
    # (6+1)^(5) = 7·8·9·10·11 = 55440 weight, 0 right has 1·2·3·4·5 = 120, 1 right
    # 5·6·(1·2·3·4) = 720, 2 right 10·(6·7)·(1·2·3) = 2520: 3360 fall short
    assert chance_to_pass(5, 0, 10, 8) == 1 - Fraction(3360, 55440)
    assert chance_to_pass(5, 0, 10, 8) < SURE
    # after 6 right: Beta(7, 1), 2 of 4 needed; 0 right 24/7920, 1 right 4·7·6/7920
    assert chance_to_pass(6, 0, 10, 8) == 1 - Fraction(24 + 168, 7920) == Fraction(161, 165)
    assert chance_to_pass(6, 0, 10, 8) >= SURE
    # 7 right and 1 wrong: Beta(8, 2); 1 of 2 needed, none right weighs 2·3/(10·11)
    assert chance_to_pass(7, 1, 10, 8) == 1 - Fraction(6, 110) < SURE
    # certain either way
    assert chance_to_pass(8, 0, 10, 8) == 1
    assert chance_to_pass(7, 3, 10, 8) == 0


def test_all_right_passes_after_the_fewest_the_rule_needs() -> None:
    assert stop([R] * 10, 10, 8) == (True, 6)
    assert fewest_to_pass(10, 8) == 6
    assert fewest_to_pass(10, 7) == 4
    assert fewest_to_pass(5, 4) == 4
    assert fewest_to_pass(20, 16) == 8
    # every question must be right: only the last one settles it
    assert stop([R] * 3, 3, 3) == (True, 3)


def test_all_wrong_fails_as_soon_as_it_cannot_pass() -> None:
    # 8 of 10 allows two misses: the third makes passing impossible
    assert exam_verdict([W, W], 10, 8) is None
    assert stop([W] * 10, 10, 8) == (False, 3)
    assert stop([W] * 3, 3, 3) == (False, 1)
    # a good start does not keep a worker who can no longer pass
    assert exam_verdict([R] * 5 + [W] * 2, 10, 8) is None
    assert stop([R] * 5 + [W] * 3 + [R] * 2, 10, 8) == (False, 8)


@pytest.mark.parametrize(("answers", "passed"), [
    ([W, R, R, R, R, R, R, W, R, R], True),    # 8 of 10
    ([W, R, R, R, R, R, R, W, R, W], False),   # 7 of 10
    # 7 of 8 leaves 1 of 2 needed at 1 - 6/110 ≈ 0.945: not quite sure enough
    ([R, R, W, R, R, R, R, R, W, R], True),
])
def test_a_mixed_sequence_runs_to_the_end_and_the_share_decides(answers: list[bool],
                                                                 passed: bool) -> None:
    assert stop(answers, 10, 8) == (passed, 10)


@pytest.mark.parametrize(("questions", "needed"), [(10, 8), (10, 7), (5, 4), (3, 3), (6, 3)])
def test_an_early_verdict_never_contradicts_the_share_shown(questions: int,
                                                            needed: int) -> None:
    """Every answer sequence: an early pass has at least the pass mark's share right (so
    "6 of 6 right" never reads as too few), and an early fail only comes once passing
    is impossible."""
    for answers in itertools.product((R, W), repeat=questions):
        passed, asked = stop(list(answers), questions, needed)
        right = sum(answers[:asked])
        if asked == questions:
            assert passed is (right >= needed)
        elif passed:
            assert Fraction(right, asked) >= Fraction(needed, questions)
        else:
            assert right + questions - asked < needed


def test_a_typed_exam_counts_the_share_of_words_right() -> None:
    """Typed answers score the share of their words right; the verdict adds them up."""
    nine, half = Fraction(9, 10), Fraction(1, 2)
    # the whole exam: 1.9 questions' worth of words against 1.8 (0.9 of 2) and 2
    assert exam_verdict([nine, Fraction(1)], 2, Fraction(18, 10)) is True
    assert exam_verdict([nine, Fraction(1)], 2, 2) is False
    # half the words of two questions, 2.4 needed of 3: even a perfect third cannot do it
    assert exam_verdict([half, half], 3, Fraction(12, 5)) is False
    # one question left of three, 2 needed, 1.5 so far: only a perfect third reaches 2,
    # and the Beta(2.5, 1.5) posterior gives it 2.5 / 4
    assert chance_to_pass(Fraction(3, 2), Fraction(1, 2), 3, 2) == Fraction(5, 8)
    assert exam_verdict([Fraction(1), half], 3, 2) is None
    # whole answers are the special case of 1 and 0
    assert exam_verdict([Fraction(1)] * 6, 10, 8) is exam_verdict([True] * 6, 10, 8) is True
