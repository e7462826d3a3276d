"""The bound on what any exam could cost (``bench.exam_bound``): exams worked by hand, the
dynamic programme's choice in a case small enough to check, and the proof's two duties:
it must find that the impossible is impossible, and it must never call out of reach what
an exam already achieves (weak duality: a certificate there would be a bug)."""

from __future__ import annotations

import numpy as np
import pytest

from bench import exam_bound as eb
from bench.exam import accuracies, beta_binomial, by_counts
from tests.test_aggregation_models import shared


def one_question(right: int, wrong: int) -> str:
    """Pass on a first right answer, fail on a first wrong one."""
    if right:
        return "pass"
    return "fail" if wrong else "ask"


def test_an_exam_of_one_question_worked_by_hand() -> None:
    crowd = eb.Crowd.of([1.0, 0.5], weak=0.7, good=0.8)
    worth = eb.worth(crowd, one_question)
    # every arrival answers once; the perfect worker always passes, the guesser half the time
    assert worth.answers == pytest.approx(1.0)
    assert worth.passed == pytest.approx(0.75)
    assert worth.per_qualified == pytest.approx(4 / 3)
    assert worth.weak_share == pytest.approx(1 / 3)
    assert worth.good == pytest.approx(0.5)


def test_the_programme_asks_only_when_the_answer_is_worth_its_cost() -> None:
    crowd = eb.Crowd.of([1.0, 0.0], weak=0.7, good=0.8)
    # passing the right-every-time worker is worth 3, passing the wrong-every-time one costs 10
    value = np.where(crowd.is_good > 0, -3.0, 10.0)
    least, table = eb.solve(crowd, 4, value)
    assert table[(0, 0)] == "ask" and table[(1, 0)] == "pass" and table[(0, 1)] == "fail"
    assert least == pytest.approx(1 - 0.5 * 3)
    # worth nothing to pass anyone: fail at once, ask nothing
    _, table = eb.solve(crowd, 4, np.full(2, 1.0))
    assert table[(0, 0)] == "fail"


def test_passing_every_good_worker_and_no_guesser_is_proven_impossible() -> None:
    """A guesser answers n questions right with chance 2^-n: no exam of at most 8
    questions passes every perfect worker and no guesser, at any cost."""
    crowd = eb.Crowd.of([1.0, 0.5], weak=0.7, good=0.8)
    assert eb.certificate(crowd, 50.0, omega=0.0, gamma=1.0, most=8) is not None


@pytest.mark.parametrize("slack", [0.0, 0.05])
def test_what_an_exam_achieves_is_never_proven_out_of_reach(slack: float) -> None:
    crowd = eb.Crowd.of([1.0, 0.9, 0.75, 0.5, 0.5], weak=0.7, good=0.8)
    worth = eb.worth(crowd, one_question)
    gamma = worth.good / crowd.good_share
    t = worth.per_qualified + slack
    assert eb.certificate(crowd, t, worth.weak_share, gamma, most=6) is None
    assert eb.cheapest(crowd, worth.weak_share, gamma, 6, upper=t) <= worth.per_qualified


def test_on_d_sentiment_six_answers_per_qualified_worker_is_out_of_reach() -> None:
    """The figure the README quotes: no exam passing no larger share of weak workers and no
    smaller share of good ones than the bot's costs 6 or fewer answers per qualified
    worker on d_sentiment's crowd, and the bot's own exam is not proven out of reach."""
    shared("d_sentiment")  # in CI the data must be there
    crowd = eb.Crowd.of(accuracies("d_sentiment"), weak=0.7, good=0.8)

    own = eb.worth(crowd, by_counts(beta_binomial(6, 5)))  # 5 of 6, as the replay's quiz
    gamma = own.good / crowd.good_share
    assert own.per_qualified > 6
    assert eb.certificate(crowd, 6.0, own.weak_share, gamma, most=10) is not None
    assert eb.certificate(crowd, own.per_qualified, own.weak_share, gamma, most=10) is None
