"""The all-knowing vote (``python -m bench.oracle``): cases whose answer is known, and a
run in module form on a public crowd."""

from __future__ import annotations

import pytest

from bench.oracle import oracle_accuracy
from bot.sim.recorded import Person
from tests.bench_module import run_bench
from tests.test_aggregation_models import shared

LABELS = ("yes", "no")


def person(confusion: dict[str, list[float]], stay: int = 1) -> Person:
    return Person("w", {}, stay, confusion, [1.0, 1.0])


def test_workers_who_are_never_wrong_give_every_label() -> None:
    sure = person({"yes": [1.0, 1e-12], "no": [1e-12, 1.0]})
    assert oracle_accuracy([sure], LABELS, [0.5, 0.5], 1, 2000, 0) == 1.0


def test_workers_who_answer_at_random_leave_only_the_larger_class() -> None:
    noise = person({"yes": [0.5, 0.5], "no": [0.5, 0.5]})
    found = oracle_accuracy([noise], LABELS, [0.7, 0.3], 3, 20_000, 0)
    assert found == pytest.approx(0.7, abs=0.015)


def test_three_workers_right_four_times_in_five_vote_as_the_binomial_says() -> None:
    """Majority of three at 0.8: 0.8^3 + 3 x 0.8^2 x 0.2 = 0.896 (equal classes, equal
    workers: the all-knowing vote is the majority)."""
    good = person({"yes": [0.8, 0.2], "no": [0.2, 0.8]})
    found = oracle_accuracy([good], LABELS, [0.5, 0.5], 3, 40_000, 1)
    assert found == pytest.approx(0.896, abs=0.01)


def test_the_oracle_runs_as_a_module() -> None:
    shared("sp_amt")  # in CI the data must be there
    out = run_bench("oracle", "--set", "sp_amt", "--answers", "1", "--answers", "3",
                    "--draws", "3000")
    row = next(line for line in out.splitlines() if line.startswith("| sp_amt"))
    one, three = (float(c) for c in row.strip("| \n").split(" | ")[1:])
    assert 0.5 < one < three <= 1.0
