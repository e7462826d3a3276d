"""The replay in CI: 60 items of a public crowd through the running bot, quality settings on,
and 20 recordings of a transcription crowd (with gold checks, and with the typed exam).

Bounded by answers, not time: each replayed worker stops at their own recorded answer
count, so each run is a few hundred taps or typed texts (about 10 s on two busy cores).
"""

from __future__ import annotations

from collections import Counter

from bench import replay as bench
from bot.aggregation.io import read_answers, read_gold
from bot.aggregation.text import normalize
from bot.sim.recorded import Crowd, Person, draw, sparse_split, split
from bot.sim.replay import CHECKS, PAID_EXAM, QUALITY, replay
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
    assert all(QUALITY.floor <= n <= QUALITY.max_overlap for n in per_item.values()), \
        per_item
    assert sum(per_item.values()) == outcome.work_answers
    # the quiz ran, someone passed, and gold checks were mixed in
    assert outcome.quiz_answers >= QUALITY.quiz_questions and outcome.qualified >= 3
    assert outcome.gold_answers > 0
    # practice only after a missed first question: 11.9 quiz answers per worker who got
    # through at this seed, 19.5 when everyone practised first
    assert outcome.quiz_answers <= 14 * outcome.qualified, outcome
    # every accepted answer (gold checks are paid too) earned once, settled at the end: a
    # unit judged wrong is paid half (discount 0.5), so the total lies between half and
    # all of answers x reward, in whole half-rewards
    earned = (outcome.work_answers + outcome.gold_answers) * 20_000
    assert earned // 2 <= outcome.paid <= earned and outcome.paid % 10_000 == 0


async def test_a_paid_exam_changes_no_decision_and_counts_the_passed_exams_as_paid(
) -> None:
    """``quiz.paid`` only writes money: with one seed the bot serves, quizzes and labels
    exactly as without it, and the passed exams' answers move from unpaid to paid."""
    folder = shared("d_sentiment")
    _, rows = read_answers(folder / "answers.csv")
    crowd = Crowd.of(rows, read_gold(folder / "gold.csv"))
    parts = split(crowd, quiz=20, checks=50, items=30)
    base = {**BASE, "labels": list(crowd.labels)}
    unpaid = await replay(crowd, parts, QUALITY, base, seed=3)
    paid = await replay(crowd, parts, PAID_EXAM, base, seed=3)
    assert PAID_EXAM.document(base)["quiz"]["paid"] is True
    assert "paid" not in QUALITY.document(base)["quiz"]
    same = ("work_answers", "gold_answers", "quiz_answers", "qualified", "labels")
    assert [getattr(paid, k) for k in same] == [getattr(unpaid, k) for k in same]
    assert unpaid.paid_quiz_answers == 0 and unpaid.qualified >= 1
    # every qualified worker passed one exam of at least 4 questions (4 of 4 settles 5 of 6)
    assert 4 * paid.qualified <= paid.paid_quiz_answers <= 6 * paid.qualified
    assert paid.unpaid_quiz_answers == paid.quiz_answers - paid.paid_quiz_answers
    assert paid.paid == unpaid.paid + paid.paid_quiz_answers * 20_000
    r = bench.row("d_sentiment", 3, PAID_EXAM, paid, 1.0, 0.0, 0.0, 0.0)
    assert r["unpaid_per_qualified"] == round(paid.unpaid_quiz_answers / paid.qualified, 1)
    assert r["paid_quiz_answers"] == paid.paid_quiz_answers
    assert bench.LABEL_SETTINGS[:2] == (QUALITY, PAID_EXAM)


#: the project file's keys for a replayed transcription crowd
SPEECH = {"name": "speech", "kind": "transcription", "title": "Type what you hear",
          "reward": "0.02", "currency": "USD", "language": "en"}


def speech_crowd() -> Crowd:
    """CrowdSpeech dev-clean as a crowd of typed texts."""
    folder = shared("crowdspeech_dev_clean")
    _, rows = read_answers(folder / "answers.tsv")
    return Crowd.of(rows, read_gold(folder / "gold.tsv"), text=True)


async def test_a_transcription_crowd_replayed_through_the_bot_beats_one_transcriber(
) -> None:
    crowd = speech_crowd()
    parts = split(crowd, quiz=0, checks=20, items=20)

    outcome = await replay(crowd, parts, CHECKS, SPEECH, seed=1)

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


async def test_a_typed_exam_scored_by_words_lets_careful_transcribers_through() -> None:
    """Graded answer by answer (within a word error rate of 0.1), the exam turned most of
    CrowdSpeech's workers away and 9 of these 20 recordings got a text; scored by the
    share of words right, every one does."""
    crowd = speech_crowd()
    parts = split(crowd, quiz=20, checks=20, items=20)

    outcome = await replay(crowd, parts, QUALITY, SPEECH, seed=1)

    assert outcome.labelled == 20 and outcome.quiz_answers > 0
    assert outcome.qualified >= 10, outcome  # 8 of 96 before
    single = single_worker_wer(crowd.rows, crowd.gold, parts.work)
    assert outcome.wer is not None and outcome.wer < single, (outcome.wer, single)


def test_a_set_with_few_gold_items_works_on_items_without_gold_too() -> None:
    folder = shared("s_adult")
    _, rows = read_answers(folder / "answers.csv")
    crowd = Crowd.of(rows, read_gold(folder / "gold.csv"))
    parts = sparse_split(crowd, quiz=20, checks=20, items=40)

    assert len(parts.work) == 40
    assert sum(item in crowd.gold for item in parts.work) == 20  # half of them scored
    carved = set(parts.quiz) | set(parts.checks)
    assert len(carved) == 40 and carved <= set(crowd.gold)
    assert not carved & set(parts.work)
    order = {item: n for n, item in enumerate(crowd.items)}
    assert list(parts.work) == sorted(parts.work, key=order.__getitem__)
    whole = sparse_split(crowd, quiz=20, checks=20)
    assert len(whole.work) == 2 * (len(crowd.gold) - 40)  # 293 with gold, 293 without


def test_the_summary_over_seeds_gives_mean_and_range_per_set_and_setting() -> None:
    rows = [{"set": "a", "setting": "q", "seed": s, "accuracy": acc, "work_per_item": w}
            for s, acc, w in ((0, 0.9, 3.0), (1, 0.8, 3.4), (2, 1.0, 3.2))]
    rows.append({"set": "t", "setting": "q", "seed": 0, "wer": 0.07, "accuracy": 0.7,
                 "work_per_item": 3.7})
    first, text = bench.summary(rows)
    assert first["metric"] == "accuracy" and first["seeds"] == [0, 1, 2]
    assert first["accuracy"] == {"mean": 0.9, "min": 0.8, "max": 1.0}
    assert first["work_per_item"] == {"mean": 3.2, "min": 3.0, "max": 3.4}
    assert text["metric"] == "wer" and text["wer"]["mean"] == 0.07
    assert "**0.900** (0.800-1.000)" in bench.summary_table([first, text])


def test_a_workers_answer_to_an_item_does_not_depend_on_what_came_before() -> None:
    """Common random numbers: two settings replayed with one seed serve a worker items
    in different orders; each drawn answer must still be the same, or a comparison of
    settings measures new draws instead of the settings."""
    labels = ("pos", "neg")
    person = Person("w1", {}, 10, {"pos": [0.5, 0.5], "neg": [0.5, 0.5]}, [0.5, 0.5])
    items = [f"i{n}" for n in range(40)]

    def answers(order: list[str], seed: int) -> dict[str, str]:
        seen: Counter[str] = Counter()
        return {item: person.answer(item, "pos", labels, draw(seed, person, item, seen))
                for item in order}

    forward = answers(items, seed=0)
    assert answers(items[::-1], seed=0) == forward
    assert answers(items, seed=1) != forward  # another seed, other draws
    assert set(forward.values()) == set(labels)
    seen: Counter[str] = Counter()  # meeting an item again (a quiz retake) draws anew
    again = [draw(0, person, "i0", seen).random() for _ in range(2)]
    assert again[0] != again[1]
