"""Benchmark every aggregation method on the public crowd datasets, beside crowd-kit.

    python -m bench.aggregate [--data DIR] [--label-order sorted|first-seen] [--skip-text]
                              [--seeds N]

DIR defaults to ``../shared/data/crowd`` relative to the project root (resolved from this
file's location, so the script runs from any directory). Accuracy is measured on the items
that have gold; every answer row is a vote. The crowd-kit columns are the figures published
with the datasets (crowd-kit 1.4.2 on the same files, 2-core machine), rounded to three
decimals: an accuracy that rounds to the published figure is a tie, not a win.

Majority vote and Wawa differ from crowd-kit only in how ties are broken: tapwork's
default is sorted label order, crowd-kit's (through pandas) is the order in which labels
first appear in the file. ``--label-order first-seen`` reproduces crowd-kit's figures.

Methods that learn from gold (gold-ds, ibcc and ibcc-mix with gold) are given 10 % of the
gold items,
drawn with seeds 0..N-1, and scored on the other 90 %; the table shows the mean over the
seeds (and the spread). Scoring them by cross-validation over all gold items would train
them on 80 % of the truth, which no project has.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from bot.aggregation import (
    EncodedAnswers,
    aggregate,
    aggregate_texts,
    encode,
    encode_gold,
    make_model,
    read_answers,
    read_gold,
    resolve_method,
    rover,
    tokenize,
    word_error_rate,
)

ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")

CATEGORICAL_SETS = (
    "d_sentiment", "s_relevance", "s_adult", "sp_rodrigues", "sp_amt", "weather_cf", "rte",
)

#: crowd-kit 1.4.2 accuracy on gold items (from the datasets' README).
CROWDKIT: dict[str, dict[str, float]] = {
    "d_sentiment": {"mv": 0.932, "wawa": 0.951, "one-coin-ds": 0.949, "ds": 0.960, "glad": 0.948},
    "s_relevance": {"mv": 0.536, "wawa": 0.558, "one-coin-ds": 0.258, "ds": 0.617, "glad": 0.565},
    "s_adult": {"mv": 0.763, "wawa": 0.766, "one-coin-ds": 0.709, "ds": 0.766, "glad": 0.760},
    "sp_rodrigues": {"mv": 0.882, "wawa": 0.895, "one-coin-ds": 0.917, "ds": 0.915,
                     "glad": 0.917},
    "sp_amt": {"mv": 0.944, "wawa": 0.944, "one-coin-ds": 0.946, "ds": 0.944, "glad": 0.946},
    "weather_cf": {"mv": 0.880, "wawa": 0.880, "one-coin-ds": 0.887, "ds": 0.830, "glad": 0.880},
    "rte": {"mv": 0.875, "wawa": 0.919, "one-coin-ds": 0.925, "ds": 0.928, "glad": 0.925},
}

#: Figures published with the reference code of Li, Rubinstein & Cohn (IBCC and BWA:
#: WWW 2019 "Truth inference at scale"; EBCC: ICML 2019 "Exploiting worker correlation
#: for label aggregation in crowdsourcing"), github.com/yuan-li/truth-inference-at-scale,
#: notebooks code/test_{ibcc,bwa,ebcc}.ipynb. Their copies of the same sets, duplicate
#: rows dropped; EBCC keeps the best of 40 random starts by its bound. s_relevance: none.
PUBLISHED: dict[str, dict[str, float]] = {
    "d_sentiment": {"IBCC": 0.960, "BWA": 0.956, "EBCC": 0.961},
    "s_adult": {"IBCC": 0.744745, "BWA": 0.741742, "EBCC": 0.747748},
    "sp_rodrigues": {"IBCC": 0.914983, "BWA": 0.916983, "EBCC": 0.915183},
    "sp_amt": {"IBCC": 0.944, "BWA": 0.946, "EBCC": 0.944},
    "weather_cf": {"IBCC": 0.883333, "BWA": 0.893333, "EBCC": 0.883333},
    "rte": {"IBCC": 0.9275, "BWA": 0.9275, "EBCC": 0.93125},
}

#: crowd-kit's published timings: DS per set, ROVER on crowdspeech_dev_clean; its ROVER WER.
CROWDKIT_DS_SECONDS = "0.1-2.3"
CROWDKIT_ROVER = (0.067, 27.0)

METHODS = ("mv", "wawa", "one-coin-ds", "ds", "ibcc", "ibcc-mix", "auto")
GOLD_METHODS = ("gold-ds", "ibcc", "ibcc-mix")
GOLD_SHARE = 0.1


def timed(fn: Callable[[], T], repeat: int = 3) -> tuple[T, float]:
    """Result of ``fn`` and its best wall time over ``repeat`` runs."""
    best = float("inf")
    result: T
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def visible_gold(codes: NDArray[np.intp], share: float, seed: int) -> NDArray[np.intp]:
    """``codes`` with all but a random ``share`` of the gold items hidden (-1)."""
    known = np.flatnonzero(codes >= 0)
    rng = np.random.default_rng(seed)
    shown = rng.choice(known, size=max(1, round(share * known.size)), replace=False)
    out = np.full_like(codes, -1)
    out[shown] = codes[shown]
    return out


def gold_share_accuracy(
    enc: EncodedAnswers, codes: NDArray[np.intp], method: str, seeds: int,
    share: float = GOLD_SHARE,
) -> list[float]:
    """Accuracy on the hidden gold items, one figure per seed, given ``share`` of the gold."""
    scores = []
    for seed in range(seeds):
        shown = visible_gold(codes, share, seed)
        predicted = make_model(method).fit_predict(enc, shown)
        hidden = (codes >= 0) & (shown < 0)
        scores.append(float(np.mean(predicted[hidden] == codes[hidden])))
    return scores


def verdict(accuracy: float, reference: float) -> str:
    """Compare with a figure published to three decimals: equal after rounding is a tie.

    Rounds half up (742/800 = 0.9275 is 0.928, as crowd-kit's published DS on rte), not
    by the float's binary value (``round(0.9275, 3)`` is 0.927).
    """
    mine = math.floor(accuracy * 1000 + 0.5 + 1e-9) / 1000
    if abs(mine - reference) < 1e-9:
        return "tie"
    return "above" if mine > reference else "below"


def bench_categorical(
    data: Path, name: str, label_order: str, seeds: int
) -> tuple[list[tuple[str, ...]], float]:
    """Table rows for one set, and ``auto``'s accuracy without gold."""
    _, rows = read_answers(data / name / "answers.csv")
    gold = read_gold(data / name / "gold.csv")
    answered = {row[0] for row in rows}
    gold = {item: lab for item, lab in gold.items() if item in answered}
    order = list(dict.fromkeys(row[2] for row in rows)) if label_order == "first-seen" else None
    lines = []
    auto_accuracy = float("nan")
    for method in METHODS:
        result, seconds = timed(lambda m=method: aggregate(rows, m, label_order=order))
        accuracy = float(np.mean([result[item].label == lab for item, lab in gold.items()]))
        shown = method
        if method == "auto":
            shown = f"auto -> {resolve_method('auto', encode(rows, order), None)}"
        if method == "auto":
            auto_accuracy = accuracy
        ref = CROWDKIT[name].get(method)
        lines.append((
            name, shown, f"{accuracy:.4f}",
            "-" if ref is None else f"{ref:.3f}",
            "-" if ref is None else f"{accuracy - ref:+.4f}",
            f"{seconds:.3f}",
        ))
    enc = encode(rows, order, extra_labels=list(gold.values()))
    codes = encode_gold(enc, gold)
    for method in GOLD_METHODS:
        scores, seconds = timed(lambda m=method: gold_share_accuracy(enc, codes, m, seeds),
                                repeat=1)
        lines.append((
            name, f"{method}, 10 % gold",
            f"{np.mean(scores):.4f}",
            "-", f"{min(scores):.4f}-{max(scores):.4f}",
            f"{seconds / seeds:.3f}",
        ))
    return lines, auto_accuracy


def summary(results: dict[str, float]) -> list[tuple[str, ...]]:
    """Per set: ``auto`` without gold against crowd-kit's DS floor and its best method."""
    lines = []
    for name, accuracy in results.items():
        ck = CROWDKIT[name]
        best = max(ck.values())
        best_names = "/".join(m for m, v in ck.items() if v == best)
        floor = ck["ds"] - 0.005
        published = PUBLISHED.get(name, {})
        lines.append((
            name, f"{accuracy:.4f}",
            f"{ck['ds']:.3f}", "yes" if accuracy >= floor - 1e-12 else "NO",
            f"{best:.3f} ({best_names})", verdict(accuracy, best),
            " ".join(f"{k} {v:.4f}" for k, v in published.items()) or "-",
        ))
    return lines


def bench_text(data: Path) -> list[tuple[str, ...]]:
    name = "crowdspeech_dev_clean"
    _, rows = read_answers(data / name / "answers.tsv")
    refs = read_gold(data / name / "gold.tsv")
    lines = []
    for method in ("rover", "medoid"):
        result, seconds = timed(lambda m=method: aggregate_texts(rows, m), repeat=1)
        wers = []
        for keep in (False, True):
            wers.append(float(np.mean([
                word_error_rate(result[item].label, ref, keep_apostrophes=keep)
                for item, ref in refs.items() if item in result
            ])))
        ref_wer, ref_s = CROWDKIT_ROVER if method == "rover" else (None, None)
        for keep, wer in zip(("stripped", "kept"), wers, strict=True):
            lines.append((
                name,
                f"{method} (WER, apostrophes {keep})",
                f"{wer:.4f}",
                "-" if ref_wer is None else f"{ref_wer:.3f}",
                "-" if ref_wer is None else f"{wer - ref_wer:+.4f}",
                f"{seconds:.3f}" + ("" if ref_s is None else f" (crowd-kit ~{ref_s:.0f})"),
            ))
    # ROVER alone, without the medoid fallback, for reference.
    grouped: dict[str, list[list[str]]] = {}
    for item, _worker, text in rows:
        grouped.setdefault(item, []).append(tokenize(text))
    start = time.perf_counter()
    plain = {item: rover(hyps, medoid_fallback=False)[0] for item, hyps in grouped.items()}
    seconds = time.perf_counter() - start
    wer = float(np.mean([word_error_rate(plain[item], tokenize(ref))
                         for item, ref in refs.items()]))
    lines.append((name, "rover, no fallback (WER, stripped)", f"{wer:.4f}", "-", "-",
                  f"{seconds:.3f}"))
    return lines


def print_table(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        return " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()

    print(fmt(header))
    print("-|-".join("-" * w for w in widths))
    for row in lines:
        print(fmt(row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "crowd")
    parser.add_argument("--label-order", choices=("sorted", "first-seen"), default="sorted",
                        help="tie-break order for mv/wawa (first-seen reproduces crowd-kit)")
    parser.add_argument("--skip-text", action="store_true", help="skip crowdspeech (ROVER)")
    parser.add_argument("--seeds", type=int, default=5,
                        help="gold draws for the methods that learn from gold (default 5)")
    args = parser.parse_args(argv)
    data: Path = args.data
    if not data.is_dir():
        print(f"bench/aggregate.py: no data directory {data}", file=sys.stderr)
        return 2
    if args.seeds < 1:
        print("bench/aggregate.py: --seeds must be at least 1", file=sys.stderr)
        return 2
    lines: list[tuple[str, ...]] = []
    auto_results: dict[str, float] = {}
    for name in CATEGORICAL_SETS:
        if (data / name / "answers.csv").exists():
            rows, auto_results[name] = bench_categorical(data, name, args.label_order, args.seeds)
            lines += rows
    if not args.skip_text and (data / "crowdspeech_dev_clean" / "answers.tsv").exists():
        lines += bench_text(data)
    print_table(("set", "method", "accuracy", "crowd-kit", "delta (range)", "seconds"), lines)
    print(
        f"\ncrowd-kit 1.4.2 DS took {CROWDKIT_DS_SECONDS} s per set; seconds here are the best "
        "of 3 runs (1 for text, per seed for the gold rows) from parsed rows, encoding "
        f"included.\nTie-break order for mv/wawa: {args.label_order}. Gold rows: "
        f"{GOLD_SHARE:.0%} of the gold items given, scored on the rest, mean over "
        f"{args.seeds} seeds (range in the delta column).\n"
    )
    if auto_results:
        auto = resolve_method("auto", None, None)
        print(f"auto ({auto}) without gold against crowd-kit (floor: crowd-kit's DS - 0.005):")
        print_table(("set", auto, "crowd-kit DS", "above floor", "crowd-kit best", "vs best",
                     "published (Li et al.)"), summary(auto_results))
        verdicts = [verdict(acc, max(CROWDKIT[n].values())) for n, acc in auto_results.items()]
        floors = sum(acc >= CROWDKIT[n]["ds"] - 0.005 - 1e-12 for n, acc in auto_results.items())
        print(
            f"\nabove the floor on {floors} of {len(auto_results)}; at least crowd-kit's best "
            f"on {sum(v != 'below' for v in verdicts)} of {len(verdicts)} "
            f"({verdicts.count('above')} above, {verdicts.count('tie')} tied)."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
