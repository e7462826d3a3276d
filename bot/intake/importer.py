"""Read an operator's items file (JSONL, CSV, or a ZIP with one of them plus media).

Import is all-or-nothing: a file with one bad line is refused as a whole, and the
operator gets every problem at once, each with its line number, so one round of fixes
is enough. Nothing here writes anything.

Files are read as a stream, one line at a time, and checked in batches
(``Checking.next_batch``): memory is bounded by a batch (``BATCH_LINES`` lines,
``BATCH_BYTES`` of text and new media), never by the file, so a million-line file costs
what two thousand lines cost. Whoever drives the batches decides what to keep:
``read_items`` keeps every item (for tests and small files), ``bot/intake/loader.py`` writes each
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

Every item leaves with a language (``bot.domain.item_language``): its ``lang``, else the
project's ``language``, else for a text the one detected from it, else '' (no reading
needed: a picture; or a text with no letters). A recording cannot be detected, so audio
with neither ``lang`` nor a project language is refused on its line. Detection runs here,
in the thread the import already runs in, so a big file never stalls the bot.

This module never imports ``telegram`` and does no SQL.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path, PurePath
from typing import IO

from bot.domain.inventory import describe, languages_text
from bot.domain.project_spec import ProjectSpec
from bot.i18n import N_, Gettext, gettext_for
from bot.intake import records, sources
from bot.intake.checks import _Checked, _Checker
from bot.intake.formats import _csv_records, _CsvHeader, _jsonl_records, _Lines, _NotUtf8, _Record
from bot.intake.media import format_size
from bot.intake.records import (
    _NOT_UTF8_MESSAGE,
    BATCH_BYTES,
    BATCH_LINES,
    CSV_SUFFIXES,
    JSONL_SUFFIXES,
    PROGRESS_EVERY,
    SAVE_AS,
    ZIP_SUFFIXES,
    IdRegistry,
    ImportResult,
    ImportSummary,
    ItemRecord,
    LineError,
    MemoryIds,
    Problem,
    UnreadableFile,
    _Problems,
    _quoted,
)
from bot.intake.sources import (
    _FolderMedia,
    _Media,
    _member_names,
    _NoMedia,
    _open_member,
    _RefError,
    _ZipMedia,
)

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

    def _fail(self, message: str, line: int | None = None, where: str = "",
              params: Mapping[str, object] | None = None) -> Checking:
        self._failure = LineError(line, message, where, params or {})
        self._done = True
        return self

    def _start(self, binary: IO[bytes], fmt: str, media: _Media, where: str = "") -> Checking:
        """Begin reading ``binary`` (closed with this object), after a look at its first
        bytes: a UTF-16 or a ZIP file is refused before a line is read."""
        head = _peek(binary)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return self._fail(N_("the file is {found} text; save it as {encoding} (in "
                                 "{excel}: '{choice}')"), where=where,
                              params={**SAVE_AS, "found": "UTF-16"})
        if head.startswith(b"PK\x03\x04"):
            return self._fail(N_("this is a ZIP or an {excel} workbook, not a text file; save "
                                 "the sheet as '{choice}', or name a ZIP {zip}"), where=where,
                              params={**SAVE_AS, "zip": ".zip"})
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
                self.problems.add(self._lines.number, _NOT_UTF8_MESSAGE, **SAVE_AS)
                self._done = True
                break
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                self.problems.add(None, N_("the file cannot be read to its end ({why})"),
                                  why=str(exc))
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
                problem = Problem(_DUPLICATE, {"id": ext_id, "first": first})
            elif ext_id is not None and ext_id in clashes:
                first_line = clashes[ext_id]
                problem = (Problem(N_("id '{id}' is already in this project"), {"id": ext_id})
                           if first_line is None
                           else Problem(_DUPLICATE, {"id": ext_id, "first": first_line}))
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
            return _failed(self.source, N_("the file is empty"), None, self.problems.where)
        if self.count == 0 and not self.problems.any:
            self.problems.add(None, N_("the file has a header but no items") if self._csv_mode
                              else N_("the file has no items"))
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


def _unsupported(checking: Checking, name: str) -> Checking:
    suffix = PurePath(name).suffix
    choices = {"jsonl": ".jsonl", "csv": ".csv", "zip": ".zip"}
    if suffix:
        return checking._fail(N_("unsupported file type '{suffix}': use a {jsonl}, {csv} or "
                                 "{zip} file"), params={"suffix": suffix, **choices})
    return checking._fail(N_("unsupported file type without an extension: use a {jsonl}, "
                             "{csv} or {zip} file"), params=choices)


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
        return checking._fail(N_("not a valid ZIP file"))
    checking._closers.append(opened.close)
    checking._closers.append(archive.close)
    infos = archive.infolist()
    if len(infos) > records.MAX_ZIP_MEMBERS:
        return checking._fail(N_("the ZIP holds {count} files; the limit is {limit} (split "
                                 "it into several imports)"),
                              params={"count": len(infos), "limit": records.MAX_ZIP_MEMBERS})
    total = sum(info.file_size for info in infos)
    if total > sources.MAX_ZIP_BYTES:
        return checking._fail(N_("the ZIP unpacks to {size}; the limit is {limit} (split it "
                                 "into several imports, or unpack it and import the items "
                                 "file from its folder)"),
                              params={"size": format_size(total),
                                      "limit": format_size(sources.MAX_ZIP_BYTES)})
    candidates = [(info, _member_names(info)[0]) for info in infos
                  if not info.is_dir() and _is_items_file(_member_names(info)[0])]
    if not candidates:
        return checking._fail(N_("the ZIP holds no items file ({jsonl} or {csv})"),
                              params={"jsonl": ".jsonl", "csv": ".csv"})
    if len(candidates) > 1:
        names = [name for _, name in candidates]
        shown = _quoted(names[:5]) + (" …" if len(names) > 5 else "")
        return checking._fail(N_("the ZIP holds {count} items files ({names}); put "
                                 "exactly one in it"),
                              params={"count": len(names), "names": shown})
    info, name = candidates[0]
    try:
        member = _open_member(archive, info)
    except _RefError as exc:
        return checking._fail(N_("{name} {why}"), params={"name": name, "why": exc})
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
        return _unsupported(checking, source)
    if not data:
        return checking._fail(N_("the file is empty"))
    if len(data) > sources.MAX_ZIP_BYTES:
        return checking._fail(N_("the file is larger than {size}"),
                              params={"size": format_size(sources.MAX_ZIP_BYTES)})
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
        return _unsupported(checking, source)
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
    streams, ``bot/intake/loader.py``).

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
_DUPLICATE = N_("duplicate id '{id}' (first used on line {first})")
_MORE = (N_("… and 1 more problem"), N_("… and {count} more problems"))


def format_report(result: ImportResult, limit: int = 50, reader: Gettext | None = None
                  ) -> str:
    """The report of an import: what was imported, or every problem with its line.

    Without ``reader`` it is the command line's: English, languages as codes. In chat,
    ``reader`` is the operator's language and languages are named in it. The problems are
    in the reader's language too; the file's own keys, names and values in them stay as
    the file has them.
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
    lines.extend(f"  {error.render(_)}" for error in listed[:limit])
    hidden = result.problem_count - min(limit, len(listed))
    if hidden > 0:
        lines.append("  " + plural(_MORE, hidden))
    return "\n".join(lines)
