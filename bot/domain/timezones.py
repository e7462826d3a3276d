"""Time zones as people know them: an offset from UTC and a city, in the reader's words.

A worker's zone decides their quiet hours, their daily summary and what "today" means, so
it is kept as an IANA name (daylight saving follows). It is shown as "UTC+9 · 서울"
(Babel's localised city), never as "Asia/Seoul". The picker offers one place for every
offset people live at, -12 to +14 with the half and three-quarter hours, mostly places
without daylight saving so the list covers every offset all year, plus the large cities
that do change their clocks, each under the offset it has now.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_timezone_location

#: the zone a worker starts with, from the interface language of their first /start;
#: others stay in UTC until they choose (a language is no clue to a zone there)
DEFAULT_ZONES = {"ko": "Asia/Seoul", "zh": "Asia/Shanghai"}
UTC_ZONE = "UTC"

#: what /settings offers, west to east by standard offset; a forged choice outside it is
#: refused. "Etc/GMT+12" is UTC-12 (POSIX signs are inverted); nobody lives there, but a
#: full range costs one button.
PICKER_ZONES: tuple[str, ...] = (
    "Etc/GMT+12",           # -12
    "Pacific/Pago_Pago",    # -11
    "Pacific/Honolulu",     # -10
    "Pacific/Marquesas",    # -9:30
    "America/Anchorage",    # -9 (daylight saving)
    "Pacific/Gambier",      # -9
    "America/Los_Angeles",  # -8 (daylight saving)
    "Pacific/Pitcairn",     # -8
    "America/Denver",       # -7 (daylight saving)
    "America/Phoenix",      # -7
    "America/Chicago",      # -6 (daylight saving)
    "America/Mexico_City",  # -6
    "America/New_York",     # -5 (daylight saving)
    "America/Bogota",       # -5
    "America/Halifax",      # -4 (daylight saving)
    "America/Caracas",      # -4
    "America/St_Johns",     # -3:30 (daylight saving)
    "America/Sao_Paulo",    # -3
    "America/Noronha",      # -2
    "Atlantic/Azores",      # -1 (daylight saving)
    "Atlantic/Cape_Verde",  # -1
    UTC_ZONE,               # 0
    "Europe/London",        # 0 (daylight saving)
    "Africa/Lagos",         # +1
    "Europe/Berlin",        # +1 (daylight saving)
    "Africa/Johannesburg",  # +2
    "Europe/Athens",        # +2 (daylight saving)
    "Europe/Istanbul",      # +3
    "Asia/Tehran",          # +3:30
    "Asia/Dubai",           # +4
    "Asia/Kabul",           # +4:30
    "Asia/Karachi",         # +5
    "Asia/Kolkata",         # +5:30
    "Asia/Kathmandu",       # +5:45
    "Asia/Dhaka",           # +6
    "Asia/Yangon",          # +6:30
    "Asia/Bangkok",         # +7
    "Asia/Shanghai",        # +8
    "Australia/Eucla",      # +8:45
    "Asia/Seoul",           # +9
    "Asia/Tokyo",           # +9
    "Australia/Darwin",     # +9:30
    "Australia/Adelaide",   # +9:30 (daylight saving)
    "Australia/Brisbane",   # +10
    "Australia/Sydney",     # +10 (daylight saving)
    "Australia/Lord_Howe",  # +10:30 (daylight saving)
    "Pacific/Noumea",       # +11
    "Pacific/Fiji",         # +12
    "Pacific/Auckland",     # +12 (daylight saving)
    "Pacific/Chatham",      # +12:45 (daylight saving)
    "Pacific/Tongatapu",    # +13
    "Pacific/Kiritimati",   # +14
)
_OFFERED = frozenset(PICKER_ZONES)


def default_zone(language: str) -> str:
    return DEFAULT_ZONES.get(language, UTC_ZONE)


def offered(name: str) -> bool:
    """True for a zone the picker offers: the only ones a button may set."""
    return name in _OFFERED


def offset(name: str, now: datetime) -> timedelta:
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timedelta(0)
    return now.astimezone(zone).utcoffset() or timedelta(0)


def offset_text(delta: timedelta) -> str:
    """ "UTC+9", "UTC-3:30", "UTC+5:45", "UTC+0"."""
    minutes = round(delta.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@lru_cache(maxsize=1024)
def city(name: str, locale: str) -> str:
    """The zone's city in the reader's words ("서울", "首尔"); "" for UTC and the fixed
    offsets, which have none (Babel would answer "GMT+12", with the sign inverted)."""
    if name == UTC_ZONE or name.startswith("Etc/"):
        return ""
    try:
        return str(get_timezone_location(name, locale=locale, return_city=True))
    except (LookupError, ValueError):
        return ""


def label(name: str, now: datetime, locale: str) -> str:
    """ "UTC+9 · 서울", with the offset the zone has at ``now``; "UTC" for UTC itself."""
    if name == UTC_ZONE:
        return "UTC"
    place = city(name, locale)
    shown = offset_text(offset(name, now))
    return f"{shown} · {place}" if place else shown


def picker(now: datetime, locale: str) -> list[tuple[str, str]]:
    """(zone, label) for every offered zone, west to east by the offset it has now."""
    return [(name, label(name, now, locale)) for name in
            sorted(PICKER_ZONES, key=lambda n: (offset(n, now), n != UTC_ZONE,
                                                city(n, locale)))]
