"""What a project is: the frozen ``ProjectSpec`` every service reads, and its parts.

Plain values with no rules attached: ``bot/domain/project_keys.py`` says what a project file may
hold, and ``bot/domain/projects.py`` reads a file, a chat or the database into these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from bot.domain.shapes import Geometry

KINDS = ("sentiment", "classification", "transcription", "boxes", "points")
#: kinds answered by a tap on a label's button
CHOICE_KINDS = ("sentiment", "classification")
#: kinds answered by drawing on the picture in the Mini App (``bot.domain.shapes``)
SPATIAL_KINDS = ("boxes", "points")
LANGUAGES = ("en", "ko", "zh")
SENTIMENT_LABELS = ("positive", "neutral", "negative")


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
    #: a passed exam's questions are paid at the task price, once (``Payroll.pay_exam``):
    #: the qualified worker's exam answers stop being unpaid work
    paid: bool = False

    @property
    def pass_count(self) -> int:
        """Right answers needed; rounding up so 0.8 of 10 means 8, never 7.9."""
        return math.ceil(self.pass_share * self.questions - 1e-9)

    @property
    def pass_words(self) -> Fraction:
        """A typed exam's pass mark, in questions' worth of words right: the share itself
        (0.9 of 2 questions is 1.8), since words, unlike answers, come in fractions."""
        return Fraction(str(self.pass_share)) * self.questions

    def needed(self, typed: bool) -> Fraction:
        """What the exam's verdict asks for: whole right answers, or words right."""
        return self.pass_words if typed else Fraction(self.pass_count)


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
    #: the fewest answers an item may stop at once settled (``bot.domain.stopping``);
    #: 0 when the file gives none, which means ``overlap`` (see ``floor``)
    min_overlap: int = 0
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
    #: boxes: a box is right against gold from this IoU on
    iou: float = 0.7
    #: points: a point is right within this share of the image's diagonal
    point_tolerance: float = 0.05
    #: points: how many points an answer places (or none: "nothing to mark")
    min_points: int = 1
    max_points: int = 20
    #: points: the order they are placed in matters (keypoints), or they are a set
    ordered: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def floor(self) -> int:
        """The fewest answers an item is ever done with (below ``max_overlap``)."""
        return self.min_overlap or self.overlap

    @property
    def categorical(self) -> bool:
        """Answered by choosing one of the labels with a button."""
        return self.kind in CHOICE_KINDS

    @property
    def spatial(self) -> bool:
        """Answered by drawing boxes or points on the picture (the Mini App)."""
        return self.kind in SPATIAL_KINDS

    @property
    def typed(self) -> bool:
        """Answered by typing (a transcription)."""
        return self.kind == "transcription"

    @property
    def geometry(self) -> Geometry:
        """What a drawn answer must be, for ``bot.domain.shapes``."""
        return Geometry(self.kind, self.label_values, self.iou, self.point_tolerance,
                        self.min_points, self.max_points, self.ordered)

    @property
    def label_values(self) -> tuple[str, ...]:
        return tuple(label.value for label in self.labels)

    def label_index(self, value: str) -> int | None:
        try:
            return self.label_values.index(value)
        except ValueError:
            return None
