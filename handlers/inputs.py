"""Numbers typed or tapped by people, parsed in one place.

``str.isdigit`` and regex ``\\d`` accept superscripts and other scripts' digits ("²",
"٣"), and an unbounded run of digits overflows SQLite's 64-bit integers, so every
number that comes from a user goes through here: ASCII digits only, within a range.
"""

from __future__ import annotations

import re

#: ids are Telegram user ids and our own row ids: both well under 2**53
MAX_ID = 2**53 - 1
_DIGITS = re.compile(r"[0-9]{1,16}")


def whole_number(text: str | None, low: int = 0, high: int = MAX_ID) -> int | None:
    """``text`` as a whole number from ``low`` to ``high``, else None."""
    if text is None or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None
