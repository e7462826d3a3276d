"""Time as a service, so tests and the demo can move it forward instead of sleeping.

Everything that decides by time (lease expiry, cooldowns, auto-approval, quiet hours) asks
a ``Clock``; nothing calls ``datetime.now()`` directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock UTC time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock(Clock):
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


def to_iso(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds and a ``Z``, always 27 characters: sortable as text,
    which the SQL relies on. (``isoformat`` rather than ``strftime``: a few times faster,
    and every answer writes several.)"""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def from_iso(text: str) -> datetime:
    """The inverse of ``to_iso``; anything else is a ``ValueError``."""
    if len(text) != 27 or not text.endswith("Z"):
        raise ValueError(f"not a tapwork timestamp: {text!r}")
    return datetime.fromisoformat(text)
