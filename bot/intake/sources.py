"""Where an items file's media comes from: nothing, a folder on disk, or the ZIP it came in.

Split from ``bot.intake.importer`` so the path rules (relative, never outside the items file's
folder or the ZIP) and the ZIP's unpacking limits can be read in one place. Nothing here
knows the item format.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import IO, Any

from bot.domain.errors import TapworkError
from bot.i18n import N_
from bot.intake.media import MAX_MEDIA_BYTES, format_size

#: a ZIP may unpack to at most this much (items file and media together, counted from its
#: directory and again as members are inflated)
MAX_ZIP_BYTES = 200 * 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")

# --------------------------------------------------------------------------- media paths


class _RefError(TapworkError):
    """A media path that cannot be used; the message completes "image 'x.png' ..."."""


def _clean_ref(ref: str) -> str:
    """A relative POSIX path, or ``_RefError``; Windows users may type backslashes."""
    if "://" in ref:
        raise _RefError(N_("is a web address; put the file in the ZIP (or next to the "
                           "items file) and give its path"))
    cleaned = ref.strip().replace("\\", "/")
    if cleaned.startswith("/") or _DRIVE.match(cleaned):
        raise _RefError(N_("must be a path relative to the items file, not an absolute "
                           "path"))
    return cleaned


def _nfc(name: str) -> str:
    """macOS stores Hangul file names decomposed (NFD); compare names composed."""
    return unicodedata.normalize("NFC", name)


class _Media:
    """Where an item's media paths are looked up: ``locate`` names the file (cheaply, so
    the same file named twice is found in the cache), ``read`` reads it."""

    def locate(self, ref: str) -> Hashable:
        raise NotImplementedError

    def read(self, key: Any) -> bytes:
        raise NotImplementedError


class _NoMedia(_Media):
    """A single items file sent in chat has no folder around it."""

    def locate(self, ref: str) -> Hashable:
        raise _RefError(N_("cannot be found: to import media, send a ZIP holding the "
                           "items file and the media files"))


class _FolderMedia(_Media):
    """Media next to an items file on disk, never outside its folder."""

    def __init__(self, base: Path) -> None:
        self.base = base.resolve()

    def locate(self, ref: str) -> Hashable:
        relative = _clean_ref(ref)
        candidates = [self.base / relative]
        candidates += [self.base / unicodedata.normalize(form, relative)
                       for form in ("NFC", "NFD")]
        for candidate in candidates:
            target = candidate.resolve()
            if not target.is_relative_to(self.base):
                raise _RefError(N_("is outside the items file's folder; media must be in "
                                   "that folder or below it"))
            if target.is_file():
                return target
        if candidates[0].resolve().is_dir():
            raise _RefError(N_("is a folder, not a file"))
        raise _RefError(N_("not found (looked in {folder})"), folder=str(self.base))

    def read(self, key: Any) -> bytes:
        path: Path = key
        try:
            if path.stat().st_size > MAX_MEDIA_BYTES:
                raise _RefError(N_("is larger than {size}"),
                                size=format_size(MAX_MEDIA_BYTES))
            return path.read_bytes()
        except OSError as exc:
            raise _RefError(N_("cannot be read ({why})"),
                            why=exc.strerror or str(exc)) from None


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


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    try:
        return archive.open(info)
    except RuntimeError:
        raise _RefError(N_("is encrypted; use a ZIP without a password")) from None
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise _RefError(N_("cannot be read from the ZIP ({why})"), why=str(exc)) from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, read no further than ``limit`` whatever its header claims."""
    handle = _open_member(archive, info)
    try:
        with handle:
            data = handle.read(limit + 1)
    except RuntimeError:
        raise _RefError(N_("is encrypted; use a ZIP without a password")) from None
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, ValueError,
            zlib.error) as exc:
        raise _RefError(N_("cannot be read from the ZIP ({why})"), why=str(exc)) from None
    if len(data) > limit:
        raise _RefError(N_("is larger than {size}"), size=format_size(limit))
    return data


class _ZipMedia(_Media):
    """Media inside the ZIP, relative to the items file's folder or to the ZIP root.
    Inflated bytes are counted, and never pass ``MAX_ZIP_BYTES`` in all."""

    def __init__(self, archive: zipfile.ZipFile, item_dir: str, inflated: int) -> None:
        self.archive = archive
        self.item_dir = item_dir
        self.inflated = inflated
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.folded: dict[str, str] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            for name in _member_names(info):
                self.members.setdefault(_nfc(name), info)
                self.folded.setdefault(_nfc(name).casefold(), name)

    def locate(self, ref: str) -> Hashable:
        relative = _clean_ref(ref)
        candidates = [posixpath.normpath(posixpath.join(self.item_dir, relative))]
        if self.item_dir:
            candidates.append(posixpath.normpath(relative))
        inside = [name for name in candidates if name != ".." and not name.startswith("../")]
        if not inside:
            raise _RefError(N_("is outside the ZIP; give a path inside it"))
        for name in inside:
            info = self.members.get(_nfc(name))
            if info is not None:
                return info
        for name in inside:
            near = self.folded.get(_nfc(name).casefold())
            if near is not None:
                raise _RefError(N_("not found in the ZIP (names are case-sensitive: did "
                                   "you mean '{near}'?)"), near=near)
        raise _RefError(N_("not found in the ZIP"))

    def read(self, key: Any) -> bytes:
        info: zipfile.ZipInfo = key
        data = _read_member(self.archive, info, MAX_MEDIA_BYTES)
        self.inflated += len(data)
        if self.inflated > MAX_ZIP_BYTES:
            raise _RefError(N_("cannot be unpacked: the ZIP would unpack to more than "
                               "{size}"), size=format_size(MAX_ZIP_BYTES))
        return data


class _Lru(OrderedDict[Hashable, Any]):
    """At most ``capacity`` entries; the least recently used one goes first."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def find(self, key: Hashable) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key: Hashable, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)
