"""``tapwork aggregate``: turn a file of crowd answers into one label per item.

    tapwork aggregate ANSWERS [--method mv|wawa|ds|one-coin-ds|gold-ds|ibcc|ibcc-mix|rover|auto]
                              [--gold GOLD] [-o OUT]

Writes ``item,label,confidence`` CSV (to stdout unless ``-o``). With ``--gold`` the last
line on stdout is the score on the gold items: ``accuracy 0.9510 on 1000 gold items`` for
labels, ``wer 0.0650 on 2703 gold items`` (mean word error rate) for transcriptions.

Text or labels? Transcriptions are aggregated (ROVER) when the method is ``rover``, or
when it is ``auto`` and the answers are a TSV file (the transcription layout); an explicit
categorical method on a TSV file aggregates its third column as labels.

gold-ds, ibcc and ibcc-mix (so also ``auto``) are given the gold answers, so they reproduce
them on the gold items; the accuracy they report is therefore measured by 5-fold
cross-validation over the gold items (each predicted by a model that did not see its gold
answer), while the written labels use all the gold.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from .categorical import Aggregate, encode, encode_gold
from .io import read_answers, read_gold, write_aggregates
from .models import CATEGORICAL_METHODS, MODELS, aggregate, gold_holdout_predictions
from .text import aggregate_texts, tokenize, word_error_rate

__all__ = ["METHODS", "add_parser", "run"]

METHODS: tuple[str, ...] = ("auto", *CATEGORICAL_METHODS, "rover")


class _BadInput(Exception):
    """Input the operator must fix; the message is printed as one line."""


def _text_mode(method: str, layout: str) -> bool:
    return method == "rover" or (method == "auto" and layout == "tsv")


def _categorical(
    rows: list[tuple[str, str, str]], method: str, gold: dict[str, str] | None
) -> tuple[dict[str, Aggregate], str | None]:
    """Aggregated labels and, with gold, the score line."""
    usable = None
    if gold is not None:
        answered = {row[0] for row in rows}
        usable = {item: lab for item, lab in gold.items() if item in answered}
        if not usable:
            raise _BadInput("no item of the gold file appears in the answers")
    if method == "gold-ds" and usable is None:
        raise _BadInput("method gold-ds needs --gold")
    results = aggregate(rows, method, gold=usable)
    if usable is None:
        return results, None
    chosen = next(iter(results.values())).method if results else method
    if MODELS[chosen].uses_gold:
        enc = encode(rows, extra_labels=list(usable.values()))
        codes = encode_gold(enc, usable)
        predicted = gold_holdout_predictions(enc, codes, method=chosen)
        known = codes >= 0
        correct = int(np.sum(predicted[known] == codes[known]))
    else:
        correct = sum(results[item].label == lab for item, lab in usable.items())
    return results, f"accuracy {correct / len(usable):.4f} on {len(usable)} gold items"


def _texts(
    rows: list[tuple[str, str, str]], gold: dict[str, str] | None
) -> tuple[dict[str, Aggregate], str | None]:
    results = aggregate_texts(rows)
    if gold is None:
        return results, None
    scored = [
        word_error_rate(tokenize(results[item].label), tokenize(ref))
        for item, ref in gold.items()
        if item in results
    ]
    if not scored:
        raise _BadInput("no item of the gold file appears in the answers")
    return results, f"wer {sum(scored) / len(scored):.4f} on {len(scored)} gold items"


def run(
    answers: str, method: str = "auto", gold: str | None = None, output: str | None = None
) -> int:
    """Aggregate ``answers`` with ``method``; write CSV to ``output`` (stdout if None).

    Returns the exit status: 0 on success, 2 on bad input (one line on stderr).
    """
    try:
        if method not in METHODS:
            raise _BadInput(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        layout, rows = read_answers(answers)
        if not rows:
            raise _BadInput(f"{answers}: no answers")
        gold_map = read_gold(gold) if gold is not None else None
        if _text_mode(method, layout):
            results, score = _texts(rows, gold_map)
        else:
            results, score = _categorical(rows, method, gold_map)
        if output is None:
            write_aggregates(results, sys.stdout)
        else:
            write_aggregates(results, output)
    except (_BadInput, ValueError) as exc:
        print(f"tapwork aggregate: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = exc.filename or answers
        print(f"tapwork aggregate: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if score is not None:
        print(score)
    sys.stdout.flush()
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``aggregate`` on an ``argparse`` sub-parsers object; sets ``func``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "aggregate",
        help="aggregate crowd answers into one label per item",
        description=(
            "Aggregate crowd answers (item,worker,label CSV or item<TAB>worker<TAB>text TSV) "
            "into item,label,confidence CSV. With --gold, the last line on stdout is the "
            "accuracy (or word error rate, for transcriptions) on the gold items."
        ),
    )
    parser.add_argument("answers", metavar="ANSWERS", help="answers file (.csv or .tsv)")
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help=(
            "auto: ibcc-mix, Bayesian Dawid-Skene, learning from --gold when given "
            "(rover for a .tsv file)"
        ),
    )
    parser.add_argument("--gold", metavar="GOLD", help="known answers: item,label / item<TAB>text")
    parser.add_argument("-o", "--output", metavar="OUT", help="write the CSV here, not stdout")
    parser.set_defaults(func=lambda args: run(args.answers, args.method, args.gold, args.output))
    return parser
