"""Quality while people work: gold checks, too-fast answers, and when an item is done.

Everything here is a pure function of plain values, so the rules are tested without a
database or a bot.

Why a live estimate and not the full aggregation on every answer: deciding whether an item
needs one more worker happens on each answer, so it must cost microseconds. The estimate
is the one-coin Dawid-Skene posterior with worker accuracies taken from their gold answers
(smoothed towards a prior), which is what the full Dawid-Skene converges to when workers
are symmetric. The export runs the project's real aggregation method over all answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from bot.aggregation.text import detokenize, edit_distance, rover, tokenize, word_error_rate
from bot.domain import shapes
from bot.domain.project_spec import ProjectSpec

#: a worker with no gold answers yet is assumed right this often; their own gold answers
#: outweigh the prior after a handful (``PRIOR_WEIGHT`` pseudo-answers)
PRIOR_ACCURACY = 0.8
PRIOR_WEIGHT = 4
#: a worker is proven once their smoothed accuracy is this many standard errors above
#: ``min_accuracy`` (``known_above``): 9 of 10 right at 0.7
PROVEN_MARGIN = 1.5
#: a typed answer within this word error rate of the gold text counts as right
TEXT_TOLERANCE = 0.1
#: too-fast rule: looked at over the last ``RECENT`` answers, suspended above ``FAST_SHARE``
RECENT = 20
FAST_SHARE = 1 / 3
#: the automatic minimum time needs this many answers in the project first
MEDIAN_AFTER = 50


@dataclass(frozen=True)
class Estimate:
    label: str
    confidence: float
    #: the chance that one more answer changes ``label`` (a tie counts as a change), for
    #: a next worker as good as the best who answered the item so far (``change_chance``)
    change: float = field(default=1.0, compare=False)


def worker_accuracy(gold_total: int, gold_correct: int) -> float:
    """Smoothed gold accuracy, kept away from 0 and 1 so one answer never decides alone."""
    value = (gold_correct + PRIOR_ACCURACY * PRIOR_WEIGHT) / (gold_total + PRIOR_WEIGHT)
    return min(max(value, 0.05), 0.99)


@dataclass(frozen=True)
class Record:
    """What a worker's answers in a project are judged on: the gold checks they answered
    at work (and the right ones) and the exam they passed (answers, right ones), kept
    apart because only the checks are an unselected sample (``may_stop_early``)."""

    gold: int = 0
    correct: int = 0
    exam: int = 0
    exam_right: int = 0

    @property
    def accuracy(self) -> float:
        """All of it, the exam included: how the live estimate weighs their answers."""
        return worker_accuracy(self.gold + self.exam, self.correct + self.exam_right)


def known_above(spec: ProjectSpec, total: int, correct: int) -> bool:
    """``correct`` of ``total`` judged answers show a worker comfortably above
    ``min_accuracy``: by ``PROVEN_MARGIN`` standard errors of the smoothed accuracy, so
    4 of 4 (0.90 smoothed, 0.74 at worst) do at 0.7, and 4 of 5 (0.80) are too close to
    tell; 3 of 3 is the shortest record that does (0.886 smoothed, 0.705 at worst)."""
    if not total:
        return False
    acc = worker_accuracy(total, correct)
    spread = math.sqrt(acc * (1 - acc) / (total + PRIOR_WEIGHT))
    return acc - PROVEN_MARGIN * spread >= spec.min_accuracy


def proven_at_work(spec: ProjectSpec, record: Record) -> bool:
    """Known to be comfortably above the line by gold checks at work alone, the exam left
    out: what lets an item stop early (``may_stop_early``) and earns the lowest gold rate
    (``routing.gold_rate``)."""
    return known_above(spec, record.gold, record.correct)


def may_stop_early(spec: ProjectSpec, records: Sequence[Record]) -> bool:
    """Whether an item answered by workers with these records may stop below ``overlap``:
    one of them at least is proven by their gold checks at work alone (``known_above``).
    A project without gold checks (``gold_rate`` 0) could never prove anyone at work, so
    there the posterior alone decides, as it always did (``routing.order`` likewise).

    Why not by the exam: it is a selected sample. A worker right 65 % of the time passes
    a 6-question exam at 0.8 about one time in three, and with four right in a row (the
    exam settled at 4 of 4, one time in six) looks proven (0.90 smoothed); two such
    agreeing settled items at two answers, and a replay of d_sentiment's full set fell
    below offline Dawid-Skene on all answers (0.923 against 0.960 on one seed). Gold
    checks come unannounced among the work, so they see the worker as the items do.
    One work-proven worker is enough: a wrong early stop then takes a lucky exam *and* a
    proven worker's mistake on the same item. Asking it of every worker bought more
    accuracy (d_sentiment 0.969 against 0.962, replaying the full set over five seeds)
    but cost rte over three work answers per item (3.12 against 2.74) and over one
    quiz or gold answer per item (1.04 against 0.89)."""
    return spec.gold_rate == 0 or any(proven_at_work(spec, r) for r in records)


def item_estimate(spec: ProjectSpec, answers: Sequence[tuple[int, str]],
                  records: dict[int, Record], aspect: float = 1.0) -> Estimate | None:
    """``live_estimate`` with each worker weighed by their whole record, exam included.
    For a label, the chance of a change is taken as 1 (so only ``overlap`` answers or
    ``max_overlap`` finish the item) unless its workers ``may_stop_early``. Texts and
    drawings keep their own estimate: their gold checks are judged by a tolerance few
    careful workers meet on every answer (``answer_score``), so they would hardly ever
    prove anyone, and their early stop was never measured against this rule."""
    found = live_estimate(spec, answers, {w: r.accuracy for w, r in records.items()},
                          aspect)
    if found is None or not spec.categorical or may_stop_early(
            spec, [records.get(worker, Record()) for worker, _ in answers]):
        return found
    return replace(found, change=1.0)


def live_estimate(spec: ProjectSpec, answers: Sequence[tuple[int, str]],
                  accuracy: dict[int, float], aspect: float = 1.0) -> Estimate | None:
    """The current label of one item and how sure we are of it, from its answers so far
    (``aspect``, width / height of its picture, is for points)."""
    if not answers:
        return None
    if spec.spatial:
        return shape_estimate(spec, answers, aspect)
    if not spec.categorical:
        return text_estimate([value for _, value in answers])
    labels = spec.label_values
    k = len(labels)
    log_post = [0.0] * k
    index = {label: i for i, label in enumerate(labels)}
    for worker, value in answers:
        if value not in index:
            continue
        acc = accuracy.get(worker, PRIOR_ACCURACY)
        right, wrong = math.log(acc), math.log((1 - acc) / (k - 1))
        for i in range(k):
            log_post[i] += right if i == index[value] else wrong
    top = max(log_post)
    weights = [math.exp(v - top) for v in log_post]
    total = sum(weights)
    # ties go to the label listed first; "tied" allows for the rounding of float sums,
    # which otherwise depends on the order the answers came in
    best = next(i for i in range(k) if weights[i] >= 1 - 1e-9)
    next_worker = max([PRIOR_ACCURACY, *(accuracy.get(w, PRIOR_ACCURACY)
                                         for w, _ in answers)])
    posterior = [w / total for w in weights]
    return Estimate(labels[best], posterior[best],
                    change_chance(log_post, posterior, best, next_worker))


def change_chance(log_post: Sequence[float], posterior: Sequence[float], best: int,
                  acc: float) -> float:
    """P(the label changes after one more answer from a worker right ``acc`` of the time).

    The next answer is v with probability sum over true labels t of post(t) * P(v | t). Only
    an answer for another label v can move the lead, and only to v: it adds log(acc) to v
    and log((1 - acc) / (k - 1)) to the leader. So this is the posterior mass of the answers
    that would overturn the leader (a tie counts), O(k) per answer.
    """
    k = len(log_post)
    if k < 2:
        return 0.0
    wrong = (1 - acc) / (k - 1)
    step = math.log(acc) - math.log(wrong)
    chance = 0.0
    for v in range(k):
        if v != best and log_post[v] + step >= log_post[best] - 1e-9:
            chance += posterior[v] * acc + (1 - posterior[v]) * wrong
    return chance


def text_estimate(values: Sequence[str]) -> Estimate:
    """ROVER over the typed answers; confidence is how strongly the slots agreed. Text has
    no posterior to ask what one more answer would do, so the chance of a change is taken
    as the share of doubt, 1 - confidence."""
    tokenized = [tokenize(v) for v in values]
    if len(values) == 1:
        return Estimate(detokenize(tokenized[0]), 0.5, 0.5)  # one person is never proof
    if not any(tokenized):
        return Estimate("", 1.0, 0.0)  # everybody says it cannot be made out
    tokens, confidence, _fallback = rover(tokenized)
    return Estimate(detokenize(tokens), float(confidence), 1 - float(confidence))


def shape_estimate(spec: ProjectSpec, answers: Sequence[tuple[int, str]],
                   aspect: float = 1.0) -> Estimate:
    """The drawings merged so far (``bot.aggregation.shapes``); the merge's confidence is
    that of its least sure box or point. Like text, a drawing has no posterior to ask
    what one more answer would do: the chance of a change is taken as 1 - confidence,
    and one drawing alone is never proof."""
    geometry = spec.geometry
    merged = shapes.merge(geometry, [(str(w), v) for w, v in answers], aspect)
    confidence = merged.confidence if len(answers) > 1 else min(merged.confidence, 0.5)
    return Estimate(shapes.merged_value(geometry, merged), confidence, 1 - confidence)


def item_done(spec: ProjectSpec, answers: int, confidence: float | None,
              change: float = 1.0) -> bool:
    """Enough answers, and sure enough; or as many answers as the project allows.

    From ``overlap`` answers on, the leader's posterior reaching ``confidence`` is enough
    (as it always was). From ``min_overlap`` (when the operator set it lower) the item may
    stop earlier, but only once settled: the posterior reaches ``confidence`` *and* one
    more answer, from a worker as good as the best who answered it, would change the
    label with a chance (``change``) of at most 1 - ``confidence`` (``item_estimate``
    makes that chance 1 unless a worker who answered is proven at work). With
    ``max_overlap == overlap`` and no ``min_overlap`` this is ``answers >= overlap``.
    """
    if answers >= spec.max_overlap:
        return True
    if answers < spec.floor or confidence is None \
            or confidence < spec.confidence - 1e-12:
        return False
    return answers >= spec.overlap or change <= 1 - spec.confidence + 1e-12


def wanted_answers(spec: ProjectSpec, answers: int) -> int:
    """How many answers the item should have once open leases come back: ``min_overlap``
    at once (``overlap`` when unset), then one at a time, so an item that may stop early
    is not leased to more workers than it turns out to need, and a disputed item asks just
    one more person."""
    return spec.floor if answers < spec.floor else min(answers + 1, spec.max_overlap)


def is_correct(spec: ProjectSpec, value: str, gold: str, aspect: float = 1.0) -> bool:
    """An answer against the right one: the same label; a drawing matching shape for
    shape (``bot.domain.shapes.is_right``, ``aspect`` of the picture for points); a
    text within ``TEXT_TOLERANCE`` word error rate."""
    if spec.categorical:
        return value == gold
    if spec.spatial:
        return shapes.is_right(spec.geometry, value, gold, aspect)
    return word_error_rate(value, gold) <= TEXT_TOLERANCE


def answer_score(spec: ProjectSpec, value: str, gold: str, aspect: float = 1.0) -> Fraction:
    """What one exam answer is worth: 1 or 0 for a label (or a drawing, by ``is_correct``,
    on the picture's own ``aspect``: the same verdict the answer was recorded with);
    for a typed text the share of the
    gold text's words it got right, 1 - word error rate (at least 0).

    Why not ``is_correct`` for texts: within a word error rate of 0.1 means one slip in a
    ten-word sentence makes the answer wrong, and fewer than half of the transcriptions of
    CrowdSpeech's careful workers are that close (their mean word error rate is 0.17), so
    an exam at ``pass = 0.8`` turned nearly all of them away. Scored by words, the pass
    mark reads as a share of words right: at 0.8, a worker whose transcriptions are 80 %
    right on average passes, one who types nothing or another recording fails."""
    if not spec.typed:
        return Fraction(int(is_correct(spec, value, gold, aspect)))
    hyp, ref = tokenize(value), tokenize(gold)
    return max(Fraction(0), 1 - Fraction(edit_distance(hyp, ref), max(len(ref), 1)))


def gold_suspension(spec: ProjectSpec, total: int, correct: int) -> bool:
    """Below ``min_accuracy`` once ``min_gold`` gold answers exist."""
    return total >= spec.min_gold and correct < spec.min_accuracy * total - 1e-9


def fast_threshold(spec: ProjectSpec, median_seconds: float | None, answers: int
                   ) -> float | None:
    """Seconds below which an answer is too fast: the project's ``min_seconds``, else half
    the project's median once ``MEDIAN_AFTER`` answers exist, else no rule yet."""
    if spec.min_seconds is not None:
        return spec.min_seconds
    if median_seconds is None or answers < MEDIAN_AFTER:
        return None
    return median_seconds / 2


def too_fast_suspension(recent_flags: Sequence[bool]) -> bool:
    """More than a third of the last ``RECENT`` answers were too fast (7 of 20)."""
    return sum(bool(flag) for flag in list(recent_flags)[:RECENT]) * 3 > RECENT
