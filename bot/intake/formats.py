"""Reading an items file's text: lines, then JSONL objects or CSV rows, as raw records.

Split from ``bot.intake.importer`` by format: what makes a line or a record (length limits,
UTF-8, duplicate JSON keys, CSV headers) is decided here; what a record means is checked
in ``bot.intake.checks``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import IO, Any

from bot.i18n import N_
from bot.intake.records import (
    _DID_YOU_MEAN,
    _NOT_UTF8,
    _TOO_LONG,
    _TOO_LONG_CSV,
    CSV_KEYS,
    MAX_DIGITS,
    MAX_LINE,
    Problem,
    _Problems,
    _quoted,
)

# --------------------------------------------------------------------------- reading text


class _TooLong(Exception):
    """A line (or CSV record) past ``MAX_LINE``; the reader has moved past it."""


class _NotUtf8(Exception):
    """Bytes that are not UTF-8 on line ``lines.number``: reading stops there."""


class _Lines:
    """Numbered lines of a UTF-8 byte stream, none longer than ``MAX_LINE`` characters.

    An iterator object rather than a generator: the CSV reader pulls lines from it, and
    after refusing one line (``_TooLong``) it must go on to the next. JSON Lines split on
    ``\\n`` only (JSON strings may hold U+2028 and friends, which ``str.splitlines`` would
    also split on, putting line numbers off); CSV on any line ending, as the csv module
    expects. Bytes that are not UTF-8 are decoded as lone surrogates, found per line, so
    the line with the first wrong byte is named.
    """

    def __init__(self, binary: IO[bytes], *, csv_mode: bool) -> None:
        self.text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape",
                                     newline="" if csv_mode else "\n")
        self.number = 0
        #: characters since ``start_record``: a CSV record may take several lines
        self.record = 0
        #: whether any line held more than white space
        self.content = False
        self._pushed: str | None = None

    def __iter__(self) -> _Lines:
        return self

    def start_record(self) -> None:
        self.record = 0

    def push_back(self, line: str) -> None:
        """Read ``line`` again next (once): the CSV header is peeked for its delimiter."""
        self._pushed = line
        self.number -= 1
        self.record -= len(line.rstrip("\r\n"))

    def __next__(self) -> str:
        if self._pushed is not None:
            line, self._pushed = self._pushed, None
            self.number += 1
            self.record += len(line.rstrip("\r\n"))
            return line
        line = self.text.readline(MAX_LINE + 2)  # room for \r\n after a line at the limit
        if not line:
            raise StopIteration
        self.number += 1
        if _NOT_UTF8.search(line):
            raise _NotUtf8
        length = len(line.rstrip("\r\n"))  # line endings are not counted
        if length > MAX_LINE:
            while not line.endswith(("\n", "\r")):
                line = self.text.readline(64 * 1024)  # skipped, never held whole
                if not line:
                    break
            raise _TooLong
        self.record += length
        if self.record > MAX_LINE:
            raise _TooLong
        if not self.content and not line.isspace():
            self.content = True
        return line

    def close(self) -> None:
        self.text.detach()  # the byte stream is closed by its owner


class _LongNumber(str):
    """The digits of a JSON number too long to be an int (``MAX_DIGITS``)."""


def _json_number(digits: str) -> int | _LongNumber:
    return int(digits) if len(digits) <= MAX_DIGITS else _LongNumber(digits)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON keeps the last of two equal keys silently; an operator wants to know."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


#: what Python's JSON parser says about a broken line, the messages it has in 3.11-3.13
_JSON_WHY = frozenset((
    N_("Expecting value"), N_("Expecting property name enclosed in double quotes"),
    N_("Expecting ',' delimiter"), N_("Expecting ':' delimiter"),
    N_("Unterminated string starting at"), N_("Invalid control character at"),
    N_("Extra data"), N_("Invalid \\escape")))
_JSON_ARRAY = N_("this looks like a JSON array; JSON Lines has one object per line, with "
                 "no [ ] around them")


def _json_problem(line: str, exc: json.JSONDecodeError) -> Problem:
    stripped = line.strip()
    if stripped.startswith("[") or stripped == "]":
        return Problem(_JSON_ARRAY)
    if stripped.endswith(","):
        try:
            json.loads(stripped[:-1], parse_int=_json_number)
        except (ValueError, RecursionError):
            pass
        else:
            return Problem(N_("remove the comma at the end of the line (JSON Lines has "
                              "no commas between lines)"))
    # the parser's own words: the common ones are translated, any other is shown as it is
    why: str | Problem = Problem(exc.msg) if exc.msg in _JSON_WHY else exc.msg
    return Problem(N_("not valid JSON ({why} at column {column})"),
                   {"why": why, "column": exc.colno})


#: (line, the record or None when its problem is already reported, its size in characters)
_Record = tuple[int, dict[str, Any] | None, int]


def _jsonl_records(lines: _Lines, problems: _Problems) -> Iterator[_Record]:
    """``(line, object, size)`` per non-blank line."""
    while True:
        lines.start_record()
        try:
            line = next(lines)
        except StopIteration:
            return
        except _TooLong:
            problems.add(lines.number, _TOO_LONG, limit=MAX_LINE)
            yield lines.number, None, MAX_LINE
            continue
        number = lines.number
        if not line.strip():
            continue
        try:
            value = json.loads(line, object_pairs_hook=_no_duplicates,
                               parse_int=_json_number)
        except _DuplicateKey as exc:
            problems.add(number, N_("key '{key}' appears twice"), key=exc.key)
            yield number, None, len(line)
            continue
        except json.JSONDecodeError as exc:
            problems.add(number, _json_problem(line, exc))
            yield number, None, len(line)
            continue
        except RecursionError:
            problems.add(number, N_("not valid JSON (nested too deeply)"))
            yield number, None, len(line)
            continue
        except ValueError as exc:
            problems.add(number, N_("not valid JSON ({why})"), why=str(exc))
            yield number, None, len(line)
            continue
        if isinstance(value, list):
            problems.add(number, _JSON_ARRAY)
            value = None
        elif not isinstance(value, dict):
            problems.add(number, N_("each line must be a JSON object such as {example}"),
                         example='{"id": "1", "text": "..."}')
            value = None
        yield number, value, len(line)


def _delimiter(first_line: str) -> str:
    """Comma, unless the header is clearly split by tabs or semicolons (European Excel)."""
    for delimiter in (",", "\t", ";"):
        names = [name.strip().lower() for name in first_line.split(delimiter)]
        if "id" in names and len(names) > 1:
            return delimiter
    return ","


def _csv_problem(exc: csv.Error, start: int) -> Problem:
    why = str(exc)
    if "unexpected end of data" in why or "EOF" in why:
        return Problem(N_("a quoted value starting on line {line} is never closed (a \" is "
                          "missing), so the rest of the file was read into it"),
                       {"line": start})
    if "expected after" in why:
        # the parser's own words (which character, after which quote) stay as they are
        return Problem(N_("a quote is out of place: put the whole value in double quotes "
                          "and double any quote inside it (\"\") ({why})"), {"why": why})
    if "field larger than field limit" in why:
        return Problem(N_("a value is far too long (over {limit} characters); usually a "
                          "closing \" is missing"), {"limit": 131072})
    return Problem(N_("this line is not valid CSV ({why})"), {"why": why})


class _CsvHeader:
    """The header row: column names, where they are, and what is wrong with them."""

    def __init__(self, row: list[str], line: int, problems: _Problems) -> None:
        self.names = [cell.strip().lower() for cell in row]
        known = [name for name in self.names if name in CSV_KEYS]
        #: a first line naming no column is data, not a header: the rows are not checked
        self.usable = bool(known)
        if not known:
            problems.add(line, N_("the first line must be a header naming the columns, "
                                  "such as {example} (found {found})"),
                         example="id,text,gold", found=_quoted(self.names[:5]))
        else:
            twice = sorted({name for name in self.names if name and
                            self.names.count(name) > 1})
            if twice:
                problems.add(line, N_("column {names} appears twice in the header")
                             if len(twice) == 1
                             else N_("columns {names} appear twice in the header"),
                             names=_quoted(twice))
            unknown = [name for name in self.names if name and name not in CSV_KEYS]
            if unknown:
                problems.add(line, _unknown("column", unknown, CSV_KEYS))
            if "id" not in self.names:
                problems.add(line, N_("the header has no {column} column"), column="id")
        #: without an id column, "missing id" is said once here, not on every line
        self.has_id = "id" in self.names

    def record(self, row: list[str], line: int, problems: _Problems) -> dict[str, Any] | None:
        """The row as ``{column: value}``; unknown columns were reported with the header."""
        extra = [cell for cell in row[len(self.names):] if cell.strip()]
        if extra:
            problems.add(line, N_("this line has {values} values but the header names "
                                  "{columns} columns (a value containing a comma must be "
                                  "in double quotes)"), values=len(row), columns=len(self.names))
            return None
        unnamed = [position for position, (name, cell) in
                   enumerate(zip(self.names, row, strict=False), start=1)
                   if not name and cell.strip()]
        if unnamed:
            problems.add(line, N_("column {position} has a value but no name in the header"),
                         position=unnamed[0])
            return None
        return {name: cell for name, cell in zip(self.names, row, strict=False)
                if name in CSV_KEYS}


def _csv_records(lines: _Lines, problems: _Problems,
                 on_header: Callable[[_CsvHeader], None]) -> Iterator[_Record]:
    """``(line, row, size)`` per record, ``line`` being the physical line where it starts.

    Quoted values may span lines, so the lines' own count is used, not the row number;
    the header is line 1. Strict mode turns stray quotes into reported errors instead of
    silently merged values.
    """
    try:
        first = next(lines)
    except StopIteration:
        return
    except _TooLong:
        problems.add(lines.number, _TOO_LONG, limit=MAX_LINE)
        return
    lines.push_back(first)
    reader = csv.reader(lines, strict=True, delimiter=_delimiter(first.rstrip("\r\n")))
    header: _CsvHeader | None = None
    while True:
        start = lines.number + 1
        lines.start_record()
        try:
            row = next(reader)
        except StopIteration:
            return
        except _TooLong:
            problems.add(start, _TOO_LONG_CSV, limit=MAX_LINE)
            yield start, None, MAX_LINE
            continue
        except csv.Error as exc:
            problems.add(start, _csv_problem(exc, start))
            yield start, None, lines.record
            continue
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = _CsvHeader(row, start, problems)
            if not header.usable:
                return
            on_header(header)
            continue
        yield start, header.record(row, start, problems), lines.record


_UNKNOWN = {("key", True): N_("unknown key {names} (allowed: {allowed})"),
            ("key", False): N_("unknown keys {names} (allowed: {allowed})"),
            ("column", True): N_("unknown column {names} (allowed: {allowed})"),
            ("column", False): N_("unknown columns {names} (allowed: {allowed})")}


def _unknown(noun: str, unknown: list[str], allowed: tuple[str, ...]) -> Problem:
    """Name the unknown keys or columns, the allowed ones, and the likely intended one."""
    hints = [Problem(N_("did you mean '{right}' instead of '{wrong}'?"),
                     {"right": _DID_YOU_MEAN[name], "wrong": name})
             for name in unknown if name in _DID_YOU_MEAN]
    message = Problem(_UNKNOWN[noun, len(unknown) == 1],
                      {"names": _quoted(unknown), "allowed": ", ".join(allowed)})
    return Problem(N_("{problem}; {hints}"), {"problem": message, "hints": hints}) \
        if hints else message
