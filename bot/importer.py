"""Read an operator's items file (JSONL, CSV, or a ZIP with one of them plus media).

Import is all-or-nothing: a file with one bad line is refused as a whole, and the
operator gets every problem at once, each with its line number, so one round of fixes
is enough. Nothing here writes anything: the result is a list of ``ItemRecord`` values
(empty when there are errors) that storage writes in one transaction.

Media is prepared here, once per distinct file, so sending a task later never decodes
an image. Paths in the items file are relative (to the items file's folder, or inside
the ZIP) and may never reach outside it: an uploaded file must not read the server's
disk. Limits on sizes and counts keep a hostile ZIP or image from exhausting memory.

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
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from bot.i18n import N_, Gettext, gettext_for
from bot.inventory import ItemCounts, describe, kind_of, languages_text, tally
from bot.item_language import detect, parse_code
from bot.media import (
    MAX_MEDIA_BYTES,
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
MAX_ID = 200
#: problems listed in full; the rest are only counted
MAX_ERRORS = 200
#: a ZIP (or items file) may unpack to at most this much, and hold at most so many files
MAX_ZIP_BYTES = 200 * 1024 * 1024
MAX_ZIP_MEMBERS = 20_000
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
_DRIVE = re.compile(r"^[A-Za-z]:")


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
class ImportResult:
    """What an import found. ``items`` is empty whenever there are errors, so a caller
    cannot write half a file by mistake; ``count`` still says how many items were read."""

    items: list[ItemRecord]
    errors: list[LineError]
    source: str
    count: int = 0
    omitted: int = 0  # problems beyond MAX_ERRORS, summed up in the last entry of errors

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def problem_count(self) -> int:
        """Every problem found, including the ones only counted."""
        return len(self.errors) - (1 if self.omitted else 0) + self.omitted


class _Problems:
    """Collects problems, listing the first ``MAX_ERRORS`` and counting the rest."""

    def __init__(self, where: str = "") -> None:
        self.where = where
        self.errors: list[LineError] = []
        self.omitted = 0

    def add(self, line: int | None, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(LineError(line, message, self.where))
        else:
            self.omitted += 1

    def finish(self) -> list[LineError]:
        if self.omitted:
            noun = "problem" if self.omitted == 1 else "problems"
            return [*self.errors, LineError(None, f"… and {self.omitted} more {noun}")]
        return list(self.errors)


def _quoted(names: Collection[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


# --------------------------------------------------------------------------- media paths


class _RefError(Exception):
    """A media path that cannot be used; the message completes "image 'x.png' ..."."""


def _clean_ref(ref: str) -> str:
    """A relative POSIX path, or ``_RefError``; Windows users may type backslashes."""
    if "://" in ref:
        raise _RefError("is a web address; put the file in the ZIP (or next to the items "
                        "file) and give its path")
    cleaned = ref.strip().replace("\\", "/")
    if cleaned.startswith("/") or _DRIVE.match(cleaned):
        raise _RefError("must be a path relative to the items file, not an absolute path")
    return cleaned


def _nfc(name: str) -> str:
    """macOS stores Hangul file names decomposed (NFD); compare names composed."""
    return unicodedata.normalize("NFC", name)


class _Media:
    """Where an item's media paths are looked up."""

    def fetch(self, ref: str) -> bytes:
        raise NotImplementedError


class _NoMedia(_Media):
    """A single items file sent in chat has no folder around it."""

    def fetch(self, ref: str) -> bytes:
        raise _RefError("cannot be found: to import media, send a ZIP holding the items "
                        "file and the media files")


class _FolderMedia(_Media):
    """Media next to an items file on disk, never outside its folder."""

    def __init__(self, base: Path) -> None:
        self.base = base.resolve()

    def fetch(self, ref: str) -> bytes:
        relative = _clean_ref(ref)
        candidates = [self.base / relative]
        candidates += [self.base / unicodedata.normalize(form, relative)
                       for form in ("NFC", "NFD")]
        found: Path | None = None
        for candidate in candidates:
            target = candidate.resolve()
            if not target.is_relative_to(self.base):
                raise _RefError("is outside the items file's folder; media must be in "
                                "that folder or below it")
            if target.is_file():
                found = target
                break
        if found is None:
            if candidates[0].resolve().is_dir():
                raise _RefError("is a folder, not a file")
            raise _RefError(f"not found (looked in {self.base})")
        try:
            if found.stat().st_size > MAX_MEDIA_BYTES:
                raise _RefError(f"is larger than {format_size(MAX_MEDIA_BYTES)}")
            return found.read_bytes()
        except OSError as exc:
            raise _RefError(f"cannot be read ({exc.strerror or exc})") from None


def _member_names(info: zipfile.ZipInfo) -> list[str]:
    """Names a ZIP member may be meant by, best first.

    Without the UTF-8 flag Python decodes names as CP437, but macOS writes UTF-8 and
    Korean/Chinese Windows write CP949/GBK without saying so.
    """
    if info.flag_bits & 0x800:
        return [info.filename]
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return [info.filename]
    names: list[str] = []
    for encoding in ("utf-8", "cp949", "gb18030"):
        try:
            decoded = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if decoded not in names:
            names.append(decoded)
    if info.filename not in names:
        names.append(info.filename)
    return names


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, read no further than ``limit`` whatever its header claims."""
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
    except RuntimeError:
        raise _RefError("is encrypted; use a ZIP without a password") from None
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise _RefError(f"cannot be read from the ZIP ({exc})") from None
    if len(data) > limit:
        raise _RefError(f"is larger than {format_size(limit)}")
    return data


class _ZipMedia(_Media):
    """Media inside the ZIP, relative to the items file's folder or to the ZIP root."""

    def __init__(self, archive: zipfile.ZipFile, item_dir: str) -> None:
        self.archive = archive
        self.item_dir = item_dir
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.folded: dict[str, str] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            for name in _member_names(info):
                self.members.setdefault(_nfc(name), info)
                self.folded.setdefault(_nfc(name).casefold(), name)

    def fetch(self, ref: str) -> bytes:
        relative = _clean_ref(ref)
        candidates = [posixpath.normpath(posixpath.join(self.item_dir, relative))]
        if self.item_dir:
            candidates.append(posixpath.normpath(relative))
        inside = [name for name in candidates if name != ".." and not name.startswith("../")]
        if not inside:
            raise _RefError("is outside the ZIP; give a path inside it")
        for name in inside:
            info = self.members.get(_nfc(name))
            if info is not None:
                return _read_member(self.archive, info, MAX_MEDIA_BYTES)
        for name in inside:
            near = self.folded.get(_nfc(name).casefold())
            if near is not None:
                raise _RefError(f"not found in the ZIP (names are case-sensitive: did you "
                                f"mean '{near}'?)")
        raise _RefError("not found in the ZIP")


# --------------------------------------------------------------------------- reading text


def _decode(data: bytes) -> tuple[str | None, int | None, str]:
    """The file as text, or ``(None, line, why)``. UTF-8 only; a BOM is fine."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, None, ("the file is UTF-16 text; save it as UTF-8 (in Excel: "
                            "'CSV UTF-8')")
    if data.startswith(b"PK\x03\x04"):
        return None, None, ("this is a ZIP or an Excel workbook, not a text file; save "
                            "the sheet as 'CSV UTF-8', or name a ZIP .zip")
    try:
        return data.decode("utf-8-sig"), None, ""
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, line, ("the file is not UTF-8 text (the first wrong byte is on this "
                            "line); save it as UTF-8 (in Excel: 'CSV UTF-8')")


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
            json.loads(stripped[:-1])
        except (ValueError, RecursionError):
            pass
        else:
            return "remove the comma at the end of the line (JSON Lines has no commas " \
                   "between lines)"
    return f"not valid JSON ({exc.msg} at column {exc.colno})"


_Record = tuple[int, dict[str, Any] | None]


def _jsonl_records(text: str, problems: _Problems) -> Iterator[_Record]:
    """``(line, object)`` per non-blank line; ``None`` for a line already reported.

    Lines are split on ``\\n`` only: JSON strings may hold U+2028 and friends, which
    ``str.splitlines`` would also split on, putting line numbers off.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, object_pairs_hook=_no_duplicates)
        except _DuplicateKey as exc:
            problems.add(number, f"key '{exc.key}' appears twice")
            yield number, None
            continue
        except json.JSONDecodeError as exc:
            problems.add(number, _json_problem(line, exc))
            yield number, None
            continue
        except RecursionError:
            problems.add(number, "not valid JSON (nested too deeply)")
            yield number, None
            continue
        if isinstance(value, list):
            problems.add(number, "this looks like a JSON array; JSON Lines has one object "
                                 "per line, with no [ ] around them")
            value = None
        elif not isinstance(value, dict):
            problems.add(number, 'each line must be a JSON object such as '
                                 '{"id": "1", "text": "..."}')
            value = None
        yield number, value


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


def _csv_records(text: str, problems: _Problems,
                 on_header: Callable[[_CsvHeader], None]) -> Iterator[_Record]:
    """``(line, row)`` per record, ``line`` being the physical line where it starts.

    Quoted values may span lines, so the reader's own count is used, not the row
    number; the header is line 1. Strict mode turns stray quotes into reported errors
    instead of silently merged values.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True,
                        delimiter=_delimiter(text.split("\n", 1)[0]))
    header: _CsvHeader | None = None
    done = 0
    while True:
        start = done + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            done = reader.line_num
            problems.add(start, _csv_problem(exc, start))
            yield start, None
            continue
        done = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = _CsvHeader(row, start, problems)
            if not header.usable:
                return
            on_header(header)
            continue
        yield start, header.record(row, start, problems)


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
    if not isinstance(value, str):
        raise _Invalid(f"{key} must be text in double quotes")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid(f"{key} contains an invalid character (a lone \\u escape)") from None
    cleaned = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return cleaned or None


class _Checker:
    """Checks records one by one, remembering ids and prepared media across the file."""

    def __init__(self, spec: ProjectSpec, media: _Media, existing_ids: Collection[str],
                 problems: _Problems, *, csv_mode: bool) -> None:
        self.spec = spec
        self.media = media
        # lists are turned into a set once; sets and dict views are used as they are
        self.existing = existing_ids if isinstance(existing_ids, AbstractSet) \
            else set(existing_ids)
        self.problems = problems
        self.csv_mode = csv_mode
        self.first_line: dict[str, int] = {}
        self.cache: dict[tuple[str, str], PreparedMedia | str] = {}
        self.items: list[ItemRecord] = []
        self.id_column = True

    def check(self, line: int, raw: dict[str, Any]) -> None:
        """Report every problem on the line; keep the item if there are none."""
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
        ext_id = attempt(lambda: self._id(raw.get("id"), line))
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
        for message in found:
            self.problems.add(line, message)
        if found or ext_id is None:
            return
        detected = False
        if lang is None:
            lang = language
        if lang is None and text is not None:
            # only here, once the line is valid, and in the import's thread (see module doc)
            lang = detect(text)
            detected = lang is not None
        self.items.append(ItemRecord(ext_id=ext_id, line=line, text=text, media=media,
                                     gold=gold, quiz=bool(quiz), explain=explain,
                                     prelabel=prelabel, lang=lang or "", detected=detected))

    def _id(self, value: Any, line: int) -> str | None:
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, str | int)):
            raise _Invalid("id must be text or a whole number")
        ext_id = _string(value, "id", numbers=True)
        if ext_id is None:
            if self.id_column:
                raise _Invalid("missing id")
            return None
        if len(ext_id) > MAX_ID:
            raise _Invalid(f"id is longer than {MAX_ID} characters")
        if ext_id in self.first_line:
            raise _Invalid(f"duplicate id '{ext_id}' (first used on line "
                           f"{self.first_line[ext_id]})")
        self.first_line[ext_id] = line
        if ext_id in self.existing:
            raise _Invalid(f"id '{ext_id}' is already in this project")
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
        try:
            data = self.media.fetch(ref)
        except _RefError as exc:
            raise _Invalid(f"{kind} '{ref}' {exc}") from None
        key = (kind, hashlib.sha256(data).hexdigest())
        if key not in self.cache:
            name = PurePath(ref.replace("\\", "/")).name
            try:
                prepared: PreparedMedia | str = (prepare_image(data, name) if kind == "image"
                                                 else prepare_audio(data, name))
            except MediaError as exc:
                prepared = str(exc)
            self.cache[key] = prepared
        result = self.cache[key]
        if isinstance(result, str):
            raise _Invalid(f"{kind} '{ref}': {result}")
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
        raise _Invalid(f"unknown label '{answer}' in {key} (allowed: {', '.join(values)})")

    def _lang(self, value: Any) -> str | None:
        """The item's own language: any BCP 47 tag, kept as its primary subtag."""
        if value is not None and not isinstance(value, str):
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


def _read_text(spec: ProjectSpec, data: bytes, fmt: str, *, source: str, where: str,
               media: _Media, existing_ids: Collection[str],
               progress: Callable[[int], None] | None) -> ImportResult:
    """Check a JSONL or CSV items file; ``where`` names it inside a ZIP."""
    text, bad_line, why = _decode(data)
    if text is None:
        return _failed(source, why, bad_line, where)
    if not text.strip():
        return _failed(source, "the file is empty", None, where)
    problems = _Problems(where)
    csv_mode = fmt == "csv"
    checker = _Checker(spec, media, existing_ids, problems, csv_mode=csv_mode)
    stream: Iterator[_Record]
    if csv_mode:
        def on_header(header: _CsvHeader) -> None:
            # a missing id column is reported once, on the header, not on every line
            checker.id_column = header.has_id

        stream = _csv_records(text, problems, on_header)
    else:
        stream = _jsonl_records(text, problems)
    count = 0
    for line, record in stream:
        count += 1
        if record is not None:
            checker.check(line, record)
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    if progress is not None and count % PROGRESS_EVERY:
        progress(count)
    if count == 0 and not problems.errors:
        problems.add(None, "the file has a header but no items" if csv_mode
                     else "the file has no items")
    errors = problems.finish()
    return ImportResult(items=[] if errors else checker.items, errors=errors, source=source,
                        count=count, omitted=problems.omitted)


def _is_items_file(name: str) -> bool:
    """Item files in a ZIP, skipping the ``__MACOSX/._x`` copies macOS adds."""
    path = PurePath(name)
    if "__MACOSX" in path.parts or path.name.startswith("."):
        return False
    return _format_of(name) in ("jsonl", "csv")


def _read_zip(spec: ProjectSpec, data: bytes, *, source: str,
              existing_ids: Collection[str],
              progress: Callable[[int], None] | None) -> ImportResult:
    """Check a ZIP: its size and member count first, then its one items file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        return _failed(source, "not a valid ZIP file")
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            return _failed(source, f"the ZIP holds {len(infos)} files; the limit is "
                                   f"{MAX_ZIP_MEMBERS} (split it into several imports)")
        total = sum(info.file_size for info in infos)
        if total > MAX_ZIP_BYTES:
            return _failed(source, f"the ZIP unpacks to {format_size(total)}; the limit is "
                                   f"{format_size(MAX_ZIP_BYTES)} (split it into several "
                                   "imports)")
        candidates = [(info, _member_names(info)[0]) for info in infos
                      if not info.is_dir() and _is_items_file(_member_names(info)[0])]
        if not candidates:
            return _failed(source, "the ZIP holds no items file (.jsonl or .csv)")
        if len(candidates) > 1:
            names = [name for _, name in candidates]
            shown = _quoted(names[:5]) + (" …" if len(names) > 5 else "")
            return _failed(source, f"the ZIP holds {len(names)} items files ({shown}); "
                                   "put exactly one in it")
        info, name = candidates[0]
        try:
            items_data = _read_member(archive, info, MAX_ZIP_BYTES)
        except _RefError as exc:
            return _failed(source, f"{name} {exc}")
        fmt = _format_of(name)
        assert fmt is not None
        return _read_text(spec, items_data, fmt, source=source, where=name,
                          media=_ZipMedia(archive, posixpath.dirname(name)),
                          existing_ids=existing_ids, progress=progress)


def read_items_bytes(spec: ProjectSpec, data: bytes, filename: str, *,
                     existing_ids: Collection[str] = (),
                     progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check a document sent in chat. Media paths only work inside a ZIP.

    ``progress(lines_done)`` is called every ``PROGRESS_EVERY`` lines and at the end,
    from the calling thread (run this in a worker thread for big files).
    """
    source = PurePath(filename.replace("\\", "/")).name or "upload"
    fmt = _format_of(source)
    if fmt is None:
        return _failed(source, _unsupported(source))
    if not data:
        return _failed(source, "the file is empty")
    if len(data) > MAX_ZIP_BYTES:
        return _failed(source, f"the file is larger than {format_size(MAX_ZIP_BYTES)}")
    if fmt == "zip":
        return _read_zip(spec, data, source=source, existing_ids=existing_ids,
                         progress=progress)
    return _read_text(spec, data, fmt, source=source, where="", media=_NoMedia(),
                      existing_ids=existing_ids, progress=progress)


def read_items(spec: ProjectSpec, path: str | Path, *, existing_ids: Collection[str] = (),
               progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check an items file on disk; media paths are relative to its folder.

    Never raises for a bad file: every problem, including a missing file, is in
    ``errors``. ``existing_ids`` are the project's ids already stored (duplicates).
    """
    file = Path(path)
    source = file.name or str(file)
    fmt = _format_of(source)
    if fmt is None:
        return _failed(source, _unsupported(source))
    try:
        if not file.is_file():
            return _failed(source, f"file not found: {file}")
        if file.stat().st_size > MAX_ZIP_BYTES:
            return _failed(source, f"the file is larger than {format_size(MAX_ZIP_BYTES)}")
        data = file.read_bytes()
    except OSError as exc:
        return _failed(source, f"cannot read the file ({exc.strerror or exc})")
    if not data:
        return _failed(source, "the file is empty")
    if fmt == "zip":
        return _read_zip(spec, data, source=source, existing_ids=existing_ids,
                         progress=progress)
    return _read_text(spec, data, fmt, source=source, where="",
                      media=_FolderMedia(file.parent), existing_ids=existing_ids,
                      progress=progress)


def counts_of(records: Collection[ItemRecord]) -> ItemCounts:
    """The imported items counted as ``/projects`` counts a project's (``bot.inventory``)."""
    rows: dict[tuple[str, str], int] = {}
    for record in records:
        key = (kind_of(record.quiz, record.gold is not None), record.lang)
        rows[key] = rows.get(key, 0) + 1
    return tally((kind, lang, count) for (kind, lang), count in rows.items())


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
        items = result.items
        counts = counts_of(items)
        texts = sum(1 for item in items if item.text is not None)
        content = [plural(_TEXTS, texts)] if texts else []
        for kind, one, many in _CONTENT:
            number = sum(1 for item in items if item.media and item.media.kind == kind)
            if number:
                content.append(plural((one, many), number))
        languages = languages_text(counts.by_language, reader)
        detected = sum(1 for item in items if item.detected)
        return "\n".join([
            _("{file} imported.", file=result.source),
            describe(counts, _),
            _("Content: {kinds}", kinds=_(", ").join(content)),
            _("By language: {languages} ({count} detected from the text)",
              languages=languages, count=detected) if detected
            else _("By language: {languages}", languages=languages)])
    lines = [plural(_PROBLEMS, result.problem_count, file=result.source)]
    listed = result.errors[:len(result.errors) - 1] if result.omitted else result.errors
    lines.extend(f"  {error}" for error in listed[:limit])
    hidden = result.problem_count - min(limit, len(listed))
    if hidden > 0:
        lines.append("  " + plural(_MORE, hidden))
    return "\n".join(lines)
