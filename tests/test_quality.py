"""The pure quality rules: live estimate, text consensus, gold and speed rules, the gate."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import to_iso
from bot.domain import quality
from bot.domain.errors import ProjectError
from bot.domain.project_spec import ProjectSpec, QuizSpec
from bot.domain.projects import parse_project
from bot.domain.qualify import Gate, access
from bot.domain.records import Qualification
from bot.services.leasing import item_state
from storage.items import DONE, FRESH, FULL, STARTED
from tests.conftest import sentiment_doc

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def sentiment(**extra: object) -> ProjectSpec:
    return parse_project(sentiment_doc(**extra))


def speech(**extra: object) -> ProjectSpec:
    return parse_project(sentiment_doc(name="speech", kind="transcription", **extra))


def quizzed(**quiz: object) -> ProjectSpec:
    return sentiment(quiz=dict(quiz))


def qual(status: str = "new", attempts: int = 0, trained: bool = False,
         retry_at: datetime | None = None, reason: str | None = None) -> Qualification:
    return Qualification(1, 1, status, attempts, trained,
                         to_iso(retry_at) if retry_at else None, reason)


def posterior(counts: dict[str, int], acc: float = quality.PRIOR_ACCURACY,
              labels: tuple[str, ...] = ("positive", "neutral", "negative")) -> dict[str, float]:
    """The one-coin posterior written out by hand, every worker with accuracy ``acc``."""
    k = len(labels)
    wrong = (1 - acc) / (k - 1)
    weights = {}
    for label in labels:
        weight = 1.0
        for other, n in counts.items():
            weight *= (acc if other == label else wrong) ** n
        weights[label] = weight
    total = sum(weights.values())
    return {label: w / total for label, w in weights.items()}


# -- worker accuracy -------------------------------------------------------------------


def test_worker_accuracy_is_smoothed_towards_the_prior() -> None:
    assert quality.worker_accuracy(0, 0) == pytest.approx(quality.PRIOR_ACCURACY)
    # one wrong gold answer lowers the estimate but does not decide alone
    one_wrong = quality.worker_accuracy(1, 0)
    assert one_wrong == pytest.approx(0.8 * 4 / 5)
    assert 0.5 < one_wrong < quality.PRIOR_ACCURACY
    assert quality.worker_accuracy(1, 1) == pytest.approx((1 + 3.2) / 5)
    assert quality.worker_accuracy(10, 10) == pytest.approx(13.2 / 14)
    # a long record outweighs the prior
    assert quality.worker_accuracy(100, 50) == pytest.approx(53.2 / 104)


def test_worker_accuracy_is_kept_away_from_zero_and_one() -> None:
    assert quality.worker_accuracy(10_000, 0) == 0.05
    assert quality.worker_accuracy(10_000, 10_000) == 0.99


# -- live estimate (one-coin posterior) ------------------------------------------------


def test_live_estimate_of_no_answers_is_none() -> None:
    assert quality.live_estimate(sentiment(), [], {}) is None


def test_live_estimate_unanimous_three_is_the_one_coin_posterior() -> None:
    answers = [(1, "positive"), (2, "positive"), (3, "positive")]
    estimate = quality.live_estimate(sentiment(), answers, {})
    assert estimate is not None
    assert estimate.label == "positive"
    expected = 0.8 ** 3 / (0.8 ** 3 + 2 * 0.1 ** 3)
    assert estimate.confidence == pytest.approx(expected)
    assert estimate.confidence == pytest.approx(posterior({"positive": 3})["positive"])
    assert estimate.confidence > 0.9


def test_live_estimate_two_to_one_split_is_below_ninety_percent() -> None:
    answers = [(1, "positive"), (2, "neutral"), (3, "positive")]
    estimate = quality.live_estimate(sentiment(), answers, {})
    assert estimate is not None
    assert estimate.label == "positive"
    assert estimate.confidence == pytest.approx(0.064 / (0.064 + 0.008 + 0.001))
    assert estimate.confidence < 0.9


def test_live_estimate_three_to_one_is_sure() -> None:
    answers = [(1, "negative"), (2, "neutral"), (3, "negative"), (4, "negative")]
    estimate = quality.live_estimate(sentiment(), answers, {})
    assert estimate is not None
    assert estimate.label == "negative"
    expected = posterior({"negative": 3, "neutral": 1})["negative"]
    assert estimate.confidence == pytest.approx(expected)
    assert estimate.confidence > 0.9


@pytest.mark.parametrize("values, label", [
    (["neutral", "negative"], "neutral"),
    (["negative", "neutral"], "neutral"),
    (["negative", "positive"], "positive"),
    (["negative", "neutral", "positive"], "positive"),
    (["negative", "neutral", "neutral", "negative"], "neutral"),
    (["negative", "positive", "positive", "negative", "neutral"], "positive"),
])
def test_live_estimate_ties_go_to_the_label_listed_first(values: list[str], label: str
                                                         ) -> None:
    estimate = quality.live_estimate(sentiment(), list(enumerate(values)), {})
    assert estimate is not None
    assert estimate.label == label


def test_live_estimate_ties_follow_the_labels_of_a_classification() -> None:
    spec = parse_project(sentiment_doc(kind="classification", labels=["cat", "dog", "bird"]))
    estimate = quality.live_estimate(spec, [(1, "bird"), (2, "dog")], {})
    assert estimate is not None and estimate.label == "dog"
    assert estimate.confidence == pytest.approx(posterior(
        {"bird": 1, "dog": 1}, labels=("cat", "dog", "bird"))["dog"])


def test_live_estimate_six_answer_three_way_tie_goes_to_the_first_label() -> None:
    values = ["positive", "positive", "neutral", "neutral", "negative", "negative"]
    estimate = quality.live_estimate(sentiment(), list(enumerate(values)), {})
    assert estimate is not None
    assert estimate.label == "positive"
    assert estimate.confidence == pytest.approx(1 / 3)


def test_live_estimate_trusts_workers_by_their_gold_accuracy() -> None:
    answers = [(1, "negative"), (2, "positive"), (3, "positive")]
    # without gold records the majority wins
    plain = quality.live_estimate(sentiment(), answers, {})
    assert plain is not None and plain.label == "positive"
    # a reliable worker outweighs two poor ones
    weighted = quality.live_estimate(sentiment(), answers, {1: 0.99, 2: 0.4, 3: 0.4})
    assert weighted is not None and weighted.label == "negative"
    neg = 0.99 * 0.3 * 0.3
    pos = 0.005 * 0.4 * 0.4
    neu = 0.005 * 0.3 * 0.3
    assert weighted.confidence == pytest.approx(neg / (neg + pos + neu))
    # a worker missing from the dict gets the prior
    partial = quality.live_estimate(sentiment(), answers, {1: 0.8})
    assert partial is not None and partial.label == "positive"
    assert partial.confidence == pytest.approx(plain.confidence)


def test_live_estimate_ignores_values_that_are_not_labels() -> None:
    estimate = quality.live_estimate(sentiment(), [(1, "bogus")], {})
    assert estimate is not None
    assert estimate.label == "positive"
    assert estimate.confidence == pytest.approx(1 / 3)
    mixed = quality.live_estimate(sentiment(), [(1, "bogus"), (2, "negative")], {})
    assert mixed is not None and mixed.label == "negative"
    assert mixed.confidence == pytest.approx(0.8)


def test_live_estimate_of_a_transcription_is_the_text_estimate() -> None:
    estimate = quality.live_estimate(speech(), [(1, "hello world"), (2, "Hello world!")], {})
    assert estimate == quality.text_estimate(["hello world", "Hello world!"])
    assert estimate is not None and estimate.label == "hello world"


# -- text estimate (ROVER) -------------------------------------------------------------


def test_text_estimate_single_answer_is_half_sure() -> None:
    estimate = quality.text_estimate(["Hello, World!"])
    assert estimate.label == "hello world"
    assert estimate.confidence == 0.5
    assert quality.text_estimate([""]) == quality.Estimate("", 0.5)


def test_text_estimate_everybody_unclear_is_certain_and_empty() -> None:
    assert quality.text_estimate(["", "", ""]) == quality.Estimate("", 1.0)
    assert quality.text_estimate(["  ", "?!"]) == quality.Estimate("", 1.0)


def test_text_estimate_votes_per_slot() -> None:
    agreed = quality.text_estimate(["the cat sat", "The cat sat.", "the cat  sat"])
    assert agreed.label == "the cat sat"
    assert agreed.confidence == pytest.approx(1.0)
    split = quality.text_estimate(["the cat sat", "the cat sat", "the bat sat"])
    assert split.label == "the cat sat"
    assert 0.5 < split.confidence < 1.0
    assert split.confidence == pytest.approx(8 / 9)


def test_text_estimate_writes_cjk_solid() -> None:
    assert quality.text_estimate(["你好", "你 好"]).label == "你好"


def test_text_estimate_majority_of_typed_answers_beats_one_unclear() -> None:
    estimate = quality.text_estimate(["", "hello", "hello"])
    assert estimate.label == "hello"
    assert estimate.confidence < 1.0


# -- is_correct ------------------------------------------------------------------------


def test_is_correct_categorical_is_exact() -> None:
    spec = sentiment()
    assert quality.is_correct(spec, "positive", "positive")
    assert not quality.is_correct(spec, "negative", "positive")
    assert not quality.is_correct(spec, "Positive", "positive")


def test_is_correct_text_allows_a_tenth_of_words_wrong() -> None:
    spec = speech()
    gold = "one two three four five six seven eight nine ten"
    assert quality.is_correct(spec, gold, gold)
    assert quality.is_correct(spec, "One, two three four five six seven eight nine TEN!", gold)
    one_wrong = "one two three four five six seven eight nine tin"
    assert quality.is_correct(spec, one_wrong, gold)  # WER 0.1
    two_wrong = "one two tree four five six seven eight nine tin"
    assert not quality.is_correct(spec, two_wrong, gold)  # WER 0.2
    missing_word = "one two three four five six seven eight nine"
    assert quality.is_correct(spec, missing_word, gold)
    assert not quality.is_correct(spec, "one two", gold)


def test_is_correct_text_short_gold_and_unclear() -> None:
    spec = speech()
    assert not quality.is_correct(spec, "hallo", "hello")  # one word: any slip is 100%
    assert quality.is_correct(spec, "", "")  # both say it cannot be made out
    assert not quality.is_correct(spec, "hello", "")
    assert not quality.is_correct(spec, "", "hello")


# -- gold and speed rules --------------------------------------------------------------


def test_gold_suspension_needs_min_gold_answers_first() -> None:
    spec = sentiment(min_gold=5, min_accuracy=0.7)
    assert not quality.gold_suspension(spec, 4, 0)
    assert quality.gold_suspension(spec, 5, 3)   # 0.6 < 0.7
    assert not quality.gold_suspension(spec, 5, 4)
    assert not quality.gold_suspension(spec, 10, 7)  # exactly 0.7 is enough
    assert quality.gold_suspension(spec, 10, 6)


def test_fast_threshold_min_seconds_wins() -> None:
    spec = sentiment(min_seconds=4)
    assert quality.fast_threshold(spec, None, 0) == 4
    assert quality.fast_threshold(spec, 100.0, 1000) == 4
    assert quality.fast_threshold(sentiment(min_seconds=0), 100.0, 1000) == 0


def test_fast_threshold_median_rule_only_after_fifty_answers() -> None:
    spec = sentiment()
    assert spec.min_seconds is None
    assert quality.fast_threshold(spec, None, 0) is None
    assert quality.fast_threshold(spec, None, 100) is None
    assert quality.fast_threshold(spec, 12.0, 49) is None
    assert quality.fast_threshold(spec, 12.0, 50) == 6.0
    assert quality.fast_threshold(spec, 12.0, 5000) == 6.0


def test_too_fast_suspension_is_seven_of_the_last_twenty() -> None:
    assert not quality.too_fast_suspension([])
    assert not quality.too_fast_suspension([True] * 6 + [False] * 14)
    assert quality.too_fast_suspension([True] * 7 + [False] * 13)
    assert quality.too_fast_suspension([False] * 13 + [True] * 7)
    assert quality.too_fast_suspension([True] * 7)  # a new worker, already 7 fast ones
    assert not quality.too_fast_suspension([True] * 6)


def test_too_fast_suspension_looks_only_at_the_most_recent_twenty() -> None:
    # most recent first: the fast answers beyond the twentieth do not count
    assert not quality.too_fast_suspension([False] * 14 + [True] * 6 + [True] * 10)
    assert not quality.too_fast_suspension([False] * 20 + [True] * 20)
    assert quality.too_fast_suspension([False] * 13 + [True] * 7 + [False] * 10)
    assert quality.too_fast_suspension((True,) * 7)  # any sequence


# -- overlap ---------------------------------------------------------------------------


def test_wanted_answers_asks_one_more_at_a_time_up_to_max_overlap() -> None:
    spec = sentiment(overlap=3, max_overlap=5)
    assert [quality.wanted_answers(spec, n) for n in range(7)] == [3, 3, 3, 4, 5, 5, 5]
    fixed = sentiment(overlap=3)
    assert fixed.max_overlap == 3
    assert [quality.wanted_answers(fixed, n) for n in range(5)] == [3, 3, 3, 3, 3]


def test_item_done_with_dynamic_overlap() -> None:
    spec = sentiment(overlap=3, max_overlap=5, confidence=0.9)
    assert not quality.item_done(spec, 2, 1.0)       # too few answers, however sure
    assert quality.item_done(spec, 3, 0.95)
    assert quality.item_done(spec, 3, 0.9)           # exactly the bar
    assert not quality.item_done(spec, 3, 0.899)
    assert not quality.item_done(spec, 3, None)
    assert not quality.item_done(spec, 4, 0.5)
    assert quality.item_done(spec, 5, 0.2)           # max_overlap always finishes
    assert quality.item_done(spec, 5, None)
    assert quality.item_done(spec, 6, None)


def test_item_done_with_fixed_overlap_is_just_the_count() -> None:
    spec = sentiment(overlap=3)
    assert not quality.item_done(spec, 2, 1.0)
    assert quality.item_done(spec, 3, None)
    assert quality.item_done(spec, 3, 0.1)


def test_item_state_with_dynamic_overlap() -> None:
    spec = sentiment(overlap=3, max_overlap=5, confidence=0.9)
    split = posterior({"positive": 2, "neutral": 1})["positive"]
    assert item_state(spec, 0, 0) == FRESH
    assert item_state(spec, 0, 3) == FULL
    assert item_state(spec, 2, 1, 0.5) == FULL
    assert item_state(spec, 3, 0, split) == STARTED   # disputed: one more worker
    assert item_state(spec, 3, 1, split) == FULL      # ... and only one
    assert item_state(spec, 3, 0, 0.99) == DONE
    assert item_state(spec, 4, 0, 0.5) == STARTED
    assert item_state(spec, 4, 1, 0.5) == FULL
    assert item_state(spec, 5, 0, 0.4) == DONE


# -- project keys ----------------------------------------------------------------------


@pytest.mark.parametrize("share, questions, needed", [
    (0.8, 10, 8), (0.7, 3, 3), (0.7, 10, 7), (0.3, 10, 3), (0.55, 20, 11), (0.81, 10, 9),
    (0.6, 5, 3), (1.0, 10, 10), (0.0, 5, 0), (0.5, 1, 1),
])
def test_quiz_pass_count_rounds_up_without_float_noise(share: float, questions: int,
                                                       needed: int) -> None:
    assert QuizSpec(questions=questions, pass_share=share).pass_count == needed
    assert needed == math.ceil(round(share * questions, 9))


def test_quiz_table_defaults() -> None:
    spec = quizzed()
    assert spec.quiz == QuizSpec(questions=10, pass_share=0.8, attempts=3,
                                 cooldown_hours=24.0, training=True)
    assert spec.quiz.pass_count == 8
    assert sentiment().quiz is None
    custom = quizzed(questions=4, attempts=1, cooldown_hours=0.5, training=False)
    assert custom.quiz == QuizSpec(4, 0.8, 1, 0.5, False)
    spec = sentiment(**{"quiz": {"pass": 0.5}})
    assert spec.quiz is not None and spec.quiz.pass_share == 0.5


@pytest.mark.parametrize("quiz", [
    {"questions": 0}, {"pass": 1.5}, {"attempts": 0}, {"cooldown_hours": -1},
    {"training": "yes"}, {"bogus": 1},
])
def test_quiz_table_rejects_bad_values(quiz: dict[str, object]) -> None:
    with pytest.raises(ProjectError):
        sentiment(quiz=quiz)


def test_quality_keys_defaults_and_validation() -> None:
    spec = sentiment()
    assert (spec.gold_rate, spec.feedback, spec.min_accuracy, spec.min_gold) == \
        (0.1, True, 0.7, 5)
    assert (spec.min_seconds, spec.max_overlap, spec.confidence, spec.aggregation) == \
        (None, 3, 0.9, "auto")
    assert sentiment(overlap=2).max_overlap == 2
    assert sentiment(overlap=2, max_overlap=4).max_overlap == 4
    with pytest.raises(ProjectError):
        sentiment(overlap=3, max_overlap=2)
    with pytest.raises(ProjectError):
        sentiment(gold_rate=1.5)
    with pytest.raises(ProjectError):
        sentiment(min_seconds=-1)


# -- access: every gate ----------------------------------------------------------------


def test_access_open_without_a_quiz() -> None:
    assert access(sentiment(), None, 0, NOW).gate is Gate.OPEN
    assert access(sentiment(), qual("passed"), 0, NOW).gate is Gate.OPEN


def test_access_suspended_beats_everything() -> None:
    for spec in (sentiment(), quizzed()):
        result = access(spec, qual("suspended", reason="gold"), 100, NOW)
        assert result.gate is Gate.SUSPENDED
        assert result.reason == "gold"
    too_fast = access(quizzed(), qual("suspended", attempts=1, trained=True,
                                      reason="too_fast"), 0, NOW)
    assert too_fast.gate is Gate.SUSPENDED and too_fast.reason == "too_fast"


def test_access_not_ready_until_the_pool_holds_one_exam() -> None:
    assert access(quizzed(), None, 9, NOW).gate is Gate.NOT_READY
    assert access(quizzed(questions=4), None, 3, NOW).gate is Gate.NOT_READY
    assert access(quizzed(questions=4), None, 4, NOW).gate is Gate.QUIZ
    # a worker who passed keeps working even if the pool shrinks later
    assert access(quizzed(), qual("passed", attempts=1), 0, NOW).gate is Gate.OPEN


def test_access_quiz_with_training_first() -> None:
    fresh = access(quizzed(), None, 10, NOW)
    assert fresh.gate is Gate.QUIZ
    assert fresh.training is True
    assert fresh.tries_left == 3
    trained = access(quizzed(), qual(trained=True), 10, NOW)
    assert trained.gate is Gate.QUIZ and trained.training is False
    no_training = access(quizzed(training=False), None, 10, NOW)
    assert no_training.gate is Gate.QUIZ and no_training.training is False


def test_access_cooldown_after_a_failed_exam() -> None:
    retry_at = NOW + timedelta(hours=24)
    failed = qual("failed", attempts=1, trained=True, retry_at=retry_at)
    result = access(quizzed(), failed, 10, NOW)
    assert result.gate is Gate.COOLDOWN
    assert result.retry_at == retry_at
    assert result.tries_left == 2
    almost = access(quizzed(), failed, 10, retry_at - timedelta(seconds=1))
    assert almost.gate is Gate.COOLDOWN
    due = access(quizzed(), failed, 10, retry_at)
    assert due.gate is Gate.QUIZ and due.tries_left == 2 and due.training is False
    later = access(quizzed(), failed, 10, retry_at + timedelta(days=3))
    assert later.gate is Gate.QUIZ


def test_access_closed_after_the_last_try() -> None:
    spent = qual("failed", attempts=3, trained=True)
    assert access(quizzed(), spent, 10, NOW).gate is Gate.CLOSED
    assert access(quizzed(), spent, 10, NOW + timedelta(days=365)).gate is Gate.CLOSED
    assert access(quizzed(attempts=1), qual("failed", attempts=1), 10, NOW).gate \
        is Gate.CLOSED
    # closed even while a (stale) retry time is still in the future
    stale = qual("failed", attempts=3, retry_at=NOW + timedelta(hours=1))
    assert access(quizzed(), stale, 10, NOW).gate is Gate.CLOSED
    assert access(quizzed(), stale, 10, NOW).tries_left == 0
