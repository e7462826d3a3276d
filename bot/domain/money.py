"""Money as integer micros (1e-6 of the major unit); floats never touch an amount."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_name, get_currency_precision

MICROS = 1_000_000
_DECIMAL = re.compile(r"^\d+(\.\d{1,6})?$")


def parse_amount(text: str, what: str = "amount") -> int:
    """``"0.02"`` -> ``20_000``. Refuses anything that would not convert exactly.

    Raises ``ValueError`` with a reason a person can act on, naming the value as ``what``
    (``"reward"``, ``"payouts.min_payout.USD"``) so that callers need no prefix of their
    own ("reward: amount …" said the same thing twice).
    """
    if not isinstance(text, str):
        raise ValueError(f'{what} must be a decimal string such as "0.02"')
    cleaned = text.strip()
    if cleaned.startswith("-"):
        raise ValueError(f"{what} {text!r} is negative")
    if not _DECIMAL.match(cleaned):
        if re.match(r"^\d+\.\d{7,}$", cleaned):
            raise ValueError(f"{what} {text!r} has more than 6 decimals")
        raise ValueError(f"{what} {text!r} is not a decimal number")
    return int(Decimal(cleaned) * MICROS)


def is_currency(code: str) -> bool:
    """True for an ISO 4217 code Babel knows (``CNY``, ``KRW``, ``USD`` …)."""
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code):
        return False
    try:
        return get_currency_name(code, locale="en") != code
    except Exception:  # Babel raises for unknown locales, never for codes; stay safe
        return False


@lru_cache(maxsize=4096)  # Babel's formatting is slow and the same few amounts recur
def format_money(micros: int, currency: str, locale: str = "en") -> str:
    """Shown with Babel in the reader's locale.

    A reward smaller than the currency's usual digits (0.0015 USD, 0.5 KRW) keeps its
    digits instead of being rounded to a misleading zero.
    """
    amount = Decimal(micros) / MICROS
    exponent = amount.normalize().as_tuple().exponent
    needed = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if needed <= get_currency_precision(currency):
        return format_currency(amount, currency, locale=locale)
    return format_currency(
        amount, currency, locale=locale, currency_digits=False, decimal_quantization=False
    )


@lru_cache(maxsize=4096)
def format_rate(micros: int, currency: str, locale: str = "en") -> str:
    """A computed figure (an hourly rate, an average per answer) as people read money:
    rounded half up to the currency's minor unit, "$7.84" rather than "$78.363082".

    Unlike a reward, such a figure has no meaningful digits past the minor unit; only one
    that would round to nothing ("$0.0045" an answer) keeps two significant digits.
    """
    amount = Decimal(micros) / MICROS
    rounded = amount.quantize(Decimal(1).scaleb(-get_currency_precision(currency)),
                              rounding=ROUND_HALF_UP)
    if rounded or not micros:
        return format_currency(rounded, currency, locale=locale)
    tiny = amount.quantize(Decimal(1).scaleb(amount.adjusted() - 1), rounding=ROUND_HALF_UP)
    return format_currency(tiny, currency, locale=locale, currency_digits=False,
                           decimal_quantization=False)


def currency_name(currency: str, locale: str = "en") -> str:
    """The currency in the reader's words ("미국 달러", "美元"), never the bare ISO code."""
    try:
        return get_currency_name(currency, locale=locale)
    except Exception:  # an unknown locale: Babel's English name still beats a code
        return get_currency_name(currency, locale="en")
