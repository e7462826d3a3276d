"""A recorded crowd, and its workers as a replay meets them.

A public crowd file holds who answered what; a replay (``bot/sim/replay.py``) needs it
cut into work, gold checks and a quiz pool (``split``), and each worker as someone who
answers what the bot serves: their own recorded answer where they gave one, otherwise a
draw from their confusion matrix on the gold items (``Person``), or for a transcription
crowd a recorded text (``bot/sim/replay_text.py``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.sim.replay_text import transcribers

#: how many answers of the crowd's pooled confusion matrix each worker's own matrix starts
#: from: a worker seen on two gold items is mostly the crowd, one seen on two hundred is
#: themselves
SMOOTHING = 2.0


@dataclass(frozen=True)
class Crowd:
    """A recorded crowd: every answer as recorded, the gold, and the labels in use
    (none for a transcription crowd, whose answers are typed texts)."""

    rows: tuple[tuple[str, str, str], ...]
    gold: dict[str, str]
    labels: tuple[str, ...]
    #: items in the order of their first answer
    items: tuple[str, ...]
    #: a transcription crowd (``bot/sim/replay_text.py``)
    text: bool = False

    @classmethod
    def of(cls, rows: Sequence[tuple[str, str, str]], gold: dict[str, str], *,
           text: bool = False) -> Crowd:
        items = tuple(dict.fromkeys(item for item, _, _ in rows))
        answered = set(items)
        labels = () if text else tuple(sorted(
            {label for _, _, label in rows} | {g for i, g in gold.items() if i in answered}))
        return cls(tuple(rows), {i: g for i, g in gold.items() if i in answered},
                   labels, items, text)


@dataclass(frozen=True)
class Split:
    """Which items are work, which are gold checks and which the quiz pool.

    Quiz questions and gold checks are items with gold taken from the end of the file
    (the quiz pool last), the same for every setting, so each setting labels the same
    work items.
    """

    work: tuple[str, ...]
    checks: tuple[str, ...]
    quiz: tuple[str, ...]


def split(crowd: Crowd, *, quiz: int, checks: int, items: int | None = None,
          gold_only: bool = True) -> Split:
    """Carve ``quiz`` and ``checks`` gold items off the end; the first ``items`` of the rest
    are the work (only items with gold when ``gold_only``: nothing else can be scored)."""
    golden = [i for i in crowd.items if i in crowd.gold]
    if quiz + checks > len(golden):
        raise ValueError(f"{len(golden)} items with gold: too few for {quiz} quiz "
                         f"questions and {checks} gold checks")
    quiz_pool = golden[len(golden) - quiz:] if quiz else []
    check_pool = golden[len(golden) - quiz - checks:len(golden) - quiz] if checks else []
    carved = set(quiz_pool) | set(check_pool)
    work = [i for i in crowd.items
            if i not in carved and (i in crowd.gold or not gold_only)]
    if items is not None:
        work = work[:items]
    return Split(tuple(work), tuple(check_pool), tuple(quiz_pool))


def sparse_split(crowd: Crowd, *, quiz: int, checks: int, items: int | None = None
                 ) -> Split:
    """For a crowd with gold on few items (s_adult: 333 of 11,040): the work is the gold
    items left after the quiz and the checks, and as many items without gold (the first
    in file order), in file order; with ``items``, half of them with gold (rounded up).
    Items without gold are labelled like the rest and paid, not scored."""
    parts = split(crowd, quiz=quiz, checks=checks)
    scored = parts.work
    if items is not None:
        scored = scored[:(items + 1) // 2]
    carved = set(scored) | set(crowd.gold)
    unscored = [i for i in crowd.items if i not in carved][:(
        len(scored) if items is None else items - len(scored))]
    chosen = set(scored) | set(unscored)
    return Split(tuple(i for i in crowd.items if i in chosen), parts.checks, parts.quiz)


class Worker(Protocol):
    """A replayed worker: a :class:`Person` (labels) or a ``Transcriber`` (texts)."""

    @property
    def name(self) -> str: ...

    @property
    def recorded(self) -> dict[str, str]: ...

    @property
    def cap(self) -> int: ...

    def answer(self, item: str, truth: str | None, labels: Sequence[str],
               rng: random.Random) -> str: ...


@dataclass(frozen=True)
class Person:
    """One recorded worker: what they answered, how often they err, how much they work."""

    name: str
    recorded: dict[str, str]
    #: how many work items of the replay they answered in the file: they stop there
    cap: int
    #: per true label, the chance of each answer (labels in ``Crowd.labels`` order)
    confusion: dict[str, list[float]]
    #: the chance of each answer when the truth is unknown (an item without gold)
    marginal: list[float]

    def answer(self, item: str, truth: str | None, labels: Sequence[str],
               rng: random.Random) -> str:
        if item in self.recorded:
            return self.recorded[item]
        weights = self.marginal if truth is None else self.confusion[truth]
        return rng.choices(labels, weights)[0]


def workers(crowd: Crowd, parts: Split) -> list[Worker]:
    """Every worker who answered at least one work item, in file order."""
    if crowd.text:
        return list(transcribers(crowd.rows, crowd.gold,
                                 parts.work + parts.checks + parts.quiz, parts.work))
    return list(people(crowd, parts.work))


def people(crowd: Crowd, work: Sequence[str]) -> list[Person]:
    """Every worker of a labelling crowd who answered at least one work item."""
    labels = crowd.labels
    index = {label: k for k, label in enumerate(labels)}
    recorded: dict[str, dict[str, str]] = {}
    for item, worker, label in crowd.rows:
        recorded.setdefault(worker, {}).setdefault(item, label)  # a repeat: the first
    pooled = {t: [1e-3] * len(labels) for t in labels}
    for answers in recorded.values():
        for item, label in answers.items():
            if item in crowd.gold:
                pooled[crowd.gold[item]][index[label]] += 1
    for t in labels:
        total = sum(pooled[t])
        pooled[t] = [c / total for c in pooled[t]]
    work_set = set(work)
    result = []
    for worker, answers in recorded.items():
        cap = sum(1 for item in answers if item in work_set)
        if cap == 0:
            continue
        own = {t: [SMOOTHING * p for p in pooled[t]] for t in labels}
        marginal = [1e-3] * len(labels)
        for item, label in answers.items():
            marginal[index[label]] += 1
            if item in crowd.gold:
                own[crowd.gold[item]][index[label]] += 1
        result.append(Person(worker, answers, cap, own, marginal))
    return result


def draw(seed: int, person: Worker, item: str, seen: Counter[str]) -> random.Random:
    """The randomness of one answer: seeded by the replay's seed, the worker, the item and
    how often they met it, not drawn from one stream. Two settings replayed with one seed
    then get the same answer from a worker on the same item whatever else differs
    (common random numbers), so a comparison of settings is not blurred by new draws."""
    seen[item] += 1
    return random.Random(f"{seed}/{person.name}/{item}/{seen[item]}")
