"""The replay in CI: 60 items of a public crowd through the running bot, quality settings on,
and 20 recordings of a transcription crowd.

Bounded by answers, not time: each replayed worker stops at their own recorded answer
count, so each run is a few hundred taps or typed texts (about 10 s on two busy cores).
"""

from __future__ import annotations

from collections import Counter

from bot.aggregation.io import read_answers, read_gold
from bot.aggregation.text import normalize
from bot.sim.replay import CHECKS, QUALITY, Crowd, replay, split
from bot.sim.replay_text import single_worker_wer
from tests.test_aggregation_models import shared

ITEMS = 60
BASE = {"name": "replay", "kind": "classification", "title": "Replay",
        "reward": "0.02", "currency": "USD", "language": "en"}


async def test_a_public_crowd_replayed_through_the_bot_is_labelled_well_and_paid_exactly(
) -> None:
    folder = shared("d_sentiment")
    _, rows = read_answers(folder / "answers.csv")
    crowd = Crowd.of(rows, read_gold(folder / "gold.csv"))
    parts = split(crowd, quiz=20, checks=50, items=ITEMS)
    assert len(parts.work) == ITEMS and not set(parts.work) & set(parts.quiz + parts.checks)

    outcome = await replay(crowd, parts, QUALITY, {**BASE, "labels": list(crowd.labels)},
                           seed=3)

    assert outcome.labelled == ITEMS  # every item labelled, through the operator's export
    assert outcome.accuracy >= 0.85, outcome  # two labels: chance is 0.5
    per_item = Counter(item for item, _, _ in outcome.answers)
    assert set(per_item) == set(parts.work)
    assert all(QUALITY.overlap <= n <= QUALITY.max_overlap for n in per_item.values()), \
        per_item
    assert sum(per_item.values()) == outcome.work_answers
    # the quiz ran, someone passed, and gold checks were mixed in
    assert outcome.quiz_answers >= QUALITY.quiz_questions and outcome.qualified >= 3
    assert outcome.gold_answers > 0
    # every accepted answer (gold checks are paid too) earned once, settled at the end: a
    # unit judged wrong is paid half (discount 0.5), so the total lies between half and
    # all of answers x reward, in whole half-rewards
    earned = (outcome.work_answers + outcome.gold_answers) * 20_000
    assert earned // 2 <= outcome.paid <= earned and outcome.paid % 10_000 == 0


async def test_a_transcription_crowd_replayed_through_the_bot_beats_one_transcriber(
) -> None:
    folder = shared("crowdspeech_dev_clean")
    _, rows = read_answers(folder / "answers.tsv")
    crowd = Crowd.of(rows, read_gold(folder / "gold.tsv"), text=True)
    parts = split(crowd, quiz=0, checks=20, items=20)
    base = {"name": "speech", "kind": "transcription", "title": "Type what you hear",
            "reward": "0.02", "currency": "USD", "language": "en"}

    outcome = await replay(crowd, parts, CHECKS, base, seed=1)

    # every recording transcribed, by the workers' typed texts, through the export
    assert outcome.labelled == 20 and set(outcome.labels) == set(parts.work)
    per_item = Counter(item for item, _, _ in outcome.answers)
    assert all(CHECKS.overlap <= n <= CHECKS.max_overlap for n in per_item.values()), \
        per_item
    typed = {normalize(text) for _, _, text in outcome.answers}
    assert typed <= {normalize(text) for _, _, text in crowd.rows}  # recorded texts only
    assert outcome.gold_answers > 0  # gold checks graded by the word error rate rule
    single = single_worker_wer(crowd.rows, crowd.gold, parts.work)  # 0.23 on these
    assert outcome.wer is not None and outcome.wer_kept is not None
    assert outcome.wer <= 0.75 * single, (outcome.wer, single)
    assert outcome.wer <= outcome.wer_kept  # keeping apostrophes can only add errors
