"""How accurate n answers per item could be on a crowd's replay if every worker were known.

    python -m bench.oracle [--set NAME ...] [--answers N ...] [--draws D] [--seed S]

Issue 13 asks the replayed labels to be at least as accurate as offline Dawid-Skene on
every recorded answer, with at most 3 work answers per item. On s_adult no setting gets
there, and this asks whether any bot could, without choosing its workers: each item gets
n answers from workers drawn as a replay meets them (in proportion to their stay), each
answer drawn from that worker's own confusion matrix exactly as a replay draws it
(``bot.sim.recorded.people``), and the label is the Bayes-optimal one *given every
worker's true matrix and the class shares*, which no aggregation knows. What that
oracle cannot reach, no stopping rule or aggregation reaches with workers as they come;
only choosing better workers (a quiz, routing by skill) could, and that needs workers who
stay long enough to be told apart.

Monte Carlo over ``--draws`` items per n (a seeded stream); the true label of each is
drawn from the set's gold class shares.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Sequence

from bench.replay import DATA, SETS, load
from bot.sim.recorded import Person, people


def oracle_accuracy(persons: Sequence[Person], labels: Sequence[str],
                    shares: Sequence[float], n: int, draws: int, seed: int) -> float:
    """The share of ``draws`` items the all-knowing vote gets right from n answers."""
    rng = random.Random(seed)
    k = len(labels)
    rows = [{t: _normal(p.confusion[t]) for t in labels} for p in persons]
    stays = [p.cap for p in persons]
    right = 0
    for _ in range(draws):
        truth = rng.choices(range(k), shares)[0]
        chosen = rng.choices(range(len(rows)), stays, k=n)
        answers = [rng.choices(range(k), rows[w][labels[truth]])[0] for w in chosen]
        score = [math.log(shares[t] or 1e-300) + sum(math.log(rows[w][labels[t]][a])
                                           for w, a in zip(chosen, answers, strict=True))
                 for t in range(k)]
        right += max(range(k), key=score.__getitem__) == truth
    return right / draws


def _normal(row: Sequence[float]) -> list[float]:
    total = sum(row)
    return [c / total for c in row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.oracle", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", dest="sets", choices=SETS)
    parser.add_argument("--answers", action="append", type=int)
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"bench.oracle: no crowd data at {DATA}", file=sys.stderr)
        return 2
    counts = args.answers or [2, 3, 4, 5]
    print(f"the all-knowing vote on n answers per item from workers as they come; "
          f"{args.draws} items per cell")
    print("| set | " + " | ".join(f"n = {n}" for n in counts) + " |")
    print("|---|" + "---|" * len(counts))
    for name in args.sets or list(SETS):
        crowd = load(name)
        labels = list(crowd.labels)
        tally = [0] * len(labels)
        for truth in crowd.gold.values():
            tally[labels.index(truth)] += 1
        shares = [c / sum(tally) for c in tally]
        persons = people(crowd, crowd.items)
        cells = [oracle_accuracy(persons, labels, shares, n, args.draws, args.seed)
                 for n in counts]
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
