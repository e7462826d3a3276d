"""The fewest unpaid answers any exam could cost a crowd, and a proof when a target is out of reach.

Issue 13 set a target of at most 6 unpaid quiz answers per qualified worker. On
d_sentiment and rte the bot's exam costs more, and every change tried either passed more
weak workers or failed more good ones. This module answers whether *any* exam could do
better, not only the ones tried, for a crowd whose accuracies are known exactly (the
replay's own workers: ``bench.exam.accuracies``), which no real exam knows: a bound that
holds for this all-knowing exam holds for every real one.

An exam here is any sequential rule of at most ``most`` questions that, after each answer,
passes, fails or asks another, however it decides: by the counts, by coin flips, by the
order of answers. Its worth to a crowd is three expectations per arriving worker: answers
asked (A), workers passed (P), and among them weak (W, accuracy below ``weak``) and good
(G, accuracy at least ``good``). The question: is there an exam with A <= t P (at most t
answers per qualified worker) that passes no larger share of weak workers (W <= omega P)
and no smaller share of the good ones (G >= gamma times the good workers' share)?

**The proof is Lagrangian weak duality.** For multipliers beta, alpha >= 0, any such exam
has A - t P + beta (W - omega P) - alpha G <= -alpha gamma g (g: share of good workers).
The left side is the Bayes risk of a sequential test with a linear loss, and dynamic
programming over (right, wrong) counts finds its minimum over *all* exams exactly: the
posterior over the crowd depends only on the counts, and randomising never beats the best
deterministic choice. So multipliers for which that minimum is still above
-alpha gamma g prove that no exam, however clever, reaches t. ``certificate`` searches
for such multipliers; ``cheapest`` bisects t below the cost of an exam known to keep both
shares (the bot's own) for the largest value so proven out of reach.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: a decision after some answers: "ask" another, "pass" or "fail"
Decision = str
#: an exam as a table: (right, wrong) -> decision
Table = dict[tuple[int, int], Decision]
#: the multipliers are searched between 0 and this, in this many golden-section steps
MOST_WEIGHT = 100_000.0
STEPS = 50


@dataclass(frozen=True)
class Worth:
    """What an exam costs and whom it passes, per arriving worker."""

    answers: float
    passed: float
    weak: float   # passed and weak
    good: float   # passed and good

    @property
    def per_qualified(self) -> float:
        return self.answers / self.passed if self.passed else math.inf

    @property
    def weak_share(self) -> float:
        """Weak workers among those passed."""
        return self.weak / self.passed if self.passed else 0.0


@dataclass(frozen=True)
class Crowd:
    """Accuracies of equally likely arrivals, with who counts as weak and good."""

    accuracy: np.ndarray
    is_weak: np.ndarray
    is_good: np.ndarray

    @classmethod
    def of(cls, accuracies: Sequence[float], weak: float, good: float) -> Crowd:
        a = np.asarray(accuracies, dtype=float)
        return cls(a, (a < weak).astype(float), (a >= good).astype(float))

    @property
    def good_share(self) -> float:
        return float(self.is_good.mean())


def solve(crowd: Crowd, most: int, pass_value: np.ndarray) -> tuple[float, Table]:
    """The least expected cost over every exam of at most ``most`` questions, where each
    question asked costs 1 and passing a worker of each accuracy costs ``pass_value``
    (failing costs 0), and the exam that reaches it. Exact dynamic programming backwards
    over the counts; values are sums over the crowd weighted by the chance of one answer
    sequence with those counts, so a state's value need not be renormalised."""
    p, q = crowd.accuracy, 1 - crowd.accuracy
    prior = np.full(len(p), 1 / len(p))
    value: dict[tuple[int, int], float] = {}
    table: Table = {}
    for asked in range(most, -1, -1):
        for right in range(asked + 1):
            state = (right, asked - right)
            weight = prior * p ** right * q ** (asked - right)
            options = [(float(weight @ pass_value), "pass"), (0.0, "fail")]
            if asked < most:
                options.append((float(weight.sum()) + value[(right + 1, asked - right)]
                                + value[(right, asked - right + 1)], "ask"))
            value[state], table[state] = min(options)
    return value[(0, 0)], table


def worth(crowd: Crowd, table: Table | Callable[[int, int], Decision]) -> Worth:
    """An exam's expectations, exactly, by walking every count it can reach."""
    decide = table.__getitem__ if isinstance(table, dict) else table
    p = crowd.accuracy
    prior = np.full(len(p), 1 / len(p))
    reach = {(0, 0): np.ones(len(p))}  # chance, per accuracy, of reaching those counts
    asked = np.zeros(len(p))
    passed = np.zeros(len(p))
    while reach:
        nxt: dict[tuple[int, int], np.ndarray] = {}
        for (right, wrong), chance in reach.items():
            decision = decide(right, wrong)
            if decision == "pass":
                passed += chance
            elif decision == "ask":
                asked += chance
                for state, step in (((right + 1, wrong), p), ((right, wrong + 1), 1 - p)):
                    nxt[state] = nxt.get(state, 0) + chance * step
        reach = nxt
    return Worth(float(prior @ asked), float(prior @ passed),
                 float(prior @ (passed * crowd.is_weak)), float(prior @ (passed * crowd.is_good)))


def dual(crowd: Crowd, t: float, omega: float, gamma: float, most: int, beta: float,
         alpha: float) -> float:
    """The Lagrangian dual at (beta, alpha): above 0 proves no exam reaches ``t`` while
    keeping both shares. Concave in (beta, alpha), being a least of linear functions."""
    pass_value = -t - beta * omega + beta * crowd.is_weak - alpha * crowd.is_good
    least, _ = solve(crowd, most, pass_value)
    return least + alpha * gamma * crowd.good_share


def certificate(crowd: Crowd, t: float, omega: float, gamma: float, most: int
                ) -> tuple[float, float] | None:
    """Multipliers (beta, alpha) proving that no exam of at most ``most`` questions costs
    at most ``t`` answers per qualified worker with a weak share of at most ``omega`` among
    those passed and at least ``gamma`` of the good workers passed; None if none found.

    The dual is concave, so a golden-section search along alpha inside one along beta
    finds its peak (to the search's precision); only its sign matters."""
    def best_alpha(beta: float) -> tuple[float, float]:
        alpha = _peak(lambda a: dual(crowd, t, omega, gamma, most, beta, a))
        return dual(crowd, t, omega, gamma, most, beta, alpha), alpha

    beta = _peak(lambda b: best_alpha(b)[0])
    value, alpha = best_alpha(beta)
    return (beta, alpha) if value > 1e-9 else None


def cheapest(crowd: Crowd, omega: float, gamma: float, most: int, *, upper: float
             ) -> float:
    """The largest cost per qualified worker proven out of reach, to 0.02, below
    ``upper`` (the cost of an exam known to keep both shares)."""
    low, high = 0.0, upper
    while high - low > 0.02:
        mid = (low + high) / 2
        if certificate(crowd, mid, omega, gamma, most) is None:
            high = mid
        else:
            low = mid
    return low


def _peak(f: Callable[[float], float], high: float = MOST_WEIGHT, steps: int = STEPS
          ) -> float:
    """Where a concave function on [0, ``high``] peaks (golden-section search)."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = 0.0, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(steps):
        if fc < fd:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
        else:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
    best = max((f(0.0), 0.0), (fc, c), (fd, d))
    return best[1]
