"""Replay public crowds through the real bot and score what its quality rules buy.

    python -m bench.replay [--set NAME ...] [--items N] [--seed S ...] [--quick] [--json]

Each set of ``../shared/data/crowd/`` becomes a project; every worker of the set becomes a
simulated phone that taps their own recorded answer when the bot serves them an item they
answered, and otherwise draws from their own confusion matrix (``bot/sim/replay.py``).
The bot runs as the tests run it (the Application over HTTP to the Bot API stand-in) with
the project's quality settings (overlap 3, max_overlap 5, confidence 0.9, gold_rate 0.1,
a 6-question quiz with practice), the same with a paid exam (``quiz.paid``), the same
without the quiz, and plain overlap 3 (no quiz, no gold). The labels
come from the operator's export and are scored on gold, beside offline baselines on the
same recorded answers: majority vote and Dawid-Skene on as many random answers per item
as the bot bought, and Dawid-Skene on every answer.

``--set crowdspeech_dev_clean`` replays transcriptions (``bot/sim/replay_text.py``): the
export is scored by word error rate against the gold texts, beside offline ROVER on the
same budget and on every answer, and the mean single transcription. It runs the quality
settings, gold checks without the quiz, and plain overlap 3.

s_adult has gold on 333 of its 11,040 items: its work is the gold items left after the
quiz and the checks and as many items without gold (``sparse_split``); only the gold ones
are scored.

With several ``--seed``, a summary follows: per set and setting, the mean and the range
over the seeds of the accuracy (or word error rate) and of the work answers per item.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bot.aggregation import aggregate
from bot.aggregation.io import read_answers, read_gold
from bot.aggregation.text import aggregate_texts
from bot.sim.recorded import Crowd, Split, sparse_split, split
from bot.sim.replay import CHECKS, PAID_EXAM, PLAIN, QUALITY, Outcome, Setting, replay
from bot.sim.replay_text import single_worker_wer, wer

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "crowd"
SETS = ("d_sentiment", "rte", "sp_amt", "s_adult")
#: transcription sets: replayed only when asked for
TEXT_SETS = ("crowdspeech_dev_clean",)
#: sets with gold on few items: items without gold are work too (``sparse_split``)
SPARSE = ("s_adult",)
#: quiz questions carved off the end of a set's gold items
QUIZ_POOL = 20
#: what a labelling set is replayed with: the quality settings, the same with a paid exam
#: (``quiz.paid``: the same decisions, a qualified worker's exam paid), gold checks
#: without the quiz, and plain overlap 3
LABEL_SETTINGS = (QUALITY, PAID_EXAM, CHECKS, PLAIN)


def load(name: str) -> Crowd:
    folder = DATA / name
    if (folder / "answers.tsv").exists():
        _, rows = read_answers(folder / "answers.tsv")
        return Crowd.of(rows, read_gold(folder / "gold.tsv"), text=True)
    _, rows = read_answers(folder / "answers.csv")
    return Crowd.of(rows, read_gold(folder / "gold.csv"))


def base_document(crowd: Crowd) -> dict[str, Any]:
    if crowd.text:
        return {"name": "replay", "kind": "transcription", "title": "Replay",
                "reward": "0.02", "currency": "USD", "language": "en"}
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
    rows: list[tuple[str, str, str]] = []
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


def texts(rows: list[tuple[str, str, str]], crowd: Crowd, work: tuple[str, ...]
          ) -> tuple[float, float]:
    """Offline ROVER's word error rate on ``rows``, apostrophes stripped and kept."""
    labels = {i: a.label for i, a in aggregate_texts(rows).items()}
    scored = [i for i in work if i in crowd.gold]
    return (wer(labels, crowd.gold, scored),
            wer(labels, crowd.gold, scored, keep_apostrophes=True))


def measure(name: str, items: int | None, seed: int) -> list[dict[str, Any]]:
    crowd = load(name)
    golden = sum(1 for i in crowd.items if i in crowd.gold)
    carve = split if name not in SPARSE else sparse_split
    parts = carve(crowd, quiz=QUIZ_POOL, checks=max(20, golden // 20), items=items)
    work_set = set(parts.work)
    everything = [r for r in crowd.rows if r[0] in work_set]
    if crowd.text:
        return measure_text(name, crowd, parts, everything, seed)
    ds_all = offline(everything, "ds", crowd, parts.work)
    results = []
    for setting in LABEL_SETTINGS:
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
        # practice and failed exams, and passed ones where the exam is not paid
        "unpaid_per_qualified": (round(o.unpaid_quiz_answers / o.qualified, 1)
                                 if o.qualified else None),
        "paid_quiz_answers": o.paid_quiz_answers,
        # how the quiz is sized against the work: the paid tasks (gold checks included)
        # each worker who got through did, on average
        "tasks_per_qualified": (round((o.work_answers + o.gold_answers) / o.qualified, 1)
                                if o.qualified else None),
        "mv_at_budget": round(mv, 4), "ds_at_budget": round(ds, 4), "ds_all": round(ds_all, 4),
        "seconds": round(took, 1),
    }


def measure_text(name: str, crowd: Crowd, parts: Split,
                 everything: list[tuple[str, str, str]], seed: int) -> list[dict[str, Any]]:
    work = parts.work
    scored = [i for i in work if i in crowd.gold]
    rover_all = texts(everything, crowd, work)
    single = single_worker_wer(everything, crowd.gold, scored)
    results = []
    for setting in (QUALITY, CHECKS, PLAIN):
        started = time.perf_counter()
        outcome = asyncio.run(replay(crowd, parts, setting, base_document(crowd),
                                     seed=seed))
        took = time.perf_counter() - started
        sample = budget_sample(crowd, work, outcome.work_answers, random.Random(seed))
        r = row(name, seed, setting, outcome, took, 0.0, 0.0, 0.0)
        for key in ("mv_at_budget", "ds_at_budget", "ds_all", "accuracy"):
            del r[key]
        budget = texts(sample, crowd, work)
        r.update(wer=round(outcome.wer or 0.0, 4), wer_kept=round(outcome.wer_kept or 0.0, 4),
                 within_tolerance=round(outcome.accuracy, 4),
                 rover_at_budget=round(budget[0], 4), rover_at_budget_kept=round(budget[1], 4),
                 rover_all=round(rover_all[0], 4), rover_all_kept=round(rover_all[1], 4),
                 single_worker=round(single, 4))
        results.append(r)
    return results


HEADER = ("set", "setting", "seed", "items", "accuracy", "work answers / item",
          "quiz + gold answers / item", "unpaid answers / qualified worker",
          "paid tasks / qualified worker", "MV, same budget", "DS, same budget",
          "DS, all answers", "recorded share", "run s")


TEXT_HEADER = ("set", "setting", "seed", "items labelled", "WER (apostrophes stripped / kept)",
               "within 0.1 of gold", "work answers / item", "quiz + gold answers / item",
               "unpaid answers / qualified worker", "paid tasks / qualified worker",
               "ROVER, same budget",
               "ROVER, all answers", "one transcription", "recorded share", "run s")


def table(rows: list[dict[str, Any]]) -> str:
    """One table per kind of set (labels, then transcriptions)."""
    labels = [r for r in rows if "wer" not in r]
    text = [r for r in rows if "wer" in r]
    return "\n\n".join(t for t in (label_table(labels) if labels else "",
                                     text_table(text) if text else "") if t)


def _unpaid(r: dict[str, Any]) -> str:
    unpaid = "-" if r["unpaid_per_qualified"] is None else f"{r['unpaid_per_qualified']:.1f}"
    return f"{unpaid} ({r['qualified']} of {r['workers']})"


def _tasks(r: dict[str, Any]) -> str:
    tasks = r.get("tasks_per_qualified")
    return "-" if tasks is None else f"{tasks:.1f}"


def text_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(TEXT_HEADER) + " |", "|" + "---|" * len(TEXT_HEADER)]
    for r in rows:
        cells = (r["set"], r["setting"], str(r["seed"]), f"{r['labelled']}/{r['items']}",
                 f"**{r['wer']:.3f}** / {r['wer_kept']:.3f}", f"{r['within_tolerance']:.2f}",
                 f"{r['work_per_item']:.2f}",
                 f"{r['quiz_per_item']:.2f} + {r['gold_per_item']:.2f}", _unpaid(r),
                 _tasks(r), f"{r['rover_at_budget']:.3f} / {r['rover_at_budget_kept']:.3f}",
                 f"{r['rover_all']:.3f} / {r['rover_all_kept']:.3f}",
                 f"{r['single_worker']:.3f}", f"{r['recorded_share']:.2f}",
                 f"{r['seconds']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def label_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        cells = (r["set"], r["setting"], str(r["seed"]), f"{r['labelled']}/{r['items']}",
                 f"**{r['accuracy']:.3f}**", f"{r['work_per_item']:.2f}",
                 f"{r['quiz_per_item']:.2f} + {r['gold_per_item']:.2f}", _unpaid(r),
                 _tasks(r), f"{r['mv_at_budget']:.3f}", f"{r['ds_at_budget']:.3f}",
                 f"{r['ds_all']:.3f}",
                 f"{r['recorded_share']:.2f}", f"{r['seconds']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per set and setting, over its seeds: mean, min and max of the score (accuracy, or
    word error rate with apostrophes stripped) and of the work answers per item."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["set"], r["setting"]].append(r)
    result = []
    for (name, setting), runs in groups.items():
        metric = "wer" if "wer" in runs[0] else "accuracy"
        entry: dict[str, Any] = {"set": name, "setting": setting,
                                 "seeds": [r["seed"] for r in runs], "metric": metric}
        for key in (metric, "work_per_item"):
            values = [r[key] for r in runs]
            entry[key] = {"mean": round(statistics.fmean(values), 4),
                          "min": min(values), "max": max(values)}
        result.append(entry)
    return result


def summary_table(entries: list[dict[str, Any]]) -> str:
    header = ("set", "setting", "seeds", "accuracy or WER: mean (min-max)",
              "work answers / item: mean (min-max)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for e in entries:
        m, w = e[e["metric"]], e["work_per_item"]
        name = "WER " if e["metric"] == "wer" else ""
        cells = (e["set"], e["setting"], ", ".join(map(str, e["seeds"])),
                 f"{name}**{m['mean']:.3f}** ({m['min']:.3f}-{m['max']:.3f})",
                 f"{w['mean']:.2f} ({w['min']:.2f}-{w['max']:.2f})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", choices=SETS + TEXT_SETS, dest="sets",
                        help="a set to replay (repeatable; default: the four labelling "
                             "sets)")
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
    seeds = args.seeds or [0]
    for name in sets:
        for seed in seeds:
            got = measure(name, items, seed)
            rows.extend(got)
            if not args.json:  # progress: the rows so far
                print("\n".join(table(got).splitlines()[2:]), file=sys.stderr)
    entries = summary(rows)
    if args.json:
        print(json.dumps({"rows": rows, "summary": entries}, indent=2))
        return 0
    print(table(rows))
    if len(seeds) > 1:
        print()
        print(summary_table(entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
