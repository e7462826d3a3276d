"""Who may work on a project: the quiz gate and suspensions, as one pure decision."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso
from bot.domain.project_spec import ProjectSpec
from bot.domain.records import Qualification

#: why a worker was suspended; the phone shows a sentence for each
GOLD, TOO_FAST, OPERATOR = "gold", "too_fast", "operator"


class Gate(enum.Enum):
    OPEN = "open"            # may work
    QUIZ = "quiz"            # must take (or finish) the quiz first
    COOLDOWN = "cooldown"    # failed; may try again later
    CLOSED = "closed"        # used every attempt
    SUSPENDED = "suspended"  # quality rules or an operator stopped them
    NOT_READY = "not_ready"  # the project's quiz pool is still too small


@dataclass(frozen=True)
class Access:
    gate: Gate
    training: bool = False
    retry_at: datetime | None = None
    tries_left: int = 0
    reason: str | None = None


def access(spec: ProjectSpec, qualification: Qualification | None, pool_size: int,
           now: datetime) -> Access:
    if qualification is not None and qualification.reason is not None:
        return Access(Gate.SUSPENDED, reason=qualification.reason)
    quiz = spec.quiz
    if quiz is None or (qualification is not None and qualification.status == "passed"):
        return Access(Gate.OPEN)
    if pool_size < quiz.questions:
        return Access(Gate.NOT_READY)
    used = qualification.attempts if qualification else 0
    tries_left = quiz.attempts - used
    if tries_left <= 0:
        return Access(Gate.CLOSED)
    if qualification is not None and qualification.retry_at:
        retry_at = from_iso(qualification.retry_at)
        if retry_at > now:
            return Access(Gate.COOLDOWN, retry_at=retry_at, tries_left=tries_left)
    trained = qualification.trained if qualification else False
    return Access(Gate.QUIZ, training=quiz.training and not trained, tries_left=tries_left)
