"""What the services hand the handlers: plain frozen values, whatever the backend.

Why a module of its own that imports nothing of tapwork: the storage backends build
these straight from their rows (``storage/`` may import this module, never the other way
round), so a row type of one backend never reaches a handler, and a second backend
(PostgreSQL) returns the very same values. The services re-export nothing from
``storage/``; ``tests/test_layers.py`` holds both sides to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Worker:
    """A person who answers tasks, keyed by their Telegram user id, with their settings."""

    id: int
    first_name: str
    language: str
    consent_at: str | None
    active: bool
    created_at: str
    display_name: str | None = None
    notify: bool = True
    timezone: str = "UTC"
    #: quiet hours as minutes after local midnight; both None when there are none
    quiet_start: int | None = None
    quiet_end: int | None = None
    daily_summary: bool = False
    senior: bool = False
    #: the worker picked a language in /settings (else it follows Telegram's)
    language_chosen: bool = False
    #: when a running /quick burst ends (UTC ISO), else None
    burst_until: str | None = None
    #: the languages the worker reads (primary subtags), seeded from Telegram's setting
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Media:
    """A photo, voice note or audio file of a task; ``file_id`` once Telegram has it."""

    id: int
    kind: str
    mime: str
    filename: str
    file_id: str | None


@dataclass(frozen=True)
class LedgerEntry:
    """One line of the append-only ledger: written by the money service, shown in
    /wallet. ``amount`` in micros; ``key`` makes the write idempotent."""

    worker_id: int
    currency: str
    kind: str
    bucket: str
    amount: int
    key: str
    project_id: int | None = None
    unit_id: int | None = None
    payout_id: int | None = None
    assignment_id: int | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    id: int = 0


#: ``Broadcast.progress_message`` while one replica posts the operator's progress message
#: (Telegram's message ids start at 1), so the others edit it instead of posting their own
POSTING = 0


@dataclass(frozen=True)
class Broadcast:
    """An operator's "tasks wait for you" message on its way to a project's workers."""

    id: int
    project_id: int
    text: str | None
    status: str
    paid: bool
    rate: float
    operator_chat: int | None
    progress_message: int | None


@dataclass(frozen=True)
class BroadcastProgress:
    """How far a broadcast has got, for the operator's progress message."""

    total: int
    sent: int
    failed: int
    left: int
    #: in flight when a process died: maybe delivered, never sent again
    unconfirmed: int = 0


@dataclass(frozen=True)
class ProjectRow:
    id: int
    name: str
    kind: str
    #: the validated project document as stored: JSON text
    spec: str
    status: str
    #: the languages its items are in (primary subtags, sorted), kept at import
    languages: tuple[str, ...] = ()

    @property
    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.spec)
        return document


@dataclass(frozen=True)
class Qualification:
    worker_id: int
    project_id: int
    status: str          # new | passed | failed | suspended
    attempts: int
    trained: bool
    retry_at: str | None
    #: while suspended, why; suspension is apart from the quiz status so lifting it
    #: returns the worker to exactly where they were
    reason: str | None
    #: after a reinstatement, gold and speed rules only count answers from this moment
    checks_from: str | None = None
    #: the exam they passed: its answers and right ones, the start of their gold record
    exam_answers: int = 0
    exam_right: int = 0

    @property
    def suspended(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True)
class Payout:
    id: int
    worker_id: int
    currency: str
    amount: int
    status: str          # requested | approved | rejected
    reason: str | None
    requested_at: str
    decided_at: str | None


@dataclass(frozen=True)
class Standing:
    project_id: int
    project: str
    answers: int
    gold_total: int
    gold_correct: int
    suspended: str | None


@dataclass(frozen=True)
class Activity:
    answers_last_hour: int
    gold_answers: int
    gold_correct: int
    median_seconds: float | None
    #: (UTC hour "YYYY-MM-DDTHH", answers) for the hours asked about
    per_hour: list[tuple[str, int]]
