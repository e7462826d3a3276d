"""Outbox notices as JSON and back: ``{"kind": "bonus", "amount": 20000, ...}``.

Each kind's fields are checked as they are read, so a row written by a newer version,
edited by hand or cut short fails here with a reason instead of failing later, mid-send,
and being retried. Rows written before notices were typed hold the same fields without
the kind tag (the row's ``kind`` column says it), a bonus or payout reason under
``text``, and an old settlement the project's slug under ``project``: all still read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from bot.domain.notice_kinds import (
    KINDS,
    BonusGiven,
    BroadcastHeld,
    DailySummary,
    NewItems,
    NoticeBody,
    PayoutApproved,
    PayoutRejected,
    ProjectOpened,
    UnitSettled,
    WrongAnswer,
)


class BadNotice(ValueError):
    """A payload that is not a notice of its kind; the message says why."""


def dumps(body: NoticeBody) -> str:
    fields = asdict(body)
    if isinstance(body, UnitSettled):
        fields["wrong"] = [asdict(w) for w in body.wrong]
    if isinstance(body, DailySummary):
        fields["earned"] = dict(body.earned)
    return json.dumps({"kind": body.KIND, **fields}, ensure_ascii=False)


def loads(kind: str, payload: str) -> NoticeBody:
    """The notice a row holds; ``BadNotice`` when its kind is unknown or the payload
    does not fit it."""
    if kind not in KINDS:
        raise BadNotice(f"unknown notice kind {kind!r}")
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise BadNotice(f"payload is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadNotice("payload is not a JSON object")
    tag = data.pop("kind", kind)
    if tag != kind:
        raise BadNotice(f"payload says kind {tag!r}, the row {kind!r}")
    return _READERS[kind](_Fields(data))


class _Fields:
    """Typed reads of one payload's fields, each failing with the field's name."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def _get(self, key: str, types: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise BadNotice(f"field {key!r} is missing")
            return default
        value = self.data[key]
        # bool is an int to Python; never to a notice
        if isinstance(value, bool) or not isinstance(value, types):
            raise BadNotice(f"field {key!r} is {type(value).__name__}, not "
                            f"{getattr(types, '__name__', 'a number')}")
        return value

    def whole(self, key: str, default: int | None = None) -> int:
        value: int = self._get(key, int, ... if default is None else default)
        return value

    def number(self, key: str) -> float:
        return float(self._get(key, (int, float)))

    def maybe_number(self, key: str) -> float | None:
        value = self._get(key, (int, float), None)
        return None if value is None else float(value)

    def text(self, key: str, default: str | None = None) -> str:
        value: str = self._get(key, str, ... if default is None else default)
        return value

    def maybe_text(self, key: str) -> str | None:
        value: str | None = self._get(key, str, None)
        return value

    def maybe_whole(self, key: str) -> int | None:
        value: int | None = self._get(key, int, None)
        return value

    def entries(self, key: str) -> list[Any]:
        value: list[Any] = self._get(key, list, [])
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value: dict[str, Any] = self._get(key, dict, {})
        return value


def _reason(f: _Fields) -> str:
    # stored as "text" before notices were typed
    return f.maybe_text("reason") or f.text("text", "")


def _wrong(entry: Any) -> WrongAnswer:
    if not isinstance(entry, dict):
        raise BadNotice("an entry of 'wrong' is not an object")
    f = _Fields(entry)
    return WrongAnswer(f.text("item"), f.maybe_text("text"), f.text("answer"),
                       f.text("accepted"))


def _settled(f: _Fields) -> UnitSettled:
    project_id, slug = f.maybe_whole("project_id"), f.maybe_text("project_slug")
    if project_id is None:
        slug = slug or f.maybe_text("project")  # queued before notices named the id
        if slug is None:
            raise BadNotice("field 'project_id' is missing")
    return UnitSettled(project_id=project_id, outcome=f.text("outcome"),
                       currency=f.text("currency"), answers=f.whole("answers"),
                       needed=f.number("needed"), value=f.whole("value"), paid=f.whole("paid"),
                       accuracy=f.maybe_number("accuracy"), bonus=f.whole("bonus", 0),
                       wrong=tuple(_wrong(w) for w in f.entries("wrong")),
                       project_slug=slug)


def _summary(f: _Fields) -> DailySummary:
    earned = f.mapping("earned")
    for currency, amount in earned.items():
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise BadNotice(f"earned {currency!r} is not a whole number of micros")
    return DailySummary(tuple(earned.items()), f.whole("gold_total", 0),
                        f.whole("gold_correct", 0), f.whole("waiting", 0))


_READERS: dict[str, Callable[[_Fields], NoticeBody]] = {
    UnitSettled.KIND: _settled,
    BonusGiven.KIND: lambda f: BonusGiven(f.whole("amount"), f.text("currency"), _reason(f)),
    PayoutApproved.KIND: lambda f: PayoutApproved(f.whole("amount"), f.text("currency")),
    PayoutRejected.KIND: lambda f: PayoutRejected(f.whole("amount"), f.text("currency"),
                                                  _reason(f)),
    ProjectOpened.KIND: lambda f: ProjectOpened(f.whole("project_id")),
    NewItems.KIND: lambda f: NewItems(f.whole("project_id")),
    BroadcastHeld.KIND: lambda f: BroadcastHeld(f.whole("project_id"), f.maybe_text("text")),
    DailySummary.KIND: _summary,
}
assert set(_READERS) == set(KINDS), "every notice kind needs a reader"
