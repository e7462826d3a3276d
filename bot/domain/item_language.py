"""An item's language: the code an operator gives, checked, or the one found in its text.

Precedence, decided once at import (``bot.intake.checks``): the item's own ``lang``, else the
project's ``language``, else, for a text, detection here. Detection chooses among English,
Korean and Chinese (``CANDIDATES``, the languages tapwork speaks); the project's
``language`` is no extra candidate, because a project that has one never detects. A project
in other languages sets ``language``, or gives ``lang`` per item.

The detector is lingua-language-detector in its default (high accuracy) mode, restricted
to the candidates and built once per process. ``python -m bench.languages`` measured it
beside py3langid (README, "Items"). On 376 short labelled texts lingua alone is right on
99.2 %, py3langid on 98.9 %, both on all 42 sample items. lingua's misses are Korean
sentences with as many English brand words as Korean ones, which the second rule below
fixes (100 %); py3langid's are Korean written in bare jamo ("ㅋㅋㅋ"), one-character Chinese
("棒") and an English sentence naming a Chinese dish, which the rules do not touch. lingua also
starts in about 40 ms and 5 MB where py3langid takes about a second and 120 MB to unpack its
model, and it says "none of these" (``None``) for a text in another script (Japanese kana,
Cyrillic) where py3langid guesses. Its price is the install: about 100 MB, the models of
75 languages compiled into one library. py3langid stays the alternative if that size
ever matters more (swap ``_detector``; the bench keeps both).

Two rules run before the detector, because of what a worker must be able to read:
- a text with no letters ("123 !!!", "👍👍") has no language: nothing to detect;
- brand and model names in Latin letters inside a Korean or Chinese sentence ("Apple Watch
  너무 좋아요", "iPhone 15 真的很好用") do not make it English. When runs of Hangul or Han
  letters are at least as many as runs of Latin letters, the Latin runs are left out
  before detecting; lingua alone called such ties English.

Detection runs inside the import's worker thread (``bot/intake/loader.py`` checks each batch
with ``asyncio.to_thread``), never on the event loop; about 15 µs a text with the rules.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import TYPE_CHECKING

from babel import Locale

from bot.domain.errors import TapworkError
from bot.domain.languages import normalize
from bot.i18n import N_

if TYPE_CHECKING:
    from lingua import LanguageDetector

#: the languages detection chooses among
CANDIDATES = ("en", "ko", "zh")

#: country codes people write for a language, and the language they mean
_COUNTRIES = {"cn": "zh", "jp": "ja", "hk": "zh", "gr": "el", "dk": "da", "ua": "uk",
              "vn": "vi"}
#: codes Babel knows that name no language a worker could read
_NOT_ONE_LANGUAGE = {"und", "mul", "zxx"}


class NotALanguage(TapworkError, ValueError):
    """A code that is a tag but names no language; translatable, so an import's report
    says why in the operator's language."""


def parse_code(value: str) -> str:
    """A BCP 47 tag as stored: its primary subtag (``zh-Hans`` -> ``zh``), which must name a
    language; ``ValueError`` says why not.

    ``kr`` on its own is refused: it is Kanuri, but almost always meant as Korea.
    """
    try:
        code = normalize(value)
    except ValueError:  # not a tag at all: said as the rest are, in the reader's language
        raise NotALanguage(N_("'{code}' is not a language code such as {en}, {ko} or {zh}"),
                           code=value.strip()[:20], en="en", ko="ko", zh="zh") from None
    if value.strip().lower() == "kr":
        raise NotALanguage(N_("'{code}' is Kanuri; Korean is '{korean}' (for Kanuri write "
                              "'{kanuri}')"), code="kr", korean="ko", kanuri="kr-NG")
    if code in _COUNTRIES:
        raise NotALanguage(N_("'{code}' is a country, not a language; did you mean "
                              "'{language}'?"), code=code, language=_COUNTRIES[code])
    if code in _NOT_ONE_LANGUAGE or code not in Locale("en").languages:
        raise NotALanguage(N_("'{code}' is not a language code such as {en}, {ko} or {zh}"),
                           code=code, en="en", ko="ko", zh="zh")
    return code


# --------------------------------------------------------------------------- detection

_LATIN, _HANGUL, _HAN, _OTHER = "latin", "hangul", "han", "other"


def _script(char: str) -> str | None:
    """The script of a letter that matters here; None for what is not a letter."""
    if not unicodedata.category(char).startswith("L"):
        return None
    code = ord(char)
    if code < 0x250 or 0x1E00 <= code <= 0x1EFF or 0xFF21 <= code <= 0xFF5A:
        return _LATIN
    if (0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F
            or 0xA960 <= code <= 0xA97F or 0xD7B0 <= code <= 0xD7FF):
        return _HANGUL
    if (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x3134F
            or 0xF900 <= code <= 0xFAFF):
        return _HAN
    return _OTHER


def reading_part(text: str) -> str | None:
    """The part of ``text`` whose language a reader needs; None when it has no letters.

    Runs of letters are counted by script (digits, spaces, punctuation and emoji end a
    run); Latin runs are dropped when Hangul and Han runs are at least as many.
    """
    runs: list[tuple[str, str]] = []  # (script, letters) in order
    for char in text:
        script = _script(char)
        if script is None:
            if runs and runs[-1][0] != "":
                runs.append(("", ""))
            continue
        if runs and runs[-1][0] == script:
            runs[-1] = (script, runs[-1][1] + char)
        else:
            runs.append((script, char))
    letters = [(script, chars) for script, chars in runs if script]
    if not letters:
        return None
    latin = sum(1 for script, _ in letters if script == _LATIN)
    cjk = sum(1 for script, _ in letters if script in (_HANGUL, _HAN))
    if latin and cjk >= latin:
        return " ".join(chars for script, chars in letters if script != _LATIN)
    return text


@cache
def _detector() -> LanguageDetector:
    """Built once per process, on first use (in the import's thread): about 20 ms.

    Models load lazily; lingua's model cache is shared and locked, so two imports in two
    threads may use the one detector.
    """
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
                 for code in CANDIDATES]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def detect(text: str) -> str | None:
    """The language of ``text`` among ``CANDIDATES``, or None when it cannot be told (no
    letters, or letters of none of them)."""
    part = reading_part(text)
    if part is None:
        return None
    found = _detector().detect_language_of(part)
    return found.iso_code_639_1.name.lower() if found is not None else None
