"""The importer's results and shared rules: item keys, limits, records, problems.

Split from ``bot.intake.importer`` so the format readers, the item checks and the driver share
one definition of an item, a problem and a limit without importing each other.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.errors import TapworkError
from bot.domain.inventory import ItemCounts, kind_of, tally
from bot.domain.project_spec import LANGUAGES, Localized
from bot.domain.wording import Phrase, Translate, english, render
from bot.i18n import N_
from bot.intake.media import PreparedMedia

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
#: names a person types or picks in a menu, kept out of the sentences so they are never
#: translated: the encoding, and Excel's name for the CSV it should be saved as
SAVE_AS = {"encoding": "UTF-8", "excel": "Excel", "choice": "CSV UTF-8"}
_NOT_UTF8_MESSAGE = N_("the file is not {encoding} text (the first wrong byte is on this "
                       "line); save it as {encoding} (in {excel}: '{choice}')")
_TOO_LONG = N_("this line is longer than {limit} characters, more than any item needs; "
               "is every item on a line of its own?")
_TOO_LONG_CSV = N_("this record is longer than {limit} characters, more than any item "
                   "needs; usually a closing \" is missing")

#: one problem's words before they are shown: a message id and its parameters, rendered
#: in the reader's language as a project file's problems are (``bot.domain.wording``)
Problem = Phrase


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
    items file inside a ZIP, so the operator knows which file the line number is in.
    ``template`` and ``params`` are kept apart so the command line shows it in English
    and chat and the dashboard in the operator's language (``render``)."""

    line: int | None
    template: str
    where: str = ""
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The problem in English, without its place."""
        return render(self.template, self.params)

    def render(self, _: Translate = english) -> str:
        """The whole line, place and problem, in ``_``'s language."""
        text = render(self.template, self.params, _)
        place = " ".join(part for part in (
            self.where, _(N_("line {line}"), line=self.line) if self.line else "") if part)
        return _(N_("{place}: {problem}"), place=place, problem=text) if place else text

    def __str__(self) -> str:
        return self.render()


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
        """Counted as ``/projects`` counts a project's items (``bot.domain.inventory``)."""
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
        self.held: list[tuple[int | None, Problem]] = []

    def add(self, line: int | None, message: str | Problem, **params: object) -> None:
        """``message`` is a template (marked with ``N_``) filled in from ``params``."""
        problem = message if isinstance(message, Problem) else Problem(message, params)
        self.held.append((line, problem))

    def flush(self) -> None:
        # stable: a line's own problems keep their order
        for line, problem in sorted(self.held, key=lambda held: held[0] or 0):
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(LineError(line, problem.template, self.where,
                                             problem.params))
            else:
                self.omitted += 1
        self.held = []

    @property
    def any(self) -> bool:
        return bool(self.errors or self.held)

    def finish(self) -> list[LineError]:
        self.flush()
        if self.omitted:
            more = (N_("… and 1 more problem") if self.omitted == 1
                    else N_("… and {count} more problems"))
            return [*self.errors, LineError(None, more, params={"count": self.omitted})]
        return list(self.errors)


def _quoted(names: Collection[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)
