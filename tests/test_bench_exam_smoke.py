"""The exam-rule comparison (``python -m bench.exam``): its rules worked by hand, and a
small run in module form on a public crowd.

Only the shape of the figures and the orderings that follow from the rules are checked.
"""

from __future__ import annotations

import random

from bench import exam
from tests.bench_module import run_bench
from tests.test_aggregation_models import shared


def test_wald_against_a_guesser_needs_five_right_and_three_wrong() -> None:
    """0.8 against 0.5, error rates 0.1: a right answer adds log 1.6 = 0.47, a wrong one
    log 0.4 = -0.92, and the bounds are +-log 9 = 2.20."""
    rule = exam.sprt(0.8, 0.5, 0.1, 0.1, questions=10, needed=8)
    assert rule([True] * 4) is None and rule([True] * 5) is True
    assert rule([False] * 2) is None and rule([False] * 3) is False
    assert rule([False] + [True] * 6) is None      # -0.92 + 6 x 0.47 = 1.90
    assert rule([False] + [True] * 7) is True      # 2.37
    # at the last question the pass mark decides: 8 of 10 passes, 7 of 10 fails
    short = exam.sprt(0.8, 0.5, 0.01, 0.01, questions=10, needed=8)
    assert short([True, False] + [True] * 6 + [False, True]) is True
    assert short([False, True] * 3 + [True, True, False, True]) is False


def test_practice_only_after_a_miss_never_costs_a_strong_worker_a_question() -> None:
    rng = random.Random(0)
    bb = exam.beta_binomial(6, 5)
    assert exam.after_a_miss(bb)(1.0, rng) == (True, 4)        # 4 of 4 settles it
    assert exam.practice_first(bb)(1.0, rng) == (True, 6)      # two practice answers first
    assert exam.after_a_miss(bb, round_of_practice=False)(1.0, rng) == (True, 4)
    assert exam.after_a_miss(bb)(0.0, rng) == (False, 5 + 2)   # 5 practice, 2 misses


def test_the_comparison_runs_as_a_module() -> None:
    shared("sp_amt")  # in CI the data must be there
    out = run_bench("exam", "--set", "sp_amt", "--runs", "2000", timeout=300)
    first = out.split("\n\n")[0]  # the costs; the pass chances follow
    rows = {line.split(" | ")[0].lstrip("| "): line for line in first.splitlines()
            if line.startswith("| ")}

    def cost(name: str) -> float:
        return float(rows[name].split(" | ")[1].split()[0])

    assert cost("practice after a miss (now)") < cost("practice first")
    assert cost("first miss forgiven") <= cost("practice after a miss (now)")
    assert "SPRT 0.1/0.1, at most 6" in rows
