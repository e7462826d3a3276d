"""What a worker can be told through the outbox: one frozen value per kind of notice.

A notice is written by one part of the program (settlement, a CLI bonus, a broadcast
held for quiet hours) and read much later by the running bot, perhaps a newer version.
Naming each kind and its fields here, rather than passing dicts, lets mypy check both
ends, and lets the outbox refuse a row it cannot read instead of retrying it forever
(``storage/outbox.py`` turns these into JSON and back). Plain values only: this module
imports nothing from ``storage/``, which imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class WrongAnswer:
    """An answer a settled unit judged wrong, recalled by the item's first words."""

    item: str
    text: str | None
    answer: str
    accepted: str


@dataclass(frozen=True)
class UnitSettled:
    """A settlement unit was paid: in full, discounted (with what was judged wrong), or
    in full because the checks took too long."""

    KIND: ClassVar[str] = "settled"
    #: None only in rows queued before notices named the project by id (``project_slug``)
    project_id: int | None
    outcome: str  # full | discounted | auto
    currency: str
    answers: int
    needed: float
    value: int
    paid: int
    accuracy: float | None = None
    bonus: int = 0
    wrong: tuple[WrongAnswer, ...] = ()
    project_slug: str | None = None


@dataclass(frozen=True)
class BonusGiven:
    KIND: ClassVar[str] = "bonus"
    amount: int
    currency: str
    reason: str


@dataclass(frozen=True)
class PayoutApproved:
    KIND: ClassVar[str] = "payout_approved"
    amount: int
    currency: str


@dataclass(frozen=True)
class PayoutRejected:
    KIND: ClassVar[str] = "payout_rejected"
    amount: int
    currency: str
    reason: str


@dataclass(frozen=True)
class ProjectOpened:
    """A project the worker can take opened (created or resumed)."""

    KIND: ClassVar[str] = "opened"
    project_id: int


@dataclass(frozen=True)
class NewItems:
    """A project the worker can take got new items."""

    KIND: ClassVar[str] = "new_items"
    project_id: int


@dataclass(frozen=True)
class BroadcastHeld:
    """An operator's broadcast, held for a worker in quiet hours or mid-task."""

    KIND: ClassVar[str] = "broadcast"
    project_id: int
    text: str | None = None


@dataclass(frozen=True)
class DailySummary:
    """The day's summary at the worker's evening: earned per currency, accuracy, work."""

    KIND: ClassVar[str] = "summary"
    earned: tuple[tuple[str, int], ...]
    gold_total: int
    gold_correct: int
    waiting: int


NoticeBody = (UnitSettled | BonusGiven | PayoutApproved | PayoutRejected | ProjectOpened
              | NewItems | BroadcastHeld | DailySummary)
#: every kind, by the tag stored with it; a new kind joins here (and the render test
#: in tests/test_notice_kinds.py then asks for a case)
KINDS: dict[str, type[NoticeBody]] = {cls.KIND: cls for cls in (
    UnitSettled, BonusGiven, PayoutApproved, PayoutRejected, ProjectOpened, NewItems,
    BroadcastHeld, DailySummary)}
#: kinds that invite the worker to a project: sent only while it has work for them
INVITATIONS = (ProjectOpened, NewItems, BroadcastHeld)
#: project events (``storage/broadcasts.open_events``) and the notice each becomes
EVENTS: dict[str, type[ProjectOpened | NewItems]] = {
    ProjectOpened.KIND: ProjectOpened, NewItems.KIND: NewItems}


@dataclass(frozen=True)
class Notice:
    """A notice waiting in the outbox."""

    id: int
    worker_id: int
    body: NoticeBody

    @property
    def kind(self) -> str:
        return self.body.KIND


@dataclass(frozen=True)
class Unreadable:
    """An outbox row this version cannot read: an unknown kind, or a payload that does
    not parse. It is finished as ``failed`` with ``reason``, never retried."""

    id: int
    worker_id: int
    kind: str
    reason: str
