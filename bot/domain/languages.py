"""Languages of items and of the people who read them.

An item's language and the languages a worker reads are kept as BCP 47 *primary* subtags
(``zh-Hans-CN`` reads as ``zh``): what decides whether someone can read a text is the
language, not the script or region, and one short code per item keeps the serving index
an equality lookup. ``''`` means an item needs no reading (a picture without a caption).
"""

from __future__ import annotations

import re

#: language tags as people and files write them: ``en``, ``zh-Hans``, ``pt_BR``
_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")


def normalize(tag: str) -> str:
    """``"zh-Hans"`` -> ``"zh"``; raises ``ValueError`` for anything that is not a tag."""
    tag = tag.strip()
    if not _TAG.match(tag):
        raise ValueError(f"{tag[:20]!r} is not a language code such as en, ko or zh")
    return re.split(r"[-_]", tag, maxsplit=1)[0].lower()


def pack(languages: tuple[str, ...] | list[str] | set[str]) -> str:
    """The stored form of a set of languages: sorted, comma-separated."""
    return ",".join(sorted(set(languages)))


def unpack(stored: str) -> tuple[str, ...]:
    return tuple(filter(None, stored.split(",")))


def phone_reads(language_code: str | None) -> str:
    """The language a new worker surely reads: their phone's (English when unknown)."""
    try:
        return normalize(language_code or "en")
    except ValueError:
        return "en"


def serving(reads: tuple[str, ...], project_languages: tuple[str, ...]) -> tuple[str, ...]:
    """The item languages a reader of ``reads`` is served in a project, '' (nothing to
    read) always among them: one index look-up each."""
    return (*(lang for lang in project_languages if lang in reads), "")
