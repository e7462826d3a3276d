"""Project definitions: the TOML an operator writes, validated into a frozen ``ProjectSpec``.

The spec is stored as the validated TOML document (as JSON) and parsed again on load, so a
project always means exactly what its file said, and new keys added by later versions
get their defaults.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ProjectError
from bot.money import is_currency, parse_amount

KINDS = ("sentiment", "classification", "transcription")
LANGUAGES = ("en", "ko", "zh")
SENTIMENT_LABELS = ("positive", "neutral", "negative")
#: deep-link ``start`` parameters allow A-Z, a-z, 0-9, _ and - up to 64 characters
_SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEYS = {"name", "kind", "title", "instructions", "labels", "reward", "currency", "overlap",
         "lease_minutes"}


@dataclass(frozen=True)
class Localized:
    """A text an operator may give once or per language (``en``/``ko``/``zh``)."""

    texts: dict[str, str] = field(default_factory=dict)

    def get(self, language: str) -> str:
        """The worker's language, else English, else whatever the operator wrote."""
        if language in self.texts:
            return self.texts[language]
        if "en" in self.texts:
            return self.texts["en"]
        return next(iter(self.texts.values()), "")


@dataclass(frozen=True)
class Label:
    """One answer choice. ``value`` is what exports contain; ``names`` is what phones show."""

    value: str
    names: Localized = field(default_factory=Localized)


@dataclass(frozen=True)
class ProjectSpec:
    """A validated project; ``raw`` is the document it came from, stored as is."""

    name: str
    kind: str
    title: Localized
    instructions: Localized
    labels: tuple[Label, ...]
    reward_micros: int
    currency: str
    overlap: int = 3
    lease_minutes: int = 10
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def categorical(self) -> bool:
        return self.kind != "transcription"

    @property
    def label_values(self) -> tuple[str, ...]:
        return tuple(label.value for label in self.labels)

    def label_index(self, value: str) -> int | None:
        try:
            return self.label_values.index(value)
        except ValueError:
            return None


def _localized(value: Any, key: str) -> Localized:
    if isinstance(value, str):
        if not value.strip():
            raise ProjectError("{key} is empty", key=key)
        return Localized({"en": value.strip()})
    if isinstance(value, dict) and value:
        texts: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                raise ProjectError("{key}.{lang}: language must be one of en, ko, zh",
                                   key=key, lang=lang)
            if not isinstance(text, str) or not text.strip():
                raise ProjectError("{key}.{lang} must be non-empty text", key=key, lang=lang)
            texts[lang] = text.strip()
        return Localized(texts)
    raise ProjectError("{key} must be text or a table of texts per language (en, ko, zh)",
                       key=key)


def _labels(kind: str, value: Any) -> tuple[Label, ...]:
    if kind == "transcription":
        if value is not None:
            raise ProjectError("a transcription project has no labels: workers type the text")
        return ()
    if value is None:
        if kind == "sentiment":
            return tuple(Label(v) for v in SENTIMENT_LABELS)
        raise ProjectError("a classification project needs labels (2 to 12)")
    if not isinstance(value, list) or not 2 <= len(value) <= 12:
        raise ProjectError("labels must be a list of 2 to 12 labels")
    labels: list[Label] = []
    for position, entry in enumerate(value, start=1):
        if isinstance(entry, str):
            label_value, names = entry, None
        elif isinstance(entry, dict):
            stray = sorted(set(entry) - {"value", "names"})
            if stray:
                raise ProjectError("label {n}: unknown key {key!r} (use value and names)",
                                   n=position, key=stray[0])
            label_value, names = entry.get("value"), entry.get("names")
        else:
            raise ProjectError("label {n} must be text or a table with value and names",
                               n=position)
        if not isinstance(label_value, str) or not label_value.strip():
            raise ProjectError("label {n} has no value", n=position)
        label_value = label_value.strip()
        if len(label_value) > 100:
            raise ProjectError("label {n} is longer than 100 characters", n=position)
        if label_value in {label.value for label in labels}:
            raise ProjectError("label {value!r} appears twice", value=label_value)
        localized = _localized(names, f"labels[{position}]") if names else Localized()
        labels.append(Label(label_value, localized))
    return tuple(labels)


def _int(data: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProjectError("{key} must be a whole number from {low} to {high}",
                           key=key, low=low, high=high)
    return value


def parse_project(data: dict[str, Any]) -> ProjectSpec:
    """Validate a project document; raises ``ProjectError`` naming the first bad key."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ProjectError("unknown key {key!r}", key=unknown[0])
    name = data.get("name")
    if not isinstance(name, str) or not _SLUG.match(name):
        raise ProjectError("name must be 1-64 letters, digits, _ or - (it goes in a "
                           "t.me/<bot>?start=NAME link)")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ProjectError("kind must be one of sentiment, classification, transcription")
    if "title" not in data:
        raise ProjectError("title is missing")
    title = _localized(data["title"], "title")
    instructions = _localized(data.get("instructions", data["title"]), "instructions")
    labels = _labels(kind, data.get("labels"))
    reward = data.get("reward", "0")
    if not isinstance(reward, str):
        raise ProjectError('reward must be a decimal string such as "0.02", not a number, '
                           "so it converts exactly")
    try:
        reward_micros = parse_amount(reward)
    except ValueError as exc:
        raise ProjectError("reward: {why}", why=str(exc)) from None
    currency = data.get("currency")
    if not isinstance(currency, str) or not is_currency(currency):
        raise ProjectError("currency must be an ISO 4217 code such as CNY, KRW or USD")
    return ProjectSpec(
        name=name, kind=kind, title=title, instructions=instructions, labels=labels,
        reward_micros=reward_micros, currency=currency,
        overlap=_int(data, "overlap", 3, 1, 50),
        lease_minutes=_int(data, "lease_minutes", 10, 1, 24 * 60),
        raw=dict(data),
    )


def load_project_file(path: str | Path) -> ProjectSpec:
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        raise ProjectError("project file {path} not found", path=str(file)) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProjectError("{path} is not valid TOML: {why}", path=str(file),
                           why=str(exc)) from None
    try:
        return parse_project(data)
    except ProjectError as exc:
        raise ProjectError("{path}: {why}", path=str(file), why=str(exc)) from None
