"""How much a project's workers agree, in one pass over its answers, in bounded memory.

The dashboard's quality page shows, without running a whole aggregation: the share of
answers that match the most common answer of the others on the same item (each worker
judged against everyone else, so a worker never agrees with themself), that share per
worker, and the items whose answers are most split — the ones worth a look. Items are
fed one at a time; only per-worker counters and the ``keep`` most split items stay in
memory, however large the project.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SplitItem:
    """An item whose answers disagree: its top answer's share of all answers."""

    item_pk: int
    ext_id: str
    share: float
    #: (worker, answer) in the order given
    answers: tuple[tuple[int, str], ...]


@dataclass
class Agreement:
    """Fold items in with ``add``; read the figures once every item is in."""

    keep: int = 20
    items: int = 0            # items with two answers or more
    agreeing: int = 0         # answers matching the others' most common answer
    judged: int = 0           # answers on items with two answers or more
    share_sum: float = 0.0
    per_worker: dict[int, list[int]] = field(default_factory=dict)  # [agreeing, judged]
    _split: list[tuple[float, int, int, SplitItem]] = field(default_factory=list)

    def add(self, item_pk: int, ext_id: str, answers: list[tuple[int, str]]) -> None:
        """One item's answers as (worker, answer); typed answers compare trimmed and
        case-folded."""
        if len(answers) < 2:
            return
        normal = [(worker, _normal(answer)) for worker, answer in answers]
        counts = Counter(answer for _worker, answer in normal)
        top = max(counts.values())
        share = top / len(normal)
        self.items += 1
        self.share_sum += share
        for worker, answer in normal:
            others = counts.copy()
            others[answer] -= 1
            best = max(others.values())
            agrees = best > 0 and others[answer] == best
            tally = self.per_worker.setdefault(worker, [0, 0])
            tally[0] += agrees
            tally[1] += 1
            self.agreeing += agrees
            self.judged += 1
        if share < 1.0:
            # the most split first; among equals, the most answers (the surest split)
            entry = (-share, len(answers), -item_pk,
                     SplitItem(item_pk, ext_id, round(share, 3), tuple(answers)))
            if len(self._split) < self.keep:
                heapq.heappush(self._split, entry)
            else:
                heapq.heappushpop(self._split, entry)

    @property
    def overall(self) -> float | None:
        """The share of answers agreeing with the others on their item."""
        return self.agreeing / self.judged if self.judged else None

    @property
    def mean_top_share(self) -> float | None:
        """The average share of an item's answers held by its most common answer."""
        return self.share_sum / self.items if self.items else None

    def worker(self, worker_id: int) -> float | None:
        agreeing, judged = self.per_worker.get(worker_id, (0, 0))
        return agreeing / judged if judged else None

    def most_split(self) -> list[SplitItem]:
        """The kept items, most split first."""
        return [entry[3] for entry in sorted(self._split, key=lambda e: e[:3], reverse=True)]


def _normal(answer: str) -> str:
    return " ".join(answer.split()).casefold()
