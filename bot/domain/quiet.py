"""Quiet hours: nothing that is not a reply reaches a worker while they rest.

Stored as minutes after local midnight in the worker's own time zone, so "22:00 to 07:00"
means their night wherever they are, across midnight and daylight-saving changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Resting(Protocol):
    """What quiet hours are decided from: a worker's row has it."""

    @property
    def timezone(self) -> str: ...
    @property
    def quiet_start(self) -> int | None: ...
    @property
    def quiet_end(self) -> int | None: ...


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(worker: Resting, now: datetime) -> datetime | None:
    """When the worker's quiet hours end, if they are in them now; else None.

    The one place this is decided: notices, broadcasts and automatic notifications all
    ask here, so a message that waits for one waits for all."""
    return _window_end(now, worker.timezone, worker.quiet_start, worker.quiet_end)


def _window_end(now: datetime, timezone: str, start: int | None, end: int | None
                ) -> datetime | None:
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone(timezone))
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    ends = midnight + timedelta(minutes=end)
    if ends <= local:
        ends += timedelta(days=1)
    # rebuild through the zone so a daylight-saving change lands on the right wall time
    ends = ends.replace(tzinfo=None).replace(tzinfo=zone(timezone))
    return ends.astimezone(now.tzinfo)


def local_time(now: datetime, timezone: str) -> datetime:
    return now.astimezone(zone(timezone))
