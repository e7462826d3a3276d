"""Every key a project file may hold, the rule that checks it, and the aggregation
methods a project may choose: the one table (``KEYS``) that parsing reads and the
README's project key table is printed from (``keys_table``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot import aggregation
from bot.domain.item_language import parse_code
from bot.domain.limits import (
    MAX_QUIZ_QUESTIONS,
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
from bot.domain.money import is_currency
from bot.domain.project_spec import KINDS, LANGUAGES, Localized
from bot.domain.shapes import MAX_SHAPES
from bot.domain.wording import Phrase, phrase
from bot.i18n import N_

#: deep-link ``start`` parameters allow A-Z, a-z, 0-9, _ and - up to 64 characters
_SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: the aggregation package owns its list of methods; a project may name any of them
CATEGORICAL_METHODS = ("auto", *aggregation.CATEGORICAL_METHODS)
TEXT_METHODS = ("auto", "rover")
#: boxes and points are merged one way (``bot.aggregation.shapes``)
SPATIAL_METHODS = ("auto",)


class Slug(Rule):
    """A project's name: it goes in a ``t.me/<bot>?start=NAME`` link."""

    kind = "text"

    def allowed(self) -> Phrase:
        return phrase(N_("1 to 64 letters, digits, _ or - (it goes in a {link} link)"),
                      link="t.me/<bot>?start=NAME")

    def range(self) -> str:
        return "1 to 64 of `A-Z a-z 0-9 _ -`"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not _SLUG.match(value):
            raise self.refuse(value)
        return value


class Currency(Rule):
    kind = "text"

    def allowed(self) -> Phrase:
        return phrase(N_("an {standard} code such as {first}, {second} or {third}"),
                      standard="ISO 4217", first="CNY", second="KRW", third="USD")

    def range(self) -> str:
        return "ISO 4217 code"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not is_currency(value):
            raise self.refuse(value)
        return value


class Language(Rule):
    """The language of items that give none, checked by ``bot.domain.item_language``."""

    kind = "text"

    def allowed(self) -> Phrase:
        return phrase(N_("a language code in quotes, such as {example}"), example='"ko"')

    def range(self) -> str:
        return "BCP 47 code, e.g. `ko`, `zh-Hans`"

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.refuse(value)
        try:
            return parse_code(value)
        except ValueError as exc:
            raise Invalid(N_("must be {allowed}: {why}"), allowed=self.allowed(),
                          why=exc) from None


@dataclass(frozen=True)
class Texts(Rule):
    """Text given once (English) or per language: ``{ en = "…", ko = "…" }``."""

    text: Text
    kind = "text or table per language"

    def allowed(self) -> Phrase:
        return phrase(N_("{text}, or a table of such texts per language ({languages})"),
                      text=self.text.allowed(), languages=", ".join(LANGUAGES))

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
                raise Invalid(N_("is not a language here: it must be one of {languages}"),
                              where=f".{lang}", languages=", ".join(LANGUAGES))
            try:
                texts[lang] = read(text)
            except Invalid as exc:
                raise Invalid(exc.message, where=f".{lang}", **exc.params) from None
        return Localized(texts)


@dataclass(frozen=True)
class Labels(Rule):
    """The answer choices of a categorical project (the values in the README table)."""

    fewest: int = 2
    most: int = 12
    kind = "list"

    def allowed(self) -> Phrase:
        return phrase(N_("a list of {fewest} to {most} labels"), fewest=self.fewest,
                      most=self.most)

    def range(self) -> str:
        return f"{self.fewest} to {self.most} labels"

    def check(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.refuse(value)
        if not self.fewest <= len(value) <= self.most:
            raise Invalid(N_("must be {allowed}, not {count}"), allowed=self.allowed(),
                          count=len(value))
        return value


#: a boxes project may have a single label ("person")
BOX_LABELS = Labels(1, 12)
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
        "answer choices (boxes: what a box may be labelled); transcription and points "
        "projects have none", "2 to 12 labels (boxes: 1 to 12)"),
    Key("labels[].value", LABEL_VALUE, "required", "what exports contain"),
    Key("labels[].names", LABEL_NAMES, "the value", "what a button shows"),
    Key("reward", Money(), '"0"', "pay per accepted answer"),
    Key("currency", Currency(), "required", "the currency of every amount"),
    Key("overlap", Whole(1, 50), "3", "distinct workers per item"),
    Key("min_overlap", Whole(1, 50), "overlap",
        "an item settled this early may stop before overlap answers", "1 to overlap"),
    Key("max_overlap", Whole(1, 50), "overlap",
        "more workers for an uncertain item, up to this", "overlap to 50"),
    Key("lease_minutes", Whole(1, 24 * 60, N_("minutes")), "10",
        "an unanswered task goes back to the pool after this"),
    Key("gold_rate", SHARE, "0.1", "share of tasks that are gold checks"),
    Key("feedback", Flag(), "true", "explain a missed gold check at once"),
    Key("min_accuracy", SHARE, "0.7", "gold accuracy below which a worker is paused"),
    Key("min_gold", Whole(1, 10_000), "5", "gold answers before min_accuracy applies"),
    Key("min_seconds", Number(0, 3600, N_("seconds")), "unset (half the median)",
        "an answer faster than this is too fast"),
    Key("confidence", SHARE, "0.9",
        "an item is done once this sure (and, before overlap, once one more answer would "
        "change its label with a chance under 1 - confidence)"),
    Key("aggregation", Choice((*CATEGORICAL_METHODS, *TEXT_METHODS[1:])), '"auto"',
        "how answers become a label (rover only for transcription)"),
    Key("settle_unit", Whole(1, 1000), "10", "answers per settlement unit"),
    Key("unit_accuracy", SHARE, "1.0", "share right for full pay"),
    Key("discount", ExactShare(), "0.5", "share of a unit's value paid below unit_accuracy"),
    Key("auto_approve_hours", Number(0.1, HOURS_IN_A_YEAR, N_("hours")), "72",
        "a unit idle this long is paid in full"),
    Key("min_hourly", Money(), "unset",
        "operators are warned when the median hourly rate is lower"),
    Key("language", Language(), "unset (detected)",
        "the language of items that give no `lang`"),
    Key("iou", Number(0.1, 1), "0.7",
        "boxes: a box is right against a gold box of its label from this intersection "
        "over union on"),
    Key("point_tolerance", Number(0.001, 0.5), "0.05",
        "points: a point is right within this share of the image's diagonal of a gold one"),
    Key("min_points", Whole(1, MAX_SHAPES), "1",
        "points: the fewest points an answer places (or none: nothing to mark)"),
    Key("max_points", Whole(1, MAX_SHAPES), "20", "points: the most points an answer places",
        f"min_points to {MAX_SHAPES}"),
    Key("ordered", Flag(), "false",
        "points: the order they are placed in matters (keypoints), else they are a set"),
    Key("quiz.questions", Whole(1, MAX_QUIZ_QUESTIONS), "10",
        "questions per exam attempt, at most (it ends once settled)"),
    Key("quiz.pass", SHARE, "0.8",
        "share right to pass (rounded up; for transcriptions, the share of words right)"),
    Key("quiz.attempts", Whole(1, 100), "3", "exam attempts in all"),
    Key("quiz.cooldown_hours", Number(0, HOURS_IN_A_YEAR, N_("hours")), "24",
        "wait between failed attempts"),
    Key("quiz.training", Flag(), "true",
        "a practice round for a worker who misses the exam's first question"),
    Key("quiz.paid", Flag(), "false",
        "a passed exam's questions are paid at `reward` each, once (practice and failed "
        "attempts are not)"),
    Key("skill_bonus.min_accuracy", SHARE, "0.95", "gold accuracy that earns the bonus"),
    Key("skill_bonus.percent", Whole(0, 100), "20",
        "extra pay, as a percent of a unit's pay: at most doubling it"),
)}
#: keys that only a kind of project takes, and that kind
KIND_KEYS = {"iou": "boxes", "point_tolerance": "points", "min_points": "points",
             "max_points": "points", "ordered": "points"}
#: keys of a file's top level and of its tables
TOP_KEYS = {name.split(".")[0].split("[")[0] for name in KEYS}
TABLE_KEYS = {table: {name.split(".", 1)[1] for name in KEYS if name.startswith(f"{table}.")}
               for table in ("quiz", "skill_bonus")}


@dataclass(frozen=True)
class OverlapBound(Whole):
    """``min_overlap <= overlap <= max_overlap``: a range that depends on ``overlap``, so
    the message names it ("min_overlap must be … from 1 to 3 (at most overlap, 3)") rather
    than leave the writer to guess where the 3 came from."""

    why: Phrase | None = None

    def allowed(self) -> Phrase:
        bare = super().allowed()
        return bare if self.why is None else phrase(N_("{allowed} ({why})"), allowed=bare,
                                                    why=self.why)


def at_least(key: str, value: int) -> Phrase:
    """"at least min_points, 2": why a range starts where it does."""
    return phrase(N_("at least {key}, {value}"), key=key, value=value)


def overlap_rules(overlap: int) -> tuple[Rule, Rule]:
    """The rules for ``min_overlap`` and ``max_overlap`` once ``overlap`` is known."""
    return (OverlapBound(1, overlap, why=phrase(N_("at most {key}, {value}"), key="overlap",
                                                value=overlap)),
            OverlapBound(overlap, 50, why=at_least("overlap", overlap)))


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
