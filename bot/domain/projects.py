"""Reading a project: a TOML file, a text typed in chat, or the document the database
holds, each checked against ``bot.domain.project_keys.KEYS`` into a frozen ``ProjectSpec``.

The spec is stored as the validated TOML document (as JSON) and parsed again on load, so a
project always means exactly what its file said, and new keys added by later versions
get their defaults.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.domain.errors import ProjectError
from bot.domain.limits import Choice, Invalid, Rule
from bot.domain.project_keys import (
    BOX_LABELS,
    CATEGORICAL_METHODS,
    KEYS,
    KIND_KEYS,
    LABEL_NAMES,
    LABEL_VALUE,
    SPATIAL_METHODS,
    TABLE_KEYS,
    TEXT_METHODS,
    TOP_KEYS,
    OverlapBound,
    at_least,
    overlap_rules,
)
from bot.domain.project_spec import (
    SENTIMENT_LABELS,
    SPATIAL_KINDS,
    Label,
    Localized,
    ProjectSpec,
    QuizSpec,
    SkillBonus,
)
from bot.domain.records import ProjectRow
from bot.domain.shapes import MAX_SHAPES
from bot.domain.wording import Phrase, phrase
from bot.i18n import N_

log = logging.getLogger(__name__)


#: the TOML reader's own reasons (``tomllib``), worded as it words them, so a file that is
#: not TOML is explained in the operator's language too; a value it quotes stays as given
_TOML_WHY = (
    N_("Invalid value"), N_("Invalid statement"), N_("Unclosed array"),
    N_("Unclosed inline table"), N_("Unterminated string"), N_("Cannot overwrite a value"),
    N_("Expected '=' after a key in a key/value pair"),
    N_("Expected ']' at the end of a table declaration"),
    N_("Expected ']]' at the end of an array declaration"),
    N_("Expected newline or end of document after a statement"),
    N_("Invalid initial character for a key part"), N_("Invalid date or datetime"),
    N_("Invalid hex value"), N_("Escaped character is not a Unicode scalar value"),
    N_("Unescaped '\\' in a string"))
_TOML_WITH_VALUE = [(re.compile(pattern), template) for pattern, template in (
    (r"^Illegal character (?P<value>.+)$", N_("Illegal character {value}")),
    (r"^Found invalid character (?P<value>.+)$", N_("Found invalid character {value}")),
    (r"^Cannot declare (?P<value>.+) twice$", N_("Cannot declare {value} twice")),
    (r"^Cannot mutate immutable namespace (?P<value>.+)$",
     N_("Cannot mutate immutable namespace {value}")),
    (r"^Cannot redefine namespace (?P<value>.+)$", N_("Cannot redefine namespace {value}")),
    (r"^Duplicate inline table key (?P<value>.+)$",
     N_("Duplicate inline table key {value}")),
    (r"^Expected (?P<value>'.*'|\".*\")$", N_("Expected {value}")),
)]
_TOML_AT = re.compile(r"^(?P<why>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|"
                      r"end of document)\)$", re.DOTALL)


def toml_problem(exc: tomllib.TOMLDecodeError) -> Phrase | str:
    """Why a text is not TOML, as ``str(exc)`` reads in English ("Invalid value (at line 3,
    column 8)"), kept as words to render in the reader's language."""
    match = _TOML_AT.match(str(exc))
    if match is None:
        return str(exc)
    text = match["why"]
    why: Phrase | str = Phrase(text) if text in _TOML_WHY else text
    for pattern, template in _TOML_WITH_VALUE if text not in _TOML_WHY else ():
        found = pattern.match(text)
        if found is not None:
            why = phrase(template, value=found["value"])
            break
    if match["line"] is None:
        return phrase(N_("{why} (at end of document)"), why=why)
    return phrase(N_("{why} (at line {line}, column {column})"), why=why,
                  line=int(match["line"]), column=int(match["column"]))


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
                raise ProjectError(N_("{key}{where} {why}"), key=name, where=exc.where,
                                   why=exc) from None
            fixed = rule.repair(value)
            self.repaired.append(name)
            return fixed if fixed is not None else default


def _labels(kind: str, value: Any, read: _Reader) -> tuple[Label, ...]:
    if kind == "transcription":
        if value is not None:
            raise ProjectError(N_("a {kind} project has no labels: workers type the text"),
                               kind=kind)
        return ()
    if kind == "points":
        if value is not None:
            raise ProjectError(N_("a {kind} project has no labels: workers place points"),
                               kind=kind)
        return ()
    if value is None:
        if kind == "sentiment":
            return tuple(Label(v) for v in SENTIMENT_LABELS)
        if kind == "boxes":
            raise ProjectError(N_("a {kind} project needs labels (1 to 12): what a box may "
                                  "be, such as {example}"), kind=kind,
                               example='labels = ["person"]')
        raise ProjectError(N_("a {kind} project needs labels (2 to 12)"), kind=kind)
    read.read("labels", value, BOX_LABELS if kind == "boxes" else KEYS["labels"].rule)
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
                raise ProjectError(N_("{at}: unknown key {key!r} (use {value} and {names})"),
                                   at=at, key=stray[0], value="value", names="names")
            label_value, names = entry.get("value"), entry.get("names")
        else:
            raise ProjectError(N_("{at} must be text or a table with {value} and {names}"),
                               at=at, value="value", names="names")
        if label_value is None:
            raise ProjectError(N_("{at} has no {value}"), at=at, value="value")
        # a label's value is what answers store: never repaired, always checked
        checked: str = _Reader(stored=False).read(f"{at}.value", label_value, LABEL_VALUE)
        if checked in {label.value for label in labels}:
            raise ProjectError(N_("label {value!r} appears twice"), value=checked)
        localized = read.read(f"{at}.names", names, LABEL_NAMES, Localized()) \
            if names is not None else Localized()
        labels.append(Label(checked, localized))
    return tuple(labels)


def _table(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProjectError(N_("[{name}] must be a table"), name=name)
    unknown = sorted(set(value) - TABLE_KEYS[name])
    if unknown:
        raise ProjectError(N_("unknown key {name}.{key} (it takes {keys})"), name=name,
                           key=unknown[0], keys=", ".join(sorted(TABLE_KEYS[name])))
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
        paid=read.value(value, "quiz.paid", d.paid),
    )


def _skill_bonus(value: dict[str, Any] | None, read: _Reader) -> SkillBonus | None:
    if value is None:
        return None
    return SkillBonus(read.value(value, "skill_bonus.min_accuracy", 0.95),
                      read.value(value, "skill_bonus.percent", 20))


def _kind_keys(data: dict[str, Any], kind: str) -> None:
    """A key meant for another kind of project is a mistake worth naming (``iou`` in a
    points project was meant for boxes), not a value to ignore."""
    for key, owner in KIND_KEYS.items():
        if key in data and kind != owner:
            raise ProjectError(N_("{key} is for {owner} projects, not {kind}"), key=key,
                               owner=owner, kind=kind)


def parse_project(data: dict[str, Any], *, stored: bool = False) -> ProjectSpec:
    """Validate a project document; raises ``ProjectError`` naming the first bad key.

    ``stored``: the document comes from the database, written by a version with looser
    rules; values now out of range are brought into range (and logged), not refused.
    """
    read = _Reader(stored)
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ProjectError(N_("unknown key {key!r}"), key=unknown[0])
    for required in ("name", "kind", "title", "currency"):
        if required not in data:
            raise ProjectError(N_("{key} is missing: it must be {what}"), key=required,
                               what=KEYS[required].rule.allowed())
    name = read.value(data, "name")
    kind = read.value(data, "kind")
    title = read.value(data, "title")
    instructions = read.value(data, "instructions", title)
    labels = _labels(kind, data.get("labels"), read)
    reward_micros = read.value(data, "reward", 0)
    currency = read.value(data, "currency")
    overlap = read.value(data, "overlap", 3)
    min_rule, max_rule = overlap_rules(overlap)
    min_overlap = read.value(data, "min_overlap", 0, min_rule)
    max_overlap = read.value(data, "max_overlap", overlap, max_rule)
    methods = (TEXT_METHODS if kind == "transcription" else SPATIAL_METHODS
               if kind in SPATIAL_KINDS else CATEGORICAL_METHODS)
    aggregation = read.value(data, "aggregation", "auto", Choice(methods))
    min_points = read.value(data, "min_points", 1)
    max_points = read.value(data, "max_points", max(20, min_points), OverlapBound(
        min_points, MAX_SHAPES, why=at_least("min_points", min_points)))
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
        min_overlap=min_overlap,
        confidence=read.value(data, "confidence", 0.9),
        aggregation=aggregation,
        settle_unit=read.value(data, "settle_unit", 10),
        unit_accuracy=read.value(data, "unit_accuracy", 1.0),
        discount=read.value(data, "discount", Fraction(1, 2)),
        auto_approve_hours=read.value(data, "auto_approve_hours", 72.0),
        skill_bonus=_skill_bonus(_table(data, "skill_bonus"), read),
        min_hourly_micros=read.value(data, "min_hourly"),
        language=read.value(data, "language"),
        iou=read.value(data, "iou", 0.7),
        point_tolerance=read.value(data, "point_tolerance", 0.05),
        min_points=min_points, max_points=max_points,
        ordered=read.value(data, "ordered", False),
        raw=dict(data),
    )
    _kind_keys(data, kind)  # after the values: a bad one is named for what it is first
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
        raise ProjectError(N_("project file {path} not found"), path=str(file)) from None
    except OSError as exc:  # a folder, no permission
        raise ProjectError(N_("cannot read project file {path}: {why}"), path=str(file),
                           why=exc.strerror or str(exc)) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProjectError(N_("{path} is not valid TOML: {why}"), path=str(file),
                           why=toml_problem(exc) if isinstance(exc, tomllib.TOMLDecodeError)
                           else str(exc)) from None
    try:
        return parse_project(data)
    except ProjectError as exc:
        raise ProjectError(N_("{path}: {why}"), path=str(file), why=exc) from None


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
