"""Benchmark every aggregation method on the public crowd datasets, beside crowd-kit.

    python bench/aggregate.py [--data DIR] [--label-order sorted|first-seen]

DIR defaults to ``../shared/data/crowd`` relative to the project root (resolved from this
file's location, so the script runs from any directory). Accuracy is measured on the items
that have gold; every answer row is a vote. The crowd-kit columns are the figures published
with the datasets (crowd-kit 1.4.2 on the same files, 2-core machine).

Majority vote and Wawa differ from crowd-kit only in how ties are broken: tapwork's
default is sorted label order, crowd-kit's (through pandas) is the order in which labels
first appear in the file. ``--label-order first-seen`` reproduces crowd-kit's figures.
gold-ds has no crowd-kit counterpart; its accuracy is 5-fold cross-validated over the gold
items (each item predicted by a model that did not see its gold answer).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bot.aggregation import (  # noqa: E402
    aggregate,
    aggregate_texts,
    encode,
    encode_gold,
    gold_holdout_predictions,
    read_answers,
    read_gold,
    resolve_method,
    rover,
    tokenize,
    word_error_rate,
)

T = TypeVar("T")

CATEGORICAL_SETS = (
    "d_sentiment", "s_relevance", "s_adult", "sp_rodrigues", "sp_amt", "weather_cf", "rte",
)

#: crowd-kit 1.4.2 accuracy on gold items (from the datasets' README).
CROWDKIT: dict[str, dict[str, float]] = {
    "d_sentiment": {"mv": 0.932, "wawa": 0.951, "one-coin-ds": 0.949, "ds": 0.960},
    "s_relevance": {"mv": 0.536, "wawa": 0.558, "one-coin-ds": 0.258, "ds": 0.617},
    "s_adult": {"mv": 0.763, "wawa": 0.766, "one-coin-ds": 0.709, "ds": 0.766},
    "sp_rodrigues": {"mv": 0.882, "wawa": 0.895, "one-coin-ds": 0.917, "ds": 0.915},
    "sp_amt": {"mv": 0.944, "wawa": 0.944, "one-coin-ds": 0.946, "ds": 0.944},
    "weather_cf": {"mv": 0.880, "wawa": 0.880, "one-coin-ds": 0.887, "ds": 0.830},
    "rte": {"mv": 0.875, "wawa": 0.919, "one-coin-ds": 0.925, "ds": 0.928},
}
#: crowd-kit's published timings: DS per set, ROVER on crowdspeech_dev_clean; its ROVER WER.
CROWDKIT_DS_SECONDS = "0.1-2.3"
CROWDKIT_ROVER = (0.067, 27.0)

METHODS = ("mv", "wawa", "one-coin-ds", "ds", "gold-ds", "auto")


def timed(fn: Callable[[], T], repeat: int = 3) -> tuple[T, float]:
    """Result of ``fn`` and its best wall time over ``repeat`` runs."""
    best = float("inf")
    result: T
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def bench_categorical(data: Path, name: str, label_order: str) -> list[tuple[str, ...]]:
    _, rows = read_answers(data / name / "answers.csv")
    gold = read_gold(data / name / "gold.csv")
    answered = {row[0] for row in rows}
    gold = {item: lab for item, lab in gold.items() if item in answered}
    order = list(dict.fromkeys(row[2] for row in rows)) if label_order == "first-seen" else None
    lines = []
    for method in METHODS:
        if method == "gold-ds":
            def fit() -> float:
                enc = encode(rows, order, extra_labels=list(gold.values()))
                codes = encode_gold(enc, gold)
                predicted = gold_holdout_predictions(enc, codes)
                known = codes >= 0
                return float(np.mean(predicted[known] == codes[known]))

            accuracy, seconds = timed(fit, repeat=1)
            shown = "gold-ds (5-fold)"
        else:
            result, seconds = timed(lambda m=method: aggregate(rows, m, label_order=order))
            accuracy = float(np.mean([result[item].label == lab for item, lab in gold.items()]))
            shown = method
            if method == "auto":
                shown = f"auto -> {resolve_method('auto', encode(rows, order), None)}"
        ref = CROWDKIT[name].get(method)
        lines.append((
            name,
            shown,
            f"{accuracy:.4f}",
            "-" if ref is None else f"{ref:.3f}",
            "-" if ref is None else f"{accuracy - ref:+.4f}",
            f"{seconds:.3f}",
        ))
    return lines


def bench_text(data: Path) -> list[tuple[str, ...]]:
    name = "crowdspeech_dev_clean"
    _, rows = read_answers(data / name / "answers.tsv")
    gold = {item: tokenize(text) for item, text in read_gold(data / name / "gold.tsv").items()}
    lines = []
    for method in ("rover", "medoid"):
        result, seconds = timed(lambda m=method: aggregate_texts(rows, m), repeat=1)
        wer = float(np.mean([
            word_error_rate(tokenize(result[item].label), ref)
            for item, ref in gold.items() if item in result
        ]))
        ref_wer, ref_s = CROWDKIT_ROVER if method == "rover" else (None, None)
        lines.append((
            name,
            f"{method} (WER)",
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
    wer = float(np.mean([word_error_rate(plain[item], ref) for item, ref in gold.items()]))
    lines.append((name, "rover, no fallback (WER)", f"{wer:.4f}", "-", "-", f"{seconds:.3f}"))
    return lines


def print_table(lines: list[tuple[str, ...]]) -> None:
    header = ("set", "method", "accuracy", "crowd-kit", "delta", "seconds")
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    def fmt(row: tuple[str, ...]) -> str:
        return " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
    print(fmt(header))
    print("-|-".join("-" * w for w in widths))
    for row in lines:
        print(fmt(row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "crowd")
    parser.add_argument("--label-order", choices=("sorted", "first-seen"), default="sorted",
                        help="tie-break order for mv/wawa (first-seen reproduces crowd-kit)")
    parser.add_argument("--skip-text", action="store_true", help="skip crowdspeech (ROVER)")
    args = parser.parse_args(argv)
    data: Path = args.data
    if not data.is_dir():
        print(f"bench/aggregate.py: no data directory {data}", file=sys.stderr)
        return 2
    lines: list[tuple[str, ...]] = []
    for name in CATEGORICAL_SETS:
        if (data / name / "answers.csv").exists():
            lines += bench_categorical(data, name, args.label_order)
    if not args.skip_text and (data / "crowdspeech_dev_clean" / "answers.tsv").exists():
        lines += bench_text(data)
    print_table(lines)
    print(
        f"\ncrowd-kit 1.4.2 DS took {CROWDKIT_DS_SECONDS} s per set; seconds here are the best "
        "of 3 runs (1 for gold-ds and text) from parsed rows, encoding included.\n"
        f"Tie-break order for mv/wawa: {args.label_order}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
