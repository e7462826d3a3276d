"""Translations: gettext catalogs in ``locales/<lang>/LC_MESSAGES/tapwork.po``.

The English text is the message id, so code reads naturally and a missing translation
falls back to English rather than to a key. Catalogs are read with Babel straight from
the ``.po`` files: nothing to compile, so a fresh ``pip install`` always has them.
Placeholders use ``str.format`` names (``{count}``), checked against English by the tests.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from babel.messages.pofile import read_po

LANGUAGES = ("en", "ko", "zh")
DOMAIN = "tapwork"


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


def language_for(code: str | None) -> str:
    """Telegram's ``language_code`` (``ko``, ``zh-hans``, ``en-US``) to a supported one."""
    if not code:
        return "en"
    base = code.lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else "en"


@cache
def catalog(language: str) -> dict[str, str]:
    """msgid -> translation for one language (empty translations are left out)."""
    if language == "en":
        return {}
    path = resources.files("locales") / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as fh:
        po = read_po(fh, locale=language, domain=DOMAIN)
    return {str(m.id): str(m.string) for m in po if m.id and m.string and not m.fuzzy}


class Gettext:
    """A ``_`` bound to one language: ``_("Saved")``, ``_("{n} left", n=3)``.

    It also carries ``language`` so project texts (titles, label names) can be picked in
    the same language as the interface around them.
    """

    __slots__ = ("_table", "language")

    def __init__(self, language: str) -> None:
        self.language = language_for(language)
        self._table = catalog(self.language)

    def __call__(self, message: str, **params: object) -> str:
        text = self._table.get(message, message)
        return text.format(**params) if params else text


@cache
def gettext_for(language: str) -> Gettext:
    return Gettext(language)


@cache
def language_name(code: str, reader: str) -> str:
    """A language named in the reader's own words ("영어", "英语"), never a code inside a
    sentence; a code Babel does not know is shown as it is."""
    try:
        return Locale.parse(code).get_display_name(reader) or code
    except (ValueError, UnknownLocaleError):
        return code


def language_names(codes: tuple[str, ...], reader: str) -> str:
    """"English or Korean", "영어 또는 한국어": a list as the reader's language joins it."""
    return format_list([language_name(c, reader) for c in codes], style="or", locale=reader)


@cache
def autonym(code: str) -> str:
    """A language in its own words ("한국어", "中文"), as language pickers show them."""
    return language_name(code, code)
