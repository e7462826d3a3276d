"""CSV that a spreadsheet opens as data, never as formulas, and that reads back exactly.

Exports carry text that workers typed (transcriptions) and that operators wrote (item ids,
labels, payout reasons). A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``
or ``@`` as a formula, and one that starts with a tab or carriage return may be read as
one too ("CSV injection"), so every CSV tapwork writes goes through :func:`writer`, which
follows OWASP's advice: such a cell gets a single quote in front (``'=SUM(A1)``), which
spreadsheets show as text and do not run.

Two choices keep exports usable:

* A number is left as it is. ``-1``, ``+3`` or ``-0.5`` start with a sign but run nothing;
  quoting them would turn numeric labels into text and break every tool that reads the
  file. So are cells that are not text (ids, seconds).
* The quote can be taken off again. A cell that already starts with a quote followed by
  something that would be quoted gets one more, so :func:`unprotect` (which
  ``tapwork aggregate`` applies to every CSV field it reads) returns exactly what was
  written: an export aggregates to the same labels, "-" dialogue dashes in
  transcriptions included. A CSV from elsewhere is read as it is unless a field starts
  with a quote followed by one of those characters.

``defusedcsv`` does the quoting too, but it also rewrites ``|`` as ``\\|`` and knows no
tab or carriage return, and what it writes cannot be read back exactly.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

#: what a spreadsheet may take as the start of a formula (OWASP, "CSV Injection")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def needs_quote(value: str) -> bool:
    if not value or _NUMBER.fullmatch(value):
        return False
    return value[0] in TRIGGERS or (value[0] == QUOTE and needs_quote(value[1:]))


def protect(value: Any) -> Any:
    """A cell as a spreadsheet should get it: text that could run gets a quote first."""
    return QUOTE + value if isinstance(value, str) and needs_quote(value) else value


def unprotect(value: str) -> str:
    """The text a protected cell stood for (``protect``'s inverse)."""
    return value[1:] if value.startswith(QUOTE) and needs_quote(value[1:]) else value


class Writer:
    """``csv.writer`` whose every row is protected: the only way tapwork writes CSV."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([protect(cell) for cell in row])


def writer(out: TextIO) -> Writer:
    return Writer(out)
