"""Project definitions: the TOML an operator writes, validated into a frozen ``ProjectSpec``.

The spec is stored as the validated TOML document (as JSON) and parsed again on load, so a
project always means exactly what its file said, and new keys added by later versions
get their defaults.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from bot.errors import ProjectError
from bot.item_language import parse_code
from bot.money import is_currency, parse_amount

KINDS = ("sentiment", "classification", "transcription")
LANGUAGES = ("en", "ko", "zh")
SENTIMENT_LABELS = ("positive", "neutral", "negative")
#: deep-link ``start`` parameters allow A-Z, a-z, 0-9, _ and - up to 64 characters
_SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEYS = {"name", "kind", "title", "instructions", "labels", "reward", "currency", "overlap",
         "lease_minutes", "quiz", "gold_rate", "feedback", "min_accuracy", "min_gold",
         "min_seconds", "max_overlap", "confidence", "aggregation", "settle_unit",
         "unit_accuracy", "discount", "auto_approve_hours", "skill_bonus", "min_hourly",
         "language"}
_QUIZ_KEYS = {"questions", "pass", "attempts", "cooldown_hours", "training"}
CATEGORICAL_METHODS = ("auto", "mv", "wawa", "ds", "gold-ds")
TEXT_METHODS = ("auto", "rover")


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
class QuizSpec:
    """The qualifying quiz: a practice round with feedback, then an exam with a pass mark."""

    questions: int = 10
    pass_share: float = 0.8
    attempts: int = 3
    cooldown_hours: float = 24.0
    training: bool = True

    @property
    def pass_count(self) -> int:
        """Right answers needed; rounding up so 0.8 of 10 means 8, never 7.9."""
        return math.ceil(self.pass_share * self.questions - 1e-9)


@dataclass(frozen=True)
class SkillBonus:
    """Extra pay for workers whose gold accuracy stays high, e.g. +20% at 0.95."""

    min_accuracy: float
    percent: int


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
    quiz: QuizSpec | None = None
    gold_rate: float = 0.1
    feedback: bool = True
    min_accuracy: float = 0.7
    min_gold: int = 5
    min_seconds: float | None = None
    max_overlap: int = 3
    confidence: float = 0.9
    aggregation: str = "auto"
    settle_unit: int = 10
    unit_accuracy: float = 1.0
    #: share of a unit's value paid when it falls below ``unit_accuracy``, exact
    discount: Fraction = Fraction(1, 2)
    auto_approve_hours: float = 72.0
    skill_bonus: SkillBonus | None = None
    min_hourly_micros: int | None = None
    #: the language of items that give none (a primary subtag such as ``ko``); None: a
    #: text's language is detected at import, and media without ``lang`` need no reading
    language: str | None = None
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


#: ``ko: 어떤 과일인가요?`` starts the Korean text of a title or instructions typed in chat
_LANGUAGE_PREFIX = re.compile(r"^\s*(en|ko|zh)\s*[:：]\s*", re.IGNORECASE)


def parse_texts(text: str, language: str) -> dict[str, str]:
    """A text typed in chat, per language, as a project's ``title`` or ``instructions``.

    A line starting with ``en:``, ``ko:`` or ``zh:`` begins that language's text and the
    lines after it continue it (instructions may run over several lines); whatever comes
    before any such line is in ``language``, the writer's own. Empty texts are left out.
    """
    lines: dict[str, list[str]] = {}
    current = language
    for line in text.splitlines():
        match = _LANGUAGE_PREFIX.match(line)
        if match:
            current, line = match.group(1).lower(), line[match.end():]
        lines.setdefault(current, []).append(line)
    texts = {lang: "\n".join(body).strip() for lang, body in lines.items()}
    return {lang: body for lang, body in texts.items() if body}


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


def _share(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ProjectError("{key} must be a number from 0 to 1", key=key)
    return float(value)


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ProjectError("{key} must be true or false", key=key)
    return value


def _quiz(value: Any) -> QuizSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProjectError("[quiz] must be a table")
    unknown = sorted(set(value) - _QUIZ_KEYS)
    if unknown:
        raise ProjectError("unknown key quiz.{key}", key=unknown[0])
    cooldown = value.get("cooldown_hours", 24)
    if isinstance(cooldown, bool) or not isinstance(cooldown, int | float) or cooldown < 0:
        raise ProjectError("quiz.cooldown_hours must be a number of hours, 0 or more")
    return QuizSpec(
        questions=_int(value, "questions", 10, 1, 100),
        pass_share=_share(value, "pass", 0.8),
        attempts=_int(value, "attempts", 3, 1, 100),
        cooldown_hours=float(cooldown),
        training=_bool(value, "training", True),
    )


def _skill_bonus(value: Any) -> SkillBonus | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"min_accuracy", "percent"}:
        raise ProjectError("skill_bonus must be a table with min_accuracy and percent")
    return SkillBonus(_share(value, "min_accuracy", 0.95),
                      _int(value, "percent", 20, 0, 1000))


def _exact_share(data: dict[str, Any], key: str, default: str) -> Fraction:
    """A share used on money: read from its decimal text so 0.1 is exactly 1/10."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ProjectError("{key} must be a number from 0 to 1", key=key)
    try:
        share = Fraction(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise ProjectError("{key} must be a number from 0 to 1", key=key) from None
    if not 0 <= share <= 1:
        raise ProjectError("{key} must be a number from 0 to 1", key=key)
    return share


def _language(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProjectError('language must be a language code in quotes, such as "ko"')
    try:
        return parse_code(value)
    except ValueError as exc:
        raise ProjectError("language: {why}", why=str(exc)) from None


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
        reward_micros = parse_amount(reward, "reward")
    except ValueError as exc:
        raise ProjectError(str(exc)) from None
    currency = data.get("currency")
    if not isinstance(currency, str) or not is_currency(currency):
        raise ProjectError("currency must be an ISO 4217 code such as CNY, KRW or USD")
    overlap = _int(data, "overlap", 3, 1, 50)
    max_overlap = _int(data, "max_overlap", overlap, overlap, 50) if "max_overlap" in data \
        else overlap
    min_seconds = data.get("min_seconds")
    if min_seconds is not None and (isinstance(min_seconds, bool)
                                    or not isinstance(min_seconds, int | float)
                                    or min_seconds < 0):
        raise ProjectError("min_seconds must be a number of seconds, 0 or more")
    auto_hours = data.get("auto_approve_hours", 72)
    if isinstance(auto_hours, bool) or not isinstance(auto_hours, int | float) \
            or auto_hours <= 0:
        raise ProjectError("auto_approve_hours must be a positive number of hours")
    min_hourly = None
    if "min_hourly" in data:
        if not isinstance(data["min_hourly"], str):
            raise ProjectError('min_hourly must be a decimal string such as "12.00"')
        try:
            min_hourly = parse_amount(data["min_hourly"], "min_hourly")
        except ValueError as exc:
            raise ProjectError(str(exc)) from None
    methods = CATEGORICAL_METHODS if kind != "transcription" else TEXT_METHODS
    aggregation = data.get("aggregation", "auto")
    if aggregation not in methods:
        raise ProjectError("aggregation must be one of {methods}", methods=", ".join(methods))
    return ProjectSpec(
        name=name, kind=kind, title=title, instructions=instructions, labels=labels,
        reward_micros=reward_micros, currency=currency, overlap=overlap,
        lease_minutes=_int(data, "lease_minutes", 10, 1, 24 * 60),
        quiz=_quiz(data.get("quiz")),
        gold_rate=_share(data, "gold_rate", 0.1),
        feedback=_bool(data, "feedback", True),
        min_accuracy=_share(data, "min_accuracy", 0.7),
        min_gold=_int(data, "min_gold", 5, 1, 10_000),
        min_seconds=float(min_seconds) if min_seconds is not None else None,
        max_overlap=max_overlap,
        confidence=_share(data, "confidence", 0.9),
        aggregation=aggregation,
        settle_unit=_int(data, "settle_unit", 10, 1, 1000),
        unit_accuracy=_share(data, "unit_accuracy", 1.0),
        discount=_exact_share(data, "discount", "0.5"),
        auto_approve_hours=float(auto_hours),
        skill_bonus=_skill_bonus(data.get("skill_bonus")),
        min_hourly_micros=min_hourly,
        language=_language(data.get("language")),
        raw=dict(data),
    )


def load_project_file(path: str | Path) -> ProjectSpec:
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        raise ProjectError("project file {path} not found", path=str(file)) from None
    except OSError as exc:  # a folder, no permission
        raise ProjectError("cannot read project file {path}: {why}", path=str(file),
                           why=exc.strerror or str(exc)) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProjectError("{path} is not valid TOML: {why}", path=str(file),
                           why=str(exc)) from None
    try:
        return parse_project(data)
    except ProjectError as exc:
        raise ProjectError("{path}: {why}", path=str(file), why=str(exc)) from None
