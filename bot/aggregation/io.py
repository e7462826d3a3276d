"""Reading crowd answers and gold answers from files, writing aggregated labels.

Two layouts are understood, the ones public crowd datasets use:

* categorical CSV: a header naming ``item``, ``worker`` and ``label`` columns (crowd-kit's
  ``task`` and ``performer``, and ``text`` for the answer, are accepted too); other columns
  are ignored. Gold: ``item,label``.
* transcription TSV: ``item<TAB>worker<TAB>text``, with or without a header line. Gold:
  ``item<TAB>text``. Fields may be quoted CSV-style (CrowdSpeech quotes answers that
  contain line breaks), so a record can span several physical lines.

A malformed record raises ``ValueError`` naming the file and the line it starts on, so an
operator can open the file at that line.

A CSV field that tapwork's writers quoted for spreadsheets (``'=…``, ``'-…``: see
``bot.domain.csvsafe``) is read without the quote, so an export aggregates to what was answered;
written aggregates are quoted the same way.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal, TextIO

from bot.domain import csvsafe

from .categorical import Aggregate

__all__ = [
    "Layout",
    "detect_layout",
    "read_answers",
    "read_gold",
    "write_aggregates",
]

Layout = Literal["csv", "tsv"]

_ITEM = ("item", "task")
_WORKER = ("worker", "performer", "annotator", "user")
_ANSWER = ("label", "text", "answer", "output")
_GOLD_ANSWER = ("label", "text", "true_label", "gold", "answer", "output")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long transcriptions are legitimate


def detect_layout(path: str | Path) -> Layout:
    """``tsv`` for a ``.tsv`` name, ``csv`` for ``.csv``; otherwise by the first line.

    A first line containing a tab means TSV. Raises ``OSError`` if the file is unreadable.
    """
    suffix = Path(path).suffix.lower()
    if suffix in (".tsv", ".tab"):
        return "tsv"
    if suffix == ".csv":
        return "csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
    return "tsv" if "\t" in first else "csv"


def _records(path: str | Path, layout: Layout) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the line number each starts on."""
    delimiter = "\t" if layout == "tsv" else ","
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, strict=True)
            start = 1
            try:
                for record in reader:
                    if any(field.strip() for field in record):
                        # what tapwork's CSV writers quoted for spreadsheets, unquoted
                        yield start, ([csvsafe.unprotect(f) for f in record]
                                      if layout == "csv" else record)
                    start = reader.line_num + 1
            except csv.Error as exc:
                raise ValueError(f"{path}:{start}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _is_header(record: list[str], names: tuple[tuple[str, ...], ...]) -> bool:
    return len(record) == len(names) and all(
        field.strip().lower() in options for field, options in zip(record, names, strict=True)
    )


def _read(
    path: str | Path, wanted: tuple[tuple[str, ...], ...], what: str
) -> tuple[Layout, list[tuple[int, tuple[str, ...]]]]:
    """Records as tuples of the ``wanted`` columns, with their line numbers."""
    layout = detect_layout(path)
    records = _records(path, layout)
    rows: list[tuple[int, tuple[str, ...]]] = []
    width = len(wanted)
    if layout == "csv":
        first = next(records, None)
        if first is None:
            return layout, rows
        line, header = first
        columns = [_column(header, names) for names in wanted]
        missing = [names[0] for names, col in zip(wanted, columns, strict=True) if col is None]
        if missing:
            raise ValueError(
                f"{path}:{line}: the header must name the columns "
                f"{', '.join(n[0] for n in wanted)} (missing {', '.join(missing)})"
            )
        cols = [c for c in columns if c is not None]
        need = max(cols) + 1
        for line, record in records:
            if len(record) < need:
                raise ValueError(
                    f"{path}:{line}: expected {len(header)} comma-separated fields "
                    f"({what}), found {len(record)}"
                )
            rows.append((line, tuple(record[c] for c in cols)))
    else:
        for n, (line, record) in enumerate(records):
            if n == 0 and _is_header(record, wanted):
                continue
            if len(record) != width:
                raise ValueError(
                    f"{path}:{line}: expected {width} tab-separated fields ({what}), "
                    f"found {len(record)}"
                )
            rows.append((line, tuple(record)))
    return layout, rows


def read_answers(path: str | Path) -> tuple[Layout, list[tuple[str, str, str]]]:
    """``(layout, rows)`` where rows are ``(item, worker, answer)`` in file order.

    Every row is one vote, repeated rows included. Item and worker must be non-empty; a
    categorical label must be non-empty too, while an empty transcription is kept (a
    worker may have heard nothing). Raises ``ValueError`` (with ``file:line``) for
    malformed records and ``OSError`` if the file cannot be read.
    """
    layout, records = _read(path, (_ITEM, _WORKER, _ANSWER), "item, worker, answer")
    rows: list[tuple[str, str, str]] = []
    for line, (item, worker, answer) in records:
        item, worker = item.strip(), worker.strip()
        if layout == "csv":
            answer = answer.strip()
        if not item or not worker:
            raise ValueError(f"{path}:{line}: item and worker must not be empty")
        if layout == "csv" and not answer:
            raise ValueError(f"{path}:{line}: empty label")
        rows.append((item, worker, answer))
    return layout, rows


def read_gold(path: str | Path) -> dict[str, str]:
    """Known answers, ``item -> label`` (or text), from ``item,label`` / ``item<TAB>text``.

    An item listed twice with different answers is an error, reported at the second line.
    """
    _, records = _read(path, (_ITEM, _GOLD_ANSWER), "item, answer")
    gold: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line, (item, answer) in records:
        item = item.strip()
        if not item:
            raise ValueError(f"{path}:{line}: empty item")
        if item in gold and gold[item] != answer:
            raise ValueError(
                f"{path}:{line}: item {item!r} already has gold answer {gold[item]!r} "
                f"(line {first_line[item]})"
            )
        gold[item] = answer
        first_line.setdefault(item, line)
    return gold


def write_aggregates(results: Mapping[str, Aggregate], out: TextIO | str | Path) -> None:
    """Write ``item,label,confidence`` CSV (confidence with 4 decimals) to a stream or path."""
    if isinstance(out, str | Path):
        with open(out, "w", encoding="utf-8", newline="") as fh:
            write_aggregates(results, fh)
        return
    writer = csvsafe.writer(out)
    writer.writerow(("item", "label", "confidence"))
    for item, agg in results.items():
        writer.writerow((item, agg.label, f"{agg.confidence:.4f}"))
