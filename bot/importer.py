"""Read an operator's items file (JSONL, CSV, or a ZIP with one of them plus media).

Import is all-or-nothing: a file with one bad line is refused as a whole, and the
operator gets every problem at once, each with its line number, so one round of fixes
is enough. Nothing here writes anything.

Files are read as a stream, one line at a time, and checked in batches
(``Checking.next_batch``): memory is bounded by a batch (``BATCH_LINES`` lines,
``BATCH_BYTES`` of text and new media), never by the file, so a million-line file costs
what two thousand lines cost. Whoever drives the batches decides what to keep:
``read_items`` keeps every item (for tests and small files), ``bot/loader.py`` writes each
batch to the database and forgets it. Ids are remembered across the file by an
``IdRegistry``, to find duplicates: a set here, a temporary table on disk for a real import.

Media is prepared here, once per file: a ZIP member (or a file on disk) is inflated, read
and hashed once however many lines name it, and files with identical bytes are prepared
once (``MEDIA_MEMORY`` results are remembered; a ZIP cannot hold more members than that),
so sending a task later never decodes an image. Paths in the items file are relative (to
the items file's folder, or inside the ZIP) and may never reach outside it: an uploaded
file must not read the server's disk. Limits keep a hostile file from exhausting memory or
CPU: a line (or a CSV record over several lines) longer than ``MAX_LINE`` characters is
refused as soon as that many are read, an id longer than ``MAX_ID``; a ZIP may hold at most
``MAX_ZIP_MEMBERS`` files and unpack to at most ``MAX_ZIP_BYTES``.

Every item leaves with a language (``bot.item_language``): its ``lang``, else the
project's ``language``, else for a text the one detected from it, else '' (no reading
needed: a picture; or a text with no letters). A recording cannot be detected, so audio
with neither ``lang`` nor a project language is refused on its line. Detection runs here,
in the thread the import already runs in, so a big file never stalls the bot.

This module never imports ``telegram`` and does no SQL.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Collection, Hashable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import IO, Any, Protocol

from bot import import_media
from bot.errors import TapworkError
from bot.i18n import N_, Gettext, gettext_for
from bot.import_media import (
    _FolderMedia,
    _Lru,
    _Media,
    _member_names,
    _NoMedia,
    _open_member,
    _RefError,
    _ZipMedia,
)
from bot.inventory import ItemCounts, describe, kind_of, languages_text, tally
from bot.item_language import detect, parse_code
from bot.media import (
    MediaError,
    PreparedMedia,
    format_size,
    prepare_audio,
    prepare_image,
)
from bot.projects import LANGUAGES, Localized, ProjectSpec

#: keys an item may have, in the order problems about them are reported
ITEM_KEYS = ("id", "text", "image", "audio", "gold", "quiz", "explain", "prelabel", "lang")
#: a CSV has no tables, so per-language explanations get their own columns
CSV_KEYS = (*ITEM_KEYS, *(f"explain_{language}" for language in LANGUAGES))
CONTENT_KEYS = ("text", "image", "audio")
#: a task's text must fit one Telegram message (4096 UTF-16 units) with the task header
MAX_TEXT = 3500
#: an id names an item in exports and reports; longer ones are mistakes (a text pasted in
#: the id column, a number run wild)
MAX_ID = 200
#: the longest line read, in characters; for CSV, the longest record (a quoted value may
#: span lines). The largest real item, every text at MAX_TEXT and written as JSON \\u
#: escapes, is about half of it. Refused as soon as this many characters are read.
MAX_LINE = 256 * 1024
#: a JSON number longer than this is kept as its digits, never turned into an int (Python
#: refuses ints of over 4300 digits with an error of its own)
MAX_DIGITS = 1000
#: problems listed in full; the rest are only counted
MAX_ERRORS = 200
#: a ZIP may hold at most so many files (its size: ``import_media``)
MAX_ZIP_MEMBERS = 20_000
#: lines checked together, and the most text and newly prepared media a batch holds
BATCH_LINES = 2_000
BATCH_BYTES = 16 * 1024 * 1024
#: prepared media (or why not) remembered, by file and by content; at least a ZIP's worth,
#: so each member is inflated once
MEDIA_MEMORY = MAX_ZIP_MEMBERS
PROGRESS_EVERY = 500

JSONL_SUFFIXES = (".jsonl", ".json-lines", ".ndjson")
CSV_SUFFIXES = (".csv",)
ZIP_SUFFIXES = (".zip",)
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}
#: common wrong names for a key, to point the operator at the right one
_DID_YOU_MEAN = {"label": "gold", "answer": "gold", "explanation": "explain",
                 "is_quiz": "quiz", "content": "text", "photo": "image", "picture": "image",
                 "voice": "audio", "sound": "audio", "item_id": "id", "language": "lang",
                 "locale": "lang"}
#: bytes that are not UTF-8, as ``surrogateescape`` decodes them
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_NOT_UTF8_MESSAGE = ("the file is not UTF-8 text (the first wrong byte is on this line); "
                     "save it as UTF-8 (in Excel: 'CSV UTF-8')")
_TOO_LONG = (f"this line is longer than {MAX_LINE} characters, more than any item needs; "
             "is every item on a line of its own?")
_TOO_LONG_CSV = (f"this record is longer than {MAX_LINE} characters, more than any item "
                 "needs; usually a closing \" is missing")


@dataclass(frozen=True)
class ItemRecord:
    """One valid item, ready for storage; ``line`` is kept for messages about it later."""

    ext_id: str
    line: int
    text: str | None
    media: PreparedMedia | None
    gold: str | None
    quiz: bool
    explain: Localized | None
    prelabel: str | None
    #: a primary subtag such as ``ko``; '' when the item needs no reading (or none was found)
    lang: str = ""
    #: whether ``lang`` was detected from the text rather than given
    detected: bool = False


@dataclass(frozen=True)
class LineError:
    """One problem. ``line`` is None (or 0) for the whole file; ``where`` names the
    items file inside a ZIP, so the operator knows which file the line number is in."""

    line: int | None
    message: str
    where: str = ""

    def __str__(self) -> str:
        place = " ".join(part for part in (self.where, f"line {self.line}" if self.line
                                           else "") if part)
        return f"{place}: {self.message}" if place else self.message


@dataclass
class ImportSummary:
    """What the valid items are, counted as they pass: the report needs no item kept."""

    kinds: dict[tuple[str, str], int] = field(default_factory=dict)
    texts: int = 0
    #: items per media kind (photo, voice, audio)
    media: dict[str, int] = field(default_factory=dict)
    detected: int = 0

    def add(self, record: ItemRecord) -> None:
        key = (kind_of(record.quiz, record.gold is not None), record.lang)
        self.kinds[key] = self.kinds.get(key, 0) + 1
        if record.text is not None:
            self.texts += 1
        if record.media is not None:
            self.media[record.media.kind] = self.media.get(record.media.kind, 0) + 1
        if record.detected:
            self.detected += 1

    @property
    def counts(self) -> ItemCounts:
        """Counted as ``/projects`` counts a project's items (``bot.inventory``)."""
        return tally((kind, lang, count) for (kind, lang), count in self.kinds.items())

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


@dataclass
class ImportResult:
    """What an import found. ``items`` is filled only by ``read_items`` and
    ``read_items_bytes``, and only when there are no errors, so a caller cannot write half
    a file by mistake; ``count`` says how many items were read, ``summary`` what the valid
    ones are."""

    items: list[ItemRecord]
    errors: list[LineError]
    source: str
    count: int = 0
    omitted: int = 0  # problems beyond MAX_ERRORS, summed up in the last entry of errors
    summary: ImportSummary = field(default_factory=ImportSummary)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def problem_count(self) -> int:
        """Every problem found, including the ones only counted."""
        return len(self.errors) - (1 if self.omitted else 0) + self.omitted


class UnreadableFile(TapworkError):
    """The items file itself cannot be opened (missing, a folder, no permission): a
    problem with the command, not with the file's content."""


class IdRegistry(Protocol):
    """The ids met so far in the file, and the project's own."""

    def register(self, ids: Sequence[tuple[str, int]]) -> dict[str, int | None]:
        """Remember ``(id, line)`` pairs (each id once); return the ids met before: the
        line an id was first used on in this file, or None when the project has it."""
        ...


class MemoryIds:
    """An ``IdRegistry`` in memory, for checking a file without a database."""

    def __init__(self, existing: Collection[str] = ()) -> None:
        # lists are turned into a set once; sets and dict views are used as they are
        self.existing = existing if isinstance(existing, AbstractSet) else set(existing)
        self.first_line: dict[str, int] = {}

    def register(self, ids: Sequence[tuple[str, int]]) -> dict[str, int | None]:
        clashes: dict[str, int | None] = {}
        for ext_id, line in ids:
            if ext_id in self.first_line:
                clashes[ext_id] = self.first_line[ext_id]
                continue
            self.first_line[ext_id] = line
            if ext_id in self.existing:
                clashes[ext_id] = None
        return clashes


class _Problems:
    """Collects problems in line order, listing the first ``MAX_ERRORS`` and counting the
    rest. A batch's problems are held until its ids are checked (``flush``), because a
    duplicate id is only known then and belongs among its line's other problems."""

    def __init__(self, where: str = "") -> None:
        self.where = where
        self.errors: list[LineError] = []
        self.omitted = 0
        self.held: list[tuple[int | None, str]] = []

    def add(self, line: int | None, message: str) -> None:
        self.held.append((line, message))

    def flush(self) -> None:
        # stable: a line's own problems keep their order
        for line, message in sorted(self.held, key=lambda held: held[0] or 0):
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(LineError(line, message, self.where))
            else:
                self.omitted += 1
        self.held = []

    @property
    def any(self) -> bool:
        return bool(self.errors or self.held)

    def finish(self) -> list[LineError]:
        self.flush()
        if self.omitted:
            noun = "problem" if self.omitted == 1 else "problems"
            return [*self.errors, LineError(None, f"… and {self.omitted} more {noun}")]
        return list(self.errors)


def _quoted(names: Collection[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


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


def _json_problem(line: str, exc: json.JSONDecodeError) -> str:
    stripped = line.strip()
    if stripped.startswith("[") or stripped == "]":
        return ("this looks like a JSON array; JSON Lines has one object per line, with "
                "no [ ] around them")
    if stripped.endswith(","):
        try:
            json.loads(stripped[:-1], parse_int=_json_number)
        except (ValueError, RecursionError):
            pass
        else:
            return "remove the comma at the end of the line (JSON Lines has no commas " \
                   "between lines)"
    return f"not valid JSON ({exc.msg} at column {exc.colno})"


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
            problems.add(lines.number, _TOO_LONG)
            yield lines.number, None, MAX_LINE
            continue
        number = lines.number
        if not line.strip():
            continue
        try:
            value = json.loads(line, object_pairs_hook=_no_duplicates,
                               parse_int=_json_number)
        except _DuplicateKey as exc:
            problems.add(number, f"key '{exc.key}' appears twice")
            yield number, None, len(line)
            continue
        except json.JSONDecodeError as exc:
            problems.add(number, _json_problem(line, exc))
            yield number, None, len(line)
            continue
        except RecursionError:
            problems.add(number, "not valid JSON (nested too deeply)")
            yield number, None, len(line)
            continue
        except ValueError as exc:
            problems.add(number, f"not valid JSON ({exc})")
            yield number, None, len(line)
            continue
        if isinstance(value, list):
            problems.add(number, "this looks like a JSON array; JSON Lines has one object "
                                 "per line, with no [ ] around them")
            value = None
        elif not isinstance(value, dict):
            problems.add(number, 'each line must be a JSON object such as '
                                 '{"id": "1", "text": "..."}')
            value = None
        yield number, value, len(line)


def _delimiter(first_line: str) -> str:
    """Comma, unless the header is clearly split by tabs or semicolons (European Excel)."""
    for delimiter in (",", "\t", ";"):
        names = [name.strip().lower() for name in first_line.split(delimiter)]
        if "id" in names and len(names) > 1:
            return delimiter
    return ","


def _csv_problem(exc: csv.Error, start: int) -> str:
    why = str(exc)
    if "unexpected end of data" in why or "EOF" in why:
        return (f"a quoted value starting on line {start} is never closed (a \" is "
                "missing), so the rest of the file was read into it")
    if "expected after" in why:
        return ('a quote is out of place: put the whole value in double quotes and double '
                f'any quote inside it ("") ({why})')
    if "field larger than field limit" in why:
        return ("a value is far too long (over 131072 characters); usually a closing \" "
                "is missing")
    return f"this line is not valid CSV ({why})"


class _CsvHeader:
    """The header row: column names, where they are, and what is wrong with them."""

    def __init__(self, row: list[str], line: int, problems: _Problems) -> None:
        self.names = [cell.strip().lower() for cell in row]
        known = [name for name in self.names if name in CSV_KEYS]
        #: a first line naming no column is data, not a header: the rows are not checked
        self.usable = bool(known)
        if not known:
            problems.add(line, "the first line must be a header naming the columns, such "
                               f"as id,text,gold (found {_quoted(self.names[:5])})")
        else:
            twice = sorted({name for name in self.names if name and
                            self.names.count(name) > 1})
            if twice:
                problems.add(line, f"{'column' if len(twice) == 1 else 'columns'} "
                                   f"{_quoted(twice)} appear{'s' if len(twice) == 1 else ''}"
                                   " twice in the header")
            unknown = [name for name in self.names if name and name not in CSV_KEYS]
            if unknown:
                problems.add(line, _unknown("column", unknown, CSV_KEYS))
            if "id" not in self.names:
                problems.add(line, "the header has no id column")
        #: without an id column, "missing id" is said once here, not on every line
        self.has_id = "id" in self.names

    def record(self, row: list[str], line: int, problems: _Problems) -> dict[str, Any] | None:
        """The row as ``{column: value}``; unknown columns were reported with the header."""
        extra = [cell for cell in row[len(self.names):] if cell.strip()]
        if extra:
            problems.add(line, f"this line has {len(row)} values but the header names "
                               f"{len(self.names)} columns (a value containing a comma "
                               "must be in double quotes)")
            return None
        unnamed = [position for position, (name, cell) in
                   enumerate(zip(self.names, row, strict=False), start=1)
                   if not name and cell.strip()]
        if unnamed:
            problems.add(line, f"column {unnamed[0]} has a value but no name in the header")
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
        problems.add(lines.number, _TOO_LONG)
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
            problems.add(start, _TOO_LONG_CSV)
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


def _unknown(noun: str, unknown: list[str], allowed: tuple[str, ...]) -> str:
    """Name the unknown keys or columns, the allowed ones, and the likely intended one."""
    hints = [f"did you mean '{_DID_YOU_MEAN[name]}' instead of '{name}'?"
             for name in unknown if name in _DID_YOU_MEAN]
    message = (f"unknown {noun if len(unknown) == 1 else noun + 's'} {_quoted(unknown)} "
               f"(allowed: {', '.join(allowed)})")
    return f"{message}; {' '.join(hints)}" if hints else message


# --------------------------------------------------------------------------- checking


class _Invalid(Exception):
    """One problem with one value; the line goes on being checked."""


def _telegram_length(text: str) -> int:
    """Telegram counts UTF-16 code units: most emoji count twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _string(value: Any, key: str, *, numbers: bool = False) -> str | None:
    """A trimmed string with Unix newlines; ``None`` for absent, null or blank."""
    if value is None:
        return None
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or (isinstance(value, _LongNumber) and not numbers):
        raise _Invalid(f"{key} must be text in double quotes")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid(f"{key} contains an invalid character (a lone \\u escape)") from None
    cleaned = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return cleaned or None


@dataclass
class _Checked:
    """One line checked but for its id's uniqueness, which its batch checks at once."""

    line: int
    problems: list[str]
    #: where a problem with the id goes among the line's problems (they follow the keys)
    id_at: int
    ext_id: str | None
    record: ItemRecord | None


class _MediaCache:
    """Prepared media (or why not) by file and by content, so each is read and prepared
    once. Without ``keep``, prepared bytes are dropped once their batch is written
    (``release``): what is remembered is then a few hundred bytes a file."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.by_file = _Lru(MEDIA_MEMORY)
        self.by_content = _Lru(MEDIA_MEMORY)
        self.fresh: list[tuple[_Lru, Hashable]] = []
        self.fresh_bytes = 0

    def remember(self, cache: _Lru, key: Hashable, value: Any) -> None:
        cache.keep(key, value)
        if isinstance(value, PreparedMedia) and value.data:
            self.fresh.append((cache, key))

    def release(self) -> None:
        if not self.keep:
            for cache, key in self.fresh:
                value = cache.get(key)
                if isinstance(value, PreparedMedia) and value.data:
                    cache[key] = replace(value, data=b"")
        self.fresh = []
        self.fresh_bytes = 0


class _Checker:
    """Checks records one by one, remembering prepared media across the file."""

    def __init__(self, spec: ProjectSpec, media: _Media, *, csv_mode: bool,
                 keep_media: bool) -> None:
        self.spec = spec
        self.media = media
        self.csv_mode = csv_mode
        self.cache = _MediaCache(keep_media)
        self.id_column = True

    def check(self, line: int, raw: dict[str, Any]) -> _Checked:
        """Every problem on the line but a duplicate id; the item if there are none."""
        found: list[str] = []

        def attempt(func: Callable[[], Any]) -> Any:
            try:
                return func()
            except _Invalid as exc:
                found.append(str(exc))
                return None

        if not self.csv_mode:
            unknown = [key for key in raw if key not in ITEM_KEYS]
            if unknown:
                found.append(_unknown("key", unknown, ITEM_KEYS))
        id_at = len(found)
        ext_id = attempt(lambda: self._id(raw.get("id")))
        text, media = attempt(lambda: self._content(raw)) or (None, None)
        gold = attempt(lambda: self._answer(raw.get("gold"), "gold"))
        quiz = attempt(lambda: self._quiz(raw.get("quiz")))
        explain = attempt(lambda: self._explain(raw))
        prelabel = attempt(lambda: self._answer(raw.get("prelabel"), "prelabel"))
        lang = attempt(lambda: self._lang(raw.get("lang")))
        gold_given = _present(raw.get("gold"))
        if quiz and not gold_given:
            found.append("a quiz item needs a gold answer to check the worker against")
        if explain is not None and not gold_given:
            found.append("explain is given but there is no gold answer to explain")
        language = self.spec.language
        if (not self.spec.categorical and _present(raw.get("audio"))
                and language is None and not _present(raw.get("lang"))):
            found.append("audio needs a language to listen for: give lang (such as \"ko\") "
                         "or set the project's language")
        if found or ext_id is None:
            return _Checked(line, found, id_at, ext_id, None)
        detected = False
        if lang is None:
            lang = language
        if lang is None and text is not None:
            # only here, once the line is valid, and in the import's thread (see module doc)
            lang = detect(text)
            detected = lang is not None
        record = ItemRecord(ext_id=ext_id, line=line, text=text, media=media, gold=gold,
                            quiz=bool(quiz), explain=explain, prelabel=prelabel,
                            lang=lang or "", detected=detected)
        return _Checked(line, found, id_at, ext_id, record)

    def _id(self, value: Any) -> str | None:
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, str | int)):
            raise _Invalid("id must be text or a whole number")
        ext_id = _string(value, "id", numbers=True)
        if ext_id is None:
            if self.id_column:
                raise _Invalid("missing id")
            return None
        if len(ext_id) > MAX_ID:
            raise _Invalid(f"id is too long: {len(ext_id)} characters (the limit is "
                           f"{MAX_ID})")
        return ext_id

    def _content(self, raw: dict[str, Any]) -> tuple[str | None, PreparedMedia | None]:
        values = {key: _string(raw.get(key), key) for key in CONTENT_KEYS}
        given = [key for key in CONTENT_KEYS if values[key] is not None]
        if len(given) > 1:
            raise _Invalid(f"give only one of text, image or audio (this item has "
                           f"{' and '.join(given)})")
        if not given:
            if "text" in raw and not any(key in raw for key in ("image", "audio")):
                raise _Invalid("text is empty")
            raise _Invalid("no content: give one of text, image or audio")
        kind = given[0]
        value = values[kind]
        assert value is not None
        if kind == "text" and not self.spec.categorical:
            raise _Invalid("a transcription project needs audio or an image to transcribe, "
                           "not text")
        if kind == "audio" and self.spec.categorical:
            raise _Invalid(f"a {self.spec.kind} project takes text or images, not audio")
        if kind == "text":
            length = _telegram_length(value)
            if length > MAX_TEXT:
                raise _Invalid(f"text is too long: {length} characters (the limit is "
                               f"{MAX_TEXT}, so it fits in one Telegram message)")
            return value, None
        return None, self._media(kind, value)

    def _media(self, kind: str, ref: str) -> PreparedMedia:
        """The prepared file, looked up by the file first: a member named on a thousand
        lines is inflated, hashed and prepared once."""
        try:
            where = self.media.locate(ref)
        except _RefError as exc:
            raise _Invalid(f"{kind} '{ref}' {exc}") from None
        cache = self.cache
        # a prepared file, or (separator, why) when it cannot be one
        result: PreparedMedia | tuple[str, str] | None = cache.by_file.find((kind, where))
        if result is None:
            try:
                data = self.media.read(where)
            except _RefError as exc:
                result = ("", str(exc))
            else:
                digest = (kind, hashlib.sha256(data).hexdigest())
                result = cache.by_content.find(digest)
                if result is None:
                    name = PurePath(ref.replace("\\", "/")).name
                    try:
                        result = (prepare_image(data, name) if kind == "image"
                                  else prepare_audio(data, name))
                    except MediaError as exc:
                        result = (":", str(exc))
                    else:
                        cache.fresh_bytes += len(result.data)
                    cache.remember(cache.by_content, digest, result)
            cache.remember(cache.by_file, (kind, where), result)
        if isinstance(result, tuple):
            separator, why = result
            raise _Invalid(f"{kind} '{ref}'{separator} {why}")
        return result

    def _answer(self, value: Any, key: str) -> str | None:
        """A gold answer or prelabel: a label value, or any text for transcription.

        Labels match ignoring case and surrounding spaces ("Positive" means
        "positive") and are stored as the project spells them, so exports agree.
        """
        answer = _string(value, key, numbers=True)
        if answer is None:
            return None
        if not self.spec.categorical:
            if _telegram_length(answer) > MAX_TEXT:
                raise _Invalid(f"{key} is too long (the limit is {MAX_TEXT} characters)")
            return answer
        values = self.spec.label_values
        if answer in values:
            return answer
        matches = [label for label in values if label.casefold() == answer.casefold()]
        if len(matches) == 1:
            return matches[0]
        if len(answer) > MAX_ID:
            answer = answer[:MAX_ID] + "…"
        raise _Invalid(f"unknown label '{answer}' in {key} (allowed: {', '.join(values)})")

    def _lang(self, value: Any) -> str | None:
        """The item's own language: any BCP 47 tag, kept as its primary subtag."""
        if value is not None and (not isinstance(value, str)
                                  or isinstance(value, _LongNumber)):
            raise _Invalid('lang must be a language code in double quotes, such as "ko"')
        code = _string(value, "lang")
        if code is None:
            return None
        try:
            return parse_code(code)
        except ValueError as exc:
            raise _Invalid(f"lang: {exc}") from None

    def _quiz(self, value: Any) -> bool:
        if value is None:
            return False
        if self.csv_mode:
            word = str(value).strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            raise _Invalid(f"quiz must be true or false (or yes/no, 1/0), not '{value}'")
        if isinstance(value, bool):
            return value
        raise _Invalid("quiz must be true or false (without quotes)")

    def _explain(self, raw: dict[str, Any]) -> Localized | None:
        texts: dict[str, str] = {}
        value = raw.get("explain")
        if isinstance(value, dict):
            for language, text in value.items():
                if language not in LANGUAGES:
                    raise _Invalid(f"explain: unknown language '{language}' (use "
                                   f"{', '.join(LANGUAGES)})")
                cleaned = _string(text, f"explain.{language}")
                if cleaned is None:
                    raise _Invalid(f"explain.{language} is empty")
                texts[language] = cleaned
            if not texts:
                raise _Invalid("explain is an empty table")
        else:
            if value is not None and not isinstance(value, str):
                raise _Invalid("explain must be text, or a table of texts per language "
                               '(e.g. {"en": "...", "ko": "..."})')
            text = _string(value, "explain")
            if text is not None:
                texts["en"] = text
            for language in LANGUAGES:
                extra = _string(raw.get(f"explain_{language}"), f"explain_{language}")
                if extra is not None:
                    texts[language] = extra
        for language, text in texts.items():
            if _telegram_length(text) > MAX_TEXT:
                raise _Invalid(f"explain ({language}) is too long (the limit is {MAX_TEXT} "
                               "characters)")
        return Localized(texts) if texts else None


def _present(value: Any) -> bool:
    """Whether an optional value was given at all (blank text counts as not given)."""
    if value is None:
        return False
    return not (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------- one file


class Checking:
    """An items file being checked, batch by batch.

    Call ``next_batch`` until it returns None (in a worker thread: it reads, parses,
    prepares media and asks the ``IdRegistry``), then ``result``. ``ok`` says whether
    every line so far was good: a writer keeps a batch only while it is. Close it (or use
    ``with``) to close the file.
    """

    def __init__(self, spec: ProjectSpec, source: str, *, ids: IdRegistry | None = None,
                 keep_media: bool = False,
                 progress: Callable[[int], None] | None = None) -> None:
        self.spec = spec
        self.source = source
        self.ids = ids if ids is not None else MemoryIds()
        self.keep_media = keep_media
        self.progress = progress
        self.count = 0
        self.summary = ImportSummary()
        self.problems = _Problems()
        self._failure: LineError | None = None
        self._lines: _Lines | None = None
        self._records: Iterator[_Record] = iter(())
        self._checker: _Checker | None = None
        self._csv_mode = False
        self._done = False
        self._closers: list[Callable[[], None]] = []

    # -- set up by the openers below

    def _fail(self, message: str, line: int | None = None, where: str = "") -> Checking:
        self._failure = LineError(line, message, where)
        self._done = True
        return self

    def _start(self, binary: IO[bytes], fmt: str, media: _Media, where: str = "") -> Checking:
        """Begin reading ``binary`` (closed with this object), after a look at its first
        bytes: a UTF-16 or a ZIP file is refused before a line is read."""
        head = _peek(binary)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return self._fail("the file is UTF-16 text; save it as UTF-8 (in Excel: 'CSV "
                              "UTF-8')", where=where)
        if head.startswith(b"PK\x03\x04"):
            return self._fail("this is a ZIP or an Excel workbook, not a text file; save "
                              "the sheet as 'CSV UTF-8', or name a ZIP .zip", where=where)
        self._csv_mode = fmt == "csv"
        self.problems = _Problems(where)
        self._lines = _Lines(binary, csv_mode=self._csv_mode)
        self._checker = _Checker(self.spec, media, csv_mode=self._csv_mode,
                                 keep_media=self.keep_media)
        if self._csv_mode:
            checker = self._checker

            def on_header(header: _CsvHeader) -> None:
                # a missing id column is reported once, on the header, not on every line
                checker.id_column = header.has_id

            self._records = _csv_records(self._lines, self.problems, on_header)
        else:
            self._records = _jsonl_records(self._lines, self.problems)
        return self

    # -- reading

    @property
    def ok(self) -> bool:
        return self._failure is None and not self.problems.any

    def next_batch(self) -> list[ItemRecord] | None:
        """The next batch's valid items (a list, perhaps empty), or None at the end."""
        if self._done:
            return None
        assert self._checker is not None and self._lines is not None
        pending: list[_Checked] = []
        size = 0
        while len(pending) < BATCH_LINES and size + self._checker.cache.fresh_bytes \
                < BATCH_BYTES:
            try:
                entry = next(self._records, None)
            except _NotUtf8:
                self.problems.add(self._lines.number, _NOT_UTF8_MESSAGE)
                self._done = True
                break
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                self.problems.add(None, f"the file cannot be read to its end ({exc})")
                self._done = True
                break
            if entry is None:
                self._done = True
                break
            line, raw, chars = entry
            self.count += 1
            size += chars
            if raw is not None:
                pending.append(self._checker.check(line, raw))
            if self.progress is not None and self.count % PROGRESS_EVERY == 0:
                self.progress(self.count)
        batch = self._settle(pending)
        self._checker.cache.release()
        if self._done and self.progress is not None and self.count % PROGRESS_EVERY:
            self.progress(self.count)
        return batch

    def _settle(self, pending: list[_Checked]) -> list[ItemRecord]:
        """Check the batch's ids at once, then report its problems in line order."""
        first_in_batch: dict[str, int] = {}
        repeats: dict[int, str] = {}
        for index, checked in enumerate(pending):
            if checked.ext_id is None:
                continue
            if checked.ext_id in first_in_batch:
                repeats[index] = checked.ext_id
            else:
                first_in_batch[checked.ext_id] = checked.line
        clashes = self.ids.register(list(first_in_batch.items()))
        batch: list[ItemRecord] = []
        for index, checked in enumerate(pending):
            ext_id = checked.ext_id
            problem = None
            if index in repeats:
                assert ext_id is not None
                first = clashes.get(ext_id) or first_in_batch[ext_id]
                problem = f"duplicate id '{ext_id}' (first used on line {first})"
            elif ext_id is not None and ext_id in clashes:
                first_line = clashes[ext_id]
                problem = (f"id '{ext_id}' is already in this project" if first_line is None
                           else f"duplicate id '{ext_id}' (first used on line {first_line})")
            if problem is not None:
                checked.problems.insert(checked.id_at, problem)
            for message in checked.problems:
                self.problems.add(checked.line, message)
            if checked.record is not None and not checked.problems:
                batch.append(checked.record)
                self.summary.add(checked.record)
        self.problems.flush()
        return batch

    def result(self, items: list[ItemRecord] | None = None) -> ImportResult:
        """What the file held; ``items`` are what the caller kept of the batches."""
        if self._failure is not None:
            return ImportResult(items=[], errors=[self._failure], source=self.source)
        if self._lines is not None and not self._lines.content and not self.problems.any:
            return _failed(self.source, "the file is empty", None, self.problems.where)
        if self.count == 0 and not self.problems.any:
            self.problems.add(None, "the file has a header but no items" if self._csv_mode
                              else "the file has no items")
        errors = self.problems.finish()
        return ImportResult(items=[] if errors else list(items or []), errors=errors,
                            source=self.source, count=self.count,
                            omitted=self.problems.omitted, summary=self.summary)

    # -- closing

    def close(self) -> None:
        if self._lines is not None:
            self._lines.close()
            self._lines = None
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Checking:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _peek(binary: IO[bytes]) -> bytes:
    """The first bytes, left unread."""
    peek = getattr(binary, "peek", None)
    if peek is not None:
        return bytes(peek(4)[:4])
    head = binary.read(4)
    binary.seek(0)
    return head


# --------------------------------------------------------------------------- entry points


def _format_of(name: str) -> str | None:
    suffix = PurePath(name).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in ZIP_SUFFIXES:
        return "zip"
    return None


def _unsupported(name: str) -> str:
    suffix = PurePath(name).suffix
    what = f"'{suffix}'" if suffix else "without an extension"
    return f"unsupported file type {what}: use a .jsonl, .csv or .zip file"


def _failed(source: str, message: str, line: int | None = None,
            where: str = "") -> ImportResult:
    return ImportResult(items=[], errors=[LineError(line, message, where)], source=source)


def failed_result(source: str, message: str) -> ImportResult:
    """A whole file refused for one reason, reported as any refused file is."""
    return _failed(source, message)


def _is_items_file(name: str) -> bool:
    """Item files in a ZIP, skipping the ``__MACOSX/._x`` copies macOS adds."""
    path = PurePath(name)
    if "__MACOSX" in path.parts or path.name.startswith("."):
        return False
    return _format_of(name) in ("jsonl", "csv")


def _start_zip(checking: Checking, opened: IO[bytes]) -> Checking:
    """Check a ZIP's size and member count first (from its directory), then stream its
    one items file."""
    try:
        archive = zipfile.ZipFile(opened)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        opened.close()
        return checking._fail("not a valid ZIP file")
    checking._closers.append(opened.close)
    checking._closers.append(archive.close)
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        return checking._fail(f"the ZIP holds {len(infos)} files; the limit is "
                              f"{MAX_ZIP_MEMBERS} (split it into several imports)")
    total = sum(info.file_size for info in infos)
    if total > import_media.MAX_ZIP_BYTES:
        return checking._fail(f"the ZIP unpacks to {format_size(total)}; the limit is "
                              f"{format_size(import_media.MAX_ZIP_BYTES)} "
                              "(split it into several imports, "
                              "or unpack it and import the items file from its folder)")
    candidates = [(info, _member_names(info)[0]) for info in infos
                  if not info.is_dir() and _is_items_file(_member_names(info)[0])]
    if not candidates:
        return checking._fail("the ZIP holds no items file (.jsonl or .csv)")
    if len(candidates) > 1:
        names = [name for _, name in candidates]
        shown = _quoted(names[:5]) + (" …" if len(names) > 5 else "")
        return checking._fail(f"the ZIP holds {len(names)} items files ({shown}); put "
                              "exactly one in it")
    info, name = candidates[0]
    try:
        member = _open_member(archive, info)
    except _RefError as exc:
        return checking._fail(f"{name} {exc}")
    checking._closers.append(member.close)
    fmt = _format_of(name)
    assert fmt is not None
    media = _ZipMedia(archive, posixpath.dirname(name), inflated=info.file_size)
    return checking._start(member, fmt, media, where=name)


def open_bytes(spec: ProjectSpec, data: bytes, filename: str, *,
               ids: IdRegistry | None = None, keep_media: bool = False,
               progress: Callable[[int], None] | None = None) -> Checking:
    """Start checking a document sent in chat. Media paths only work inside a ZIP."""
    source = PurePath(filename.replace("\\", "/")).name or "upload"
    checking = Checking(spec, source, ids=ids, keep_media=keep_media, progress=progress)
    fmt = _format_of(source)
    if fmt is None:
        return checking._fail(_unsupported(source))
    if not data:
        return checking._fail("the file is empty")
    if len(data) > import_media.MAX_ZIP_BYTES:
        return checking._fail(f"the file is larger than {format_size(import_media.MAX_ZIP_BYTES)}")
    if fmt == "zip":
        return _start_zip(checking, io.BytesIO(data))
    return checking._start(io.BytesIO(data), fmt, _NoMedia())


def open_file(spec: ProjectSpec, path: str | Path, *, ids: IdRegistry | None = None,
              keep_media: bool = False,
              progress: Callable[[int], None] | None = None) -> Checking:
    """Start checking an items file on disk; media paths are relative to its folder.

    Raises ``UnreadableFile`` when the file cannot be opened at all; every problem with
    its content is in the result.
    """
    file = Path(path)
    source = file.name or str(file)
    try:
        if file.is_dir():
            raise UnreadableFile("{file} is a folder, not an items file", file=str(file))
        if not file.is_file():
            raise UnreadableFile("file not found: {file}", file=str(file))
        binary = file.open("rb")
    except OSError as exc:
        raise UnreadableFile("cannot read {file}: {why}", file=str(file),
                             why=exc.strerror or str(exc)) from None
    checking = Checking(spec, source, ids=ids, keep_media=keep_media, progress=progress)
    fmt = _format_of(source)
    if fmt is None:
        binary.close()
        return checking._fail(_unsupported(source))
    if fmt == "zip":
        return _start_zip(checking, binary)
    checking._closers.append(binary.close)
    return checking._start(binary, fmt, _FolderMedia(file.parent))


def _collect(checking: Checking) -> ImportResult:
    with checking:
        items: list[ItemRecord] = []
        while (batch := checking.next_batch()) is not None:
            items.extend(batch)
        return checking.result(items)


def read_items_bytes(spec: ProjectSpec, data: bytes, filename: str, *,
                     existing_ids: Collection[str] = (),
                     progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check a document sent in chat, keeping every item (small files: the bot itself
    streams, ``bot/loader.py``).

    ``progress(lines_done)`` is called every ``PROGRESS_EVERY`` lines and at the end,
    from the calling thread.
    """
    return _collect(open_bytes(spec, data, filename, ids=MemoryIds(existing_ids),
                               keep_media=True, progress=progress))


def read_items(spec: ProjectSpec, path: str | Path, *, existing_ids: Collection[str] = (),
               progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check an items file on disk, keeping every item (small files).

    Never raises for a bad file: every problem, including a missing file, is in
    ``errors``. ``existing_ids`` are the project's ids already stored (duplicates).
    """
    try:
        checking = open_file(spec, path, ids=MemoryIds(existing_ids), keep_media=True,
                             progress=progress)
    except UnreadableFile as exc:
        file = Path(path)
        return _failed(file.name or str(file), str(exc))
    return _collect(checking)


#: media kinds as the report names them: (kind, one, many)
_CONTENT = (("photo", N_("1 image"), N_("{count} images")),
            ("voice", N_("1 voice note"), N_("{count} voice notes")),
            ("audio", N_("1 audio file"), N_("{count} audio files")))
_TEXTS = (N_("1 text"), N_("{count} texts"))
_PROBLEMS = (N_("{file}: 1 problem, nothing was imported"),
             N_("{file}: {count} problems, nothing was imported"))
_MORE = (N_("… and 1 more problem"), N_("… and {count} more problems"))


def format_report(result: ImportResult, limit: int = 50, reader: Gettext | None = None
                  ) -> str:
    """The report of an import: what was imported, or every problem with its line.

    Without ``reader`` it is the command line's: English, languages as codes. In chat,
    ``reader`` is the operator's language and languages are named in it. The problems
    themselves stay English in both: they quote the file's own keys and values.
    """
    _ = reader or gettext_for("en")

    def plural(forms: tuple[str, str], count: int, **params: object) -> str:
        return _(forms[0] if count == 1 else forms[1], count=count, **params)

    if result.ok:
        summary = result.summary
        counts = summary.counts
        content = [plural(_TEXTS, summary.texts)] if summary.texts else []
        for kind, one, many in _CONTENT:
            number = summary.media.get(kind, 0)
            if number:
                content.append(plural((one, many), number))
        languages = languages_text(counts.by_language, reader)
        return "\n".join([
            _("{file} imported.", file=result.source),
            describe(counts, _),
            _("Content: {kinds}", kinds=_(", ").join(content)),
            _("By language: {languages} ({count} detected from the text)",
              languages=languages, count=summary.detected) if summary.detected
            else _("By language: {languages}", languages=languages)])
    lines = [plural(_PROBLEMS, result.problem_count, file=result.source)]
    listed = result.errors[:len(result.errors) - 1] if result.omitted else result.errors
    lines.extend(f"  {error}" for error in listed[:limit])
    hidden = result.problem_count - min(limit, len(listed))
    if hidden > 0:
        lines.append("  " + plural(_MORE, hidden))
    return "\n".join(lines)
