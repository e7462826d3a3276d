"""Replay public crowds through the real bot and score what its quality rules buy.

    python -m bench.replay [--set NAME ...] [--items N] [--seed S ...] [--quick] [--json]

Each set of ``../shared/data/crowd/`` becomes a project; every worker of the set becomes a
simulated phone that taps their own recorded answer when the bot serves them an item they
answered, and otherwise draws from their own confusion matrix (``bot/sim/replay.py``).
The bot runs as the tests run it (the Application over HTTP to the Bot API stand-in) with
the project's quality settings (overlap 3, max_overlap 5, confidence 0.9, gold_rate 0.1,
a 6-question quiz with practice) and with plain overlap 3 (no quiz, no gold). The labels
come from the operator's export and are scored on gold, beside offline baselines on the
same recorded answers: majority vote and Dawid-Skene on as many random answers per item
as the bot bought, and Dawid-Skene on every answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bot.aggregation import aggregate
from bot.aggregation.io import read_answers, read_gold
from bot.sim.replay import PLAIN, QUALITY, Crowd, Outcome, Setting, replay, split

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "crowd"
SETS = ("d_sentiment", "rte", "sp_amt", "s_adult")
#: quiz questions carved off the end of a set's gold items
QUIZ_POOL = 20


def load(name: str) -> Crowd:
    folder = DATA / name
    _, rows = read_answers(folder / "answers.csv")
    return Crowd.of(rows, read_gold(folder / "gold.csv"))


def base_document(crowd: Crowd) -> dict[str, Any]:
    return {"name": "replay", "kind": "classification", "title": "Replay",
            "labels": list(crowd.labels), "reward": "0.02", "currency": "USD",
            "language": "en"}


def budget_sample(crowd: Crowd, work: tuple[str, ...], answers: int,
                  rng: random.Random) -> list[tuple[str, str, str]]:
    """``answers`` recorded answers spread as evenly as can be over ``work``, each item's
    drawn at random from its distinct workers' first answers."""
    per_item: dict[str, dict[str, str]] = defaultdict(dict)
    for item, worker, label in crowd.rows:
        per_item[item].setdefault(worker, label)
    base, extra = divmod(answers, len(work))
    lucky = set(rng.sample(list(work), extra))
    rows = []
    for item in work:
        voters = sorted(per_item[item].items())
        take = min(len(voters), base + (item in lucky))
        rows.extend((item, w, lab) for w, lab in rng.sample(voters, take))
    return rows


def accuracy(labels: dict[str, str], crowd: Crowd, work: tuple[str, ...]) -> float:
    scored = [i for i in work if i in crowd.gold]
    return sum(labels.get(i) == crowd.gold[i] for i in scored) / len(scored)


def offline(rows: list[tuple[str, str, str]], method: str, crowd: Crowd,
            work: tuple[str, ...]) -> float:
    result = aggregate(rows, method, label_order=crowd.labels)
    return accuracy({i: a.label for i, a in result.items()}, crowd, work)


def measure(name: str, items: int | None, seed: int) -> list[dict[str, Any]]:
    crowd = load(name)
    golden = sum(1 for i in crowd.items if i in crowd.gold)
    parts = split(crowd, quiz=QUIZ_POOL, checks=max(20, golden // 20), items=items)
    work_set = set(parts.work)
    everything = [r for r in crowd.rows if r[0] in work_set]
    ds_all = offline(everything, "ds", crowd, parts.work)
    results = []
    for setting in (QUALITY, PLAIN):
        started = time.perf_counter()
        outcome = asyncio.run(replay(crowd, parts, setting, base_document(crowd), seed=seed))
        took = time.perf_counter() - started
        sample = budget_sample(crowd, parts.work, outcome.work_answers, random.Random(seed))
        results.append(row(name, seed, setting, outcome, took,
                           offline(sample, "mv", crowd, parts.work),
                           offline(sample, "ds", crowd, parts.work), ds_all))
    return results


def row(name: str, seed: int, setting: Setting, o: Outcome, took: float, mv: float,
        ds: float, ds_all: float) -> dict[str, Any]:
    return {
        "set": name, "setting": setting.name, "seed": seed, "items": o.work_items,
        "labelled": o.labelled, "accuracy": round(o.accuracy, 4),
        "work_per_item": round(o.work_answers / o.work_items, 2),
        "quiz_per_item": round(o.quiz_answers / o.work_items, 2),
        "gold_per_item": round(o.gold_answers / o.work_items, 2),
        "recorded_share": round(o.recorded / max(1, o.work_answers + o.gold_answers), 2),
        "workers": o.workers, "qualified": o.qualified,
        "unpaid_per_qualified": round(o.quiz_answers / o.qualified, 1) if o.qualified else None,
        "mv_at_budget": round(mv, 4), "ds_at_budget": round(ds, 4), "ds_all": round(ds_all, 4),
        "seconds": round(took, 1),
    }


HEADER = ("set", "setting", "seed", "items", "accuracy", "work answers / item",
          "quiz + gold answers / item", "unpaid answers / qualified worker",
          "MV, same budget", "DS, same budget", "DS, all answers", "recorded share", "run s")


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        unpaid = "-" if r["unpaid_per_qualified"] is None else f"{r['unpaid_per_qualified']:.1f}"
        cells = (r["set"], r["setting"], str(r["seed"]), f"{r['labelled']}/{r['items']}",
                 f"**{r['accuracy']:.3f}**", f"{r['work_per_item']:.2f}",
                 f"{r['quiz_per_item']:.2f} + {r['gold_per_item']:.2f}",
                 f"{unpaid} ({r['qualified']} of {r['workers']})",
                 f"{r['mv_at_budget']:.3f}", f"{r['ds_at_budget']:.3f}", f"{r['ds_all']:.3f}",
                 f"{r['recorded_share']:.2f}", f"{r['seconds']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", choices=SETS, dest="sets",
                        help="a set to replay (repeatable; default: all four)")
    parser.add_argument("--items", type=int, help="only the first N work items of each set")
    parser.add_argument("--seed", action="append", type=int, dest="seeds",
                        help="worker order, draws and gold checks (repeatable; default 0)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 60 items of d_sentiment")
    parser.add_argument("--json", action="store_true", help="print JSON, not the table")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"bench.replay: no crowd data at {DATA}", file=sys.stderr)
        return 2
    sets = args.sets or (["d_sentiment"] if args.quick else list(SETS))
    items = args.items if args.items is not None else (60 if args.quick else None)
    rows = []
    for name in sets:
        for seed in args.seeds or [0]:
            rows.extend(measure(name, items, seed))
            if not args.json:
                print(table(rows[-2:]).splitlines()[-2], file=sys.stderr)
                print(table(rows[-2:]).splitlines()[-1], file=sys.stderr)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
