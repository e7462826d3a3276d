"""Project definitions: the TOML an operator writes, validated into a frozen ``ProjectSpec``.

The spec is stored as the validated TOML document (as JSON) and parsed again on load, so a
project always means exactly what its file said, and new keys added by later versions
get their defaults.
"""

from __future__ import annotations

import json
import logging
import math
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot import aggregation
from bot.errors import ProjectError
from bot.item_language import parse_code
from bot.limits import (
    SHARE,
    Choice,
    ExactShare,
    Flag,
    Invalid,
    Money,
    Number,
    Rule,
    Text,
    Whole,
)
from bot.money import is_currency
from storage.projects import ProjectRow

log = logging.getLogger(__name__)

KINDS = ("sentiment", "classification", "transcription")
LANGUAGES = ("en", "ko", "zh")
SENTIMENT_LABELS = ("positive", "neutral", "negative")
#: deep-link ``start`` parameters allow A-Z, a-z, 0-9, _ and - up to 64 characters
_SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: the aggregation package owns its list of methods; a project may name any of them
CATEGORICAL_METHODS = ("auto", *aggregation.CATEGORICAL_METHODS)
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


class Slug(Rule):
    """A project's name: it goes in a ``t.me/<bot>?start=NAME`` link."""

    kind = "text"

    def allowed(self) -> str:
        return "1 to 64 letters, digits, _ or - (it goes in a t.me/<bot>?start=NAME link)"

    def range(self) -> str:
        return "1 to 64 of `A-Z a-z 0-9 _ -`"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not _SLUG.match(value):
            raise self.refuse(value)
        return value


class Currency(Rule):
    kind = "text"

    def allowed(self) -> str:
        return "an ISO 4217 code such as CNY, KRW or USD"

    def range(self) -> str:
        return "ISO 4217 code"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not is_currency(value):
            raise self.refuse(value)
        return value


class Language(Rule):
    """The language of items that give none, checked by ``bot.item_language``."""

    kind = "text"

    def allowed(self) -> str:
        return 'a language code in quotes, such as "ko"'

    def range(self) -> str:
        return "BCP 47 code, e.g. `ko`, `zh-Hans`"

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.refuse(value)
        try:
            return parse_code(value)
        except ValueError as exc:
            raise Invalid(f"must be {self.allowed()}: {exc}") from None


@dataclass(frozen=True)
class Texts(Rule):
    """Text given once (English) or per language: ``{ en = "…", ko = "…" }``."""

    text: Text
    kind = "text or table per language"

    def allowed(self) -> str:
        return (f"{self.text.allowed()}, or a table of such texts per language "
                f"({', '.join(LANGUAGES)})")

    def range(self) -> str:
        return f"{self.text.range()} (each language)"

    def check(self, value: Any) -> Localized:
        return self._read(value, self.text.check)

    def repair(self, value: Any) -> Localized | None:
        try:
            return self._read(value, lambda text: self.text.repair(text) or self.text.check(text))
        except Invalid:
            return None

    def _read(self, value: Any, read: Any) -> Localized:
        if isinstance(value, str):
            return Localized({"en": read(value)})
        if not isinstance(value, dict) or not value:
            raise self.refuse(value)
        texts: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                raise Invalid(f"is not a language here: it must be one of "
                              f"{', '.join(LANGUAGES)}", where=f".{lang}")
            try:
                texts[lang] = read(text)
            except Invalid as exc:
                raise Invalid(str(exc), where=f".{lang}") from None
        return Localized(texts)


@dataclass(frozen=True)
class Labels(Rule):
    """The answer choices of a categorical project (the values in the README table)."""

    fewest: int = 2
    most: int = 12
    kind = "list"

    def allowed(self) -> str:
        return f"a list of {self.fewest} to {self.most} labels"

    def range(self) -> str:
        return f"{self.fewest} to {self.most} labels"

    def check(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.refuse(value)
        if not self.fewest <= len(value) <= self.most:
            raise Invalid(f"must be {self.allowed()}, not {len(value)}")
        return value


LABEL_VALUE = Text(100)
LABEL_NAMES = Texts(Text(64))
TITLE = Texts(Text(120))
INSTRUCTIONS = Texts(Text(1000))
HOURS_IN_A_YEAR = 8760


@dataclass(frozen=True)
class Key:
    """One key of a project file. ``default`` is as the README shows it."""

    name: str
    rule: Rule
    default: str
    meaning: str
    #: the README's "allowed" column where the rule's own range is not the whole story
    allowed: str = ""


#: every key of a project file: the one source for parsing, the README table and the
#: sample project's comments (tests/test_project_keys.py checks both against it)
KEYS: dict[str, Key] = {key.name: key for key in (
    Key("name", Slug(), "required", "the project's name and deep link"),
    Key("kind", Choice(KINDS), "required", "what workers do"),
    Key("title", TITLE, "required",
        "shown above each task and on its button in /tasks: one line on a phone"),
    Key("instructions", INSTRUCTIONS, "the title",
        "shown above each task; a photo's caption holds at most 1024 characters"),
    Key("labels", Labels(), "sentiment: positive, neutral, negative",
        "answer choices; a transcription project has none"),
    Key("labels[].value", LABEL_VALUE, "required", "what exports contain"),
    Key("labels[].names", LABEL_NAMES, "the value", "what a button shows"),
    Key("reward", Money(), '"0"', "pay per accepted answer"),
    Key("currency", Currency(), "required", "the currency of every amount"),
    Key("overlap", Whole(1, 50), "3", "distinct workers per item"),
    Key("max_overlap", Whole(1, 50), "overlap",
        "more workers for an uncertain item, up to this", "overlap to 50"),
    Key("lease_minutes", Whole(1, 24 * 60, "minutes"), "10",
        "an unanswered task goes back to the pool after this"),
    Key("gold_rate", SHARE, "0.1", "share of tasks that are gold checks"),
    Key("feedback", Flag(), "true", "explain a missed gold check at once"),
    Key("min_accuracy", SHARE, "0.7", "gold accuracy below which a worker is paused"),
    Key("min_gold", Whole(1, 10_000), "5", "gold answers before min_accuracy applies"),
    Key("min_seconds", Number(0, 3600, "seconds"), "unset (half the median)",
        "an answer faster than this is too fast"),
    Key("confidence", SHARE, "0.9", "an item is done at overlap answers once this sure"),
    Key("aggregation", Choice((*CATEGORICAL_METHODS, *TEXT_METHODS[1:])), '"auto"',
        "how answers become a label (rover only for transcription)"),
    Key("settle_unit", Whole(1, 1000), "10", "answers per settlement unit"),
    Key("unit_accuracy", SHARE, "1.0", "share right for full pay"),
    Key("discount", ExactShare(), "0.5", "share of a unit's value paid below unit_accuracy"),
    Key("auto_approve_hours", Number(0.1, HOURS_IN_A_YEAR, "hours"), "72",
        "a unit idle this long is paid in full"),
    Key("min_hourly", Money(), "unset",
        "operators are warned when the median hourly rate is lower"),
    Key("language", Language(), "unset (detected)",
        "the language of items that give no `lang`"),
    Key("quiz.questions", Whole(1, 100), "10",
        "questions per exam attempt, at most (it ends once settled)"),
    Key("quiz.pass", SHARE, "0.8", "share right to pass (rounded up)"),
    Key("quiz.attempts", Whole(1, 100), "3", "exam attempts in all"),
    Key("quiz.cooldown_hours", Number(0, HOURS_IN_A_YEAR, "hours"), "24",
        "wait between failed attempts"),
    Key("quiz.training", Flag(), "true", "a practice round first"),
    Key("skill_bonus.min_accuracy", SHARE, "0.95", "gold accuracy that earns the bonus"),
    Key("skill_bonus.percent", Whole(0, 100), "20",
        "extra pay, as a percent of a unit's pay: at most doubling it"),
)}
#: keys of a file's top level and of its tables
_KEYS = {name.split(".")[0].split("[")[0] for name in KEYS}
_TABLE_KEYS = {table: {name.split(".", 1)[1] for name in KEYS if name.startswith(f"{table}.")}
               for table in ("quiz", "skill_bonus")}


def text_limit(key: str) -> int:
    """The most characters ``key`` takes (``title``, ``instructions``, ``labels[].value``,
    ``labels[].names``): /newproject checks each text as it is typed."""
    rule = KEYS[key].rule
    text = rule.text if isinstance(rule, Texts) else rule
    assert isinstance(text, Text)
    return text.longest


def keys_table() -> list[str]:
    """The README's table of project keys, one Markdown row per key."""
    rows = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    rows += [f"| `{k.name}` | {k.rule.kind} | {k.default} | {k.allowed or k.rule.range()} "
             f"| {k.meaning} |" for k in KEYS.values()]
    return rows


class _Reader:
    """Reads keys through their rules. A document stored by an older version (``stored``)
    may hold values its rules now refuse (a 10,000-character title, ``1e300`` hours); it
    is repaired into range rather than refused, so an old database keeps working, and
    ``repaired`` names what was changed."""

    def __init__(self, stored: bool) -> None:
        self.stored = stored
        self.repaired: list[str] = []

    def value(self, table: dict[str, Any], name: str, default: Any = None,
              rule: Rule | None = None) -> Any:
        short = name.rsplit(".", 1)[-1]
        if short not in table:
            return default
        return self.read(name, table[short], rule or KEYS[name].rule, default)

    def read(self, name: str, value: Any, rule: Rule, default: Any = None) -> Any:
        try:
            return rule.check(value)
        except Invalid as exc:
            if not self.stored:
                raise ProjectError("{key}{where} {why}", key=name, where=exc.where,
                                   why=str(exc)) from None
            fixed = rule.repair(value)
            self.repaired.append(name)
            return fixed if fixed is not None else default


def _labels(kind: str, value: Any, read: _Reader) -> tuple[Label, ...]:
    if kind == "transcription":
        if value is not None:
            raise ProjectError("a transcription project has no labels: workers type the text")
        return ()
    if value is None:
        if kind == "sentiment":
            return tuple(Label(v) for v in SENTIMENT_LABELS)
        raise ProjectError("a classification project needs labels (2 to 12)")
    read.read("labels", value, KEYS["labels"].rule)
    labels: list[Label] = []
    for position, entry in enumerate(value, start=1):
        at = f"labels[{position}]"
        # as written in the file: checked by the rules below
        label_value: object
        names: object
        if isinstance(entry, str):
            label_value, names = entry, None
        elif isinstance(entry, dict):
            stray = sorted(set(entry) - {"value", "names"})
            if stray:
                raise ProjectError("{at}: unknown key {key!r} (use value and names)",
                                   at=at, key=stray[0])
            label_value, names = entry.get("value"), entry.get("names")
        else:
            raise ProjectError("{at} must be text or a table with value and names", at=at)
        if label_value is None:
            raise ProjectError("{at} has no value", at=at)
        # a label's value is what answers store: never repaired, always checked
        checked: str = _Reader(stored=False).read(f"{at}.value", label_value, LABEL_VALUE)
        if checked in {label.value for label in labels}:
            raise ProjectError("label {value!r} appears twice", value=checked)
        localized = read.read(f"{at}.names", names, LABEL_NAMES, Localized()) \
            if names is not None else Localized()
        labels.append(Label(checked, localized))
    return tuple(labels)


def _table(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProjectError("[{name}] must be a table", name=name)
    unknown = sorted(set(value) - _TABLE_KEYS[name])
    if unknown:
        raise ProjectError("unknown key {name}.{key} (it takes {keys})", name=name,
                           key=unknown[0], keys=", ".join(sorted(_TABLE_KEYS[name])))
    return value


def _quiz(value: dict[str, Any] | None, read: _Reader) -> QuizSpec | None:
    if value is None:
        return None
    d = QuizSpec()
    return QuizSpec(
        questions=read.value(value, "quiz.questions", d.questions),
        pass_share=read.value(value, "quiz.pass", d.pass_share),
        attempts=read.value(value, "quiz.attempts", d.attempts),
        cooldown_hours=read.value(value, "quiz.cooldown_hours", d.cooldown_hours),
        training=read.value(value, "quiz.training", d.training),
    )


def _skill_bonus(value: dict[str, Any] | None, read: _Reader) -> SkillBonus | None:
    if value is None:
        return None
    return SkillBonus(read.value(value, "skill_bonus.min_accuracy", 0.95),
                      read.value(value, "skill_bonus.percent", 20))


def parse_project(data: dict[str, Any], *, stored: bool = False) -> ProjectSpec:
    """Validate a project document; raises ``ProjectError`` naming the first bad key.

    ``stored``: the document comes from the database, written by a version with looser
    rules; values now out of range are brought into range (and logged), not refused.
    """
    read = _Reader(stored)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ProjectError("unknown key {key!r}", key=unknown[0])
    for required in ("name", "kind", "title", "currency"):
        if required not in data:
            raise ProjectError("{key} is missing: it must be {what}", key=required,
                               what=KEYS[required].rule.allowed())
    name = read.value(data, "name")
    kind = read.value(data, "kind")
    title = read.value(data, "title")
    instructions = read.value(data, "instructions", title)
    labels = _labels(kind, data.get("labels"), read)
    reward_micros = read.value(data, "reward", 0)
    currency = read.value(data, "currency")
    overlap = read.value(data, "overlap", 3)
    max_overlap = read.value(data, "max_overlap", overlap, Whole(overlap, 50))
    methods = CATEGORICAL_METHODS if kind != "transcription" else TEXT_METHODS
    aggregation = read.value(data, "aggregation", "auto", Choice(methods))
    spec = ProjectSpec(
        name=name, kind=kind, title=title, instructions=instructions, labels=labels,
        reward_micros=reward_micros, currency=currency, overlap=overlap,
        lease_minutes=read.value(data, "lease_minutes", 10),
        quiz=_quiz(_table(data, "quiz"), read),
        gold_rate=read.value(data, "gold_rate", 0.1),
        feedback=read.value(data, "feedback", True),
        min_accuracy=read.value(data, "min_accuracy", 0.7),
        min_gold=read.value(data, "min_gold", 5),
        min_seconds=read.value(data, "min_seconds"),
        max_overlap=max_overlap,
        confidence=read.value(data, "confidence", 0.9),
        aggregation=aggregation,
        settle_unit=read.value(data, "settle_unit", 10),
        unit_accuracy=read.value(data, "unit_accuracy", 1.0),
        discount=read.value(data, "discount", Fraction(1, 2)),
        auto_approve_hours=read.value(data, "auto_approve_hours", 72.0),
        skill_bonus=_skill_bonus(_table(data, "skill_bonus"), read),
        min_hourly_micros=read.value(data, "min_hourly"),
        language=read.value(data, "language"),
        raw=dict(data),
    )
    if read.repaired:
        log.warning("project %s was saved before today's limits; out of range and brought "
                    "into range: %s (save its file again to choose)", name,
                    ", ".join(read.repaired))
    return spec


def parse_stored(document: str) -> ProjectSpec:
    """A project as the database holds it (JSON), repaired into range where an older
    version let a value through that the rules now refuse."""
    return parse_project(json.loads(document), stored=True)


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


@dataclass(frozen=True)
class Project:
    """A stored project as every service uses it: its row with the spec already parsed."""

    id: int
    spec: ProjectSpec
    status: str
    #: the languages its items are in (kept at import); items with none are not listed
    languages: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: ProjectRow) -> Project:
        return cls(row.id, _spec(row.spec), row.status, row.languages)


@lru_cache(maxsize=256)
def _spec(document: str) -> ProjectSpec:
    """Validating a project takes ~50 µs and every answer loads its project, so a spec is
    parsed once per stored text (an update stores a new text, so it is never stale)."""
    return parse_stored(document)
