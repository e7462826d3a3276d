"""Quiet hours: nothing that is not a reply reaches a worker while they rest.

Stored as minutes after local midnight in the worker's own time zone, so "22:00 to 07:00"
means their night wherever they are, across midnight and daylight-saving changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(now: datetime, timezone: str, start: int | None, end: int | None
                ) -> datetime | None:
    """When the worker's quiet hours end, if they are in them now; else None."""
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
