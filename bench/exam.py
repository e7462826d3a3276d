"""How many unpaid quiz answers each way of examining a crowd costs, and whom it lets in.

    python -m bench.exam [--set NAME ...] [--questions Q] [--pass P] [--runs N]
                         [--bound [--most M]]

Issue 13 asked for a qualification that costs fewer answers. This compares, on the
workers of the public crowds in ``../shared/data/crowd/``, the exam rules that were
considered, by simulation: each worker answers a quiz question right with their own
accuracy on the set's gold items (their confusion matrix smoothed towards the crowd's,
as a replay draws it: ``bot/sim/replay.py``), arriving as often as any other worker.
No learning is modelled, so a practice round only costs answers here; a real one also
teaches. Printed per set: unpaid quiz answers per worker who passes (every quiz answer,
the failed workers' included) and the share who pass; then, for all sets, the chance to
pass at a few accuracies (0.5 is a guesser on a yes/no task).

- ``practice first``: before issue 13's last round, a practice round (until two right in
  a row, at most 5) before every first exam, then the exam (``quiz_rules.exam_verdict``:
  the verdict the full exam would give, passed early once reaching the mark is 95 % sure
  under a uniform prior).
- ``practice after a miss``: the exam first; a missed first question, before any practice,
  becomes the first practice question and the exam starts afresh after the round (what
  the bot does now).
- ``first miss forgiven``: as above without the practice round: the missed first question
  is only not counted.
- ``SPRT a/b``: Wald's test between the pass level and a guesser (1/k right), error rates
  a (passing a guesser) and b (failing a worker at the pass level), after a practice round
  on a miss like the bot's; at the exam's last question, the pass mark decides.

``--bound`` adds, per set, the fewest answers per qualified worker that *any* exam could
cost without passing more weak workers or fewer good ones than the bot's, with a proof
when 6 (issue 13's target) is out of reach (``bench.exam_bound``).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Callable, Sequence

from bench import exam_bound
from bench.replay import DATA, SETS, load
from bot.domain.quiz_rules import PRACTICE_MOST, exam_verdict, practice_over
from bot.sim.recorded import people

#: an exam rule: the answers so far (right or wrong) -> passed, failed or not yet (None)
Rule = Callable[[Sequence[bool]], bool | None]
#: a way of examining: (accuracy, rng) -> (passed, quiz answers)
Design = Callable[[float, random.Random], tuple[bool, int]]
#: the accuracies the pass chances are printed at
PROBES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9)


def accuracies(name: str) -> list[float]:
    """Each worker's chance to answer a gold item right, as a replay draws it."""
    crowd = load(name)
    shares = {label: 0 for label in crowd.labels}
    for label in crowd.gold.values():
        shares[label] += 1
    total = sum(shares.values())
    result = []
    for person in people(crowd, crowd.items):
        right = 0.0
        for t, count in shares.items():
            row = person.confusion[t]
            right += count / total * row[crowd.labels.index(t)] / sum(row)
        result.append(right)
    return result


def beta_binomial(questions: int, needed: int) -> Rule:
    return lambda answers: exam_verdict(answers, questions, needed)


def by_counts(rule: Rule) -> Callable[[int, int], str]:
    """An exam rule as ``bench.exam_bound`` walks it: the decision after so many right and
    wrong answers (the bot's rules look only at the counts)."""
    def decide(right: int, wrong: int) -> str:
        verdict = rule([True] * right + [False] * wrong)
        return "ask" if verdict is None else "pass" if verdict else "fail"
    return decide


def sprt(pass_share: float, chance: float, alpha: float, beta: float, questions: int,
         needed: int) -> Rule:
    upper, lower = math.log((1 - beta) / alpha), math.log(beta / (1 - alpha))
    right = math.log(pass_share / chance)
    wrong = math.log((1 - pass_share) / (1 - chance))

    def rule(answers: Sequence[bool]) -> bool | None:
        llr = sum(right if a else wrong for a in answers)
        if llr >= upper:
            return True
        if llr <= lower:
            return False
        return sum(answers) >= needed if len(answers) >= questions else None
    return rule


def exam(rule: Rule, p: float, rng: random.Random) -> tuple[bool, list[bool]]:
    answers: list[bool] = []
    while (verdict := rule(answers)) is None:
        answers.append(rng.random() < p)
    return verdict, answers


def practice(p: float, rng: random.Random, first: Sequence[bool] = ()) -> int:
    answers = list(first)
    while not practice_over(answers, PRACTICE_MOST):
        answers.append(rng.random() < p)
    return len(answers)


def practice_first(rule: Rule) -> Design:
    def design(p: float, rng: random.Random) -> tuple[bool, int]:
        asked = practice(p, rng)
        passed, answers = exam(rule, p, rng)
        return passed, asked + len(answers)
    return design


def after_a_miss(rule: Rule, round_of_practice: bool = True) -> Design:
    def design(p: float, rng: random.Random) -> tuple[bool, int]:
        passed, answers = exam(rule, p, rng)
        if answers[0]:
            return passed, len(answers)
        asked = practice(p, rng, [False]) if round_of_practice else 1
        passed, answers = exam(rule, p, rng)
        return passed, asked + len(answers)
    return design


def designs(questions: int, pass_share: float, labels: int) -> dict[str, Design]:
    needed = math.ceil(pass_share * questions - 1e-9)
    bb = beta_binomial(questions, needed)
    found: dict[str, Design] = {
        "practice first": practice_first(bb),
        "practice after a miss (now)": after_a_miss(bb),
        "first miss forgiven": after_a_miss(bb, round_of_practice=False),
    }
    for alpha, beta, length in ((0.1, 0.1, questions), (0.1, 0.1, questions + 4),
                                (0.2, 0.2, questions + 2)):
        found[f"SPRT {alpha}/{beta}, at most {length}"] = after_a_miss(
            sprt(pass_share, 1 / labels, alpha, beta, length,
                 math.ceil(pass_share * length - 1e-9)))
    return found


def run(design: Design, crowd: Sequence[float], runs: int, seed: int = 1
        ) -> tuple[float, float]:
    """(quiz answers per worker who passed, share who passed) over ``runs`` arrivals."""
    rng = random.Random(seed)
    asked = passed = 0
    for _ in range(runs):
        ok, n = design(rng.choice(crowd), rng)
        asked += n
        passed += ok
    return asked / max(passed, 1), passed / runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exam", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", dest="sets", choices=SETS)
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--pass", type=float, default=0.8, dest="pass_share")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--bound", action="store_true",
                        help="also prove how few answers any exam could cost (slow)")
    parser.add_argument("--most", type=int, default=20,
                        help="the longest exam the bound considers")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"bench.exam: no crowd data at {DATA}", file=sys.stderr)
        return 2
    sets = args.sets or ["d_sentiment", "rte", "sp_amt"]
    crowds = {name: accuracies(name) for name in sets}
    labels = {name: len(load(name).labels) for name in sets}
    names = list(designs(args.questions, args.pass_share, 2))
    print(f"exam of at most {args.questions} questions at pass {args.pass_share}; "
          f"{args.runs} arrivals per set; unpaid answers per qualified worker (share "
          f"passed)")
    print("| design | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    for name in names:
        cells = []
        for s in sets:
            design = designs(args.questions, args.pass_share, labels[s])[name]
            per, share = run(design, crowds[s], args.runs)
            cells.append(f"{per:.2f} ({share:.2f})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    print("chance to pass at an accuracy of " + ", ".join(map(str, PROBES))
          + " (two labels)")
    for name, design in designs(args.questions, args.pass_share, 2).items():
        chances = [run(design, [p], args.runs // 4)[1] for p in PROBES]
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in chances) + " |")
    if args.bound:
        print()
        print_bound(crowds, args.questions, args.pass_share, args.most)
    return 0


def print_bound(crowds: dict[str, list[float]], questions: int, pass_share: float,
                most: int) -> None:
    """The bot's exam (without its practice round) beside the fewest answers per qualified
    worker that any exam of at most ``most`` questions could cost while passing no larger
    share of weak workers and no smaller share of good ones (``bench.exam_bound``)."""
    bot = by_counts(beta_binomial(questions, math.ceil(pass_share * questions - 1e-9)))
    weak, good = round(pass_share - 0.1, 2), pass_share
    print(f"the bot's exam without practice against every exam of at most {most} "
          f"questions that passes no larger share of weak workers (right under {weak}) "
          f"and no smaller share of good ones (at least {good}); the crowd's accuracies "
          f"known exactly")
    print("| set | weak, good workers in the crowd | the bot's exam: answers per qualified "
          "worker (weak share of passed, good passed) | no exam can cost fewer than | "
          "6 proven out of reach |")
    print("|---|---|---|---|---|")
    for name, accuracy in crowds.items():
        crowd = exam_bound.Crowd.of(accuracy, weak, good)
        own = exam_bound.worth(crowd, bot)
        gamma = own.good / crowd.good_share
        floor = exam_bound.cheapest(crowd, own.weak_share, gamma, most,
                                    upper=own.per_qualified)
        six = exam_bound.certificate(crowd, 6.0, own.weak_share, gamma, most) is not None
        print(f"| {name} | {float(crowd.is_weak.mean()):.2f}, {crowd.good_share:.2f} | "
              f"{own.per_qualified:.2f} ({own.weak_share:.3f}, {gamma:.3f}) | "
              f"{floor:.2f} | {'yes' if six else 'no'} |")


if __name__ == "__main__":
    sys.exit(main())
