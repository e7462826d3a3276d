"""Who gets which open item, and how many gold checks, by what the answer is worth (issue 13).

Pure rules over plain values; the leasing service reads the worker's gold record and asks.

- **Need.** Every open item carries a small bucket, kept in the serving index and updated
  with each answer from the item's live posterior (``bot.domain.quality.live_estimate``):
  ``SPLIT`` (the answers disagree), ``OPEN`` (leaning, or leased but not yet answered) and
  ``SURE`` (already confident, waiting only for ``min_overlap`` or for one more answer not
  to be able to flip it). A fresh item is ``OPEN``.
- **Skill.** A worker whose accuracy on gold checks and on the exam they passed is known
  well above ``min_accuracy`` is *proven*; everyone else (too short a record, or close
  to the line) is *learning*. Proven workers are served the split items first: their
  answer is the one most likely to settle them. Learning workers are served the sure
  items first: their answer can do little harm there, and it is compared with a label
  the crowd is already sure of while gold checks find out what they are worth.
- **Nothing starves.** Every worker takes any started item (whatever its bucket) before a
  fresh one is opened, and within a bucket the oldest item comes first. So an item left
  in a worker's last-choice bucket waits only while started items ahead of it exist; none
  are added while it waits, because nobody opens a fresh item while a started one is
  open to them. Leases still end after ``lease_minutes``.
- **Gold by need.** ``gold_rate`` is the average: a learning worker is checked at
  ``LEARNING_GOLD`` times it and one proven by gold checks at work at ``PROVEN_GOLD``
  times it, so a crowd whose tasks are half done by learning workers sees exactly
  ``gold_rate`` (and a crowd of newcomers more, which is what gold checks are for). A
  worker proven only with the exam they passed is checked at ``gold_rate`` itself
  (``EXAM_GOLD``) until checks at work prove them: only those let their items stop
  early (``quality.may_stop_early``).
"""

from __future__ import annotations

from bot.domain.project_spec import ProjectSpec
from bot.domain.quality import Record, known_above, proven_at_work

#: need buckets (the ``need`` column of items), in the order a proven worker wants them
SURE, OPEN, SPLIT = 0, 1, 2
BY_NEED = (SPLIT, OPEN, SURE)
#: gold rate factors; (LEARNING_GOLD + PROVEN_GOLD) / 2 == 1 keeps ``gold_rate`` the average
#: when half of the tasks are done by workers still being learned
LEARNING_GOLD = 1.5
PROVEN_GOLD = 0.5
#: a worker proven with the exam they passed but not yet by gold checks at work alone:
#: the learning rate cost rte over one quiz or gold answer per item (1.05 over five seeds)
EXAM_GOLD = 1.0


#: a worker's record in a project, their gold checks at work and the exam they passed
#: apart (``quality.Record``): routing goes by all of it, the gold rate by the checks alone
Skill = Record


def proven(spec: ProjectSpec, skill: Skill) -> bool:
    """Known to be comfortably above the suspension line (``quality.known_above``).

    The record counts the exam the worker passed (``storage.quality.skill_record``): a
    convincing exam serves the split items first from the start. (The lowest gold rate and
    stopping an item early ask more: gold checks at work alone, ``proven_at_work``.) No
    ``min_gold`` here: that count says when a worker may be *suspended*, and the
    shrinking towards the prior already keeps a short record from proving much.
    """
    return known_above(spec, skill.gold + skill.exam, skill.correct + skill.exam_right)


def order(spec: ProjectSpec, skill: Skill) -> tuple[int, ...]:
    """The need buckets of started items in the order this worker is served them.

    Easy items first only while gold checks can tell the worker's skill: a project
    without gold (``gold_rate`` 0) could never prove anyone, and serving every worker the
    settled items first left the split ones to the end (a plain overlap-3 replay of rte
    fell from 0.815 to 0.710), so there everyone gets the split items first.
    """
    if spec.gold_rate == 0 or proven(spec, skill):
        return BY_NEED
    return BY_NEED[::-1]


def gold_rate(spec: ProjectSpec, skill: Skill) -> float:
    """This worker's share of gold checks: more while learning, the plain rate while
    proven only with the exam, fewer once proven by gold checks at work.

    Only checks at work let the items a worker answers stop below ``overlap``
    (``quality.may_stop_early``). Checked at the proven rate because of a perfect exam, a
    worker took long to be proven at work, so their items went on to ``overlap``: rte
    (workers stay about 25 tasks) needed 2.74 work answers per item over five seeds, one
    seed 3.05; with the plain rate until proven at work, 2.64 (2.58-2.75), for 0.28 gold
    answers per item instead of 0.21 (``bench.replay``, d_sentiment, rte and sp_amt).
    """
    if proven_at_work(spec, skill):
        factor = PROVEN_GOLD
    else:
        factor = EXAM_GOLD if proven(spec, skill) else LEARNING_GOLD
    return min(1.0, spec.gold_rate * factor)


def need(spec: ProjectSpec, answers: int, confidence: float | None) -> int:
    """The bucket of an open item with ``answers`` answers and this leader's posterior.

    Split means the leader is below halfway between a guess (1/k) and ``confidence``: two
    disagreeing answers, or a strong worker against a new one. For a transcription the
    ROVER agreement stands in for the posterior (a guess being 0).
    """
    if answers == 0 or confidence is None:
        return OPEN
    if confidence >= spec.confidence - 1e-12:
        return SURE
    guess = 1 / len(spec.labels) if spec.categorical and spec.labels else 0.0
    return SPLIT if confidence < (guess + spec.confidence) / 2 else OPEN
