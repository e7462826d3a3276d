"""What an operator may write for each number, amount and text, as rules both files share.

A project file (``bot.domain.project_keys.KEYS``) and the config file
(``bot.config.RULES``) are each one table of key -> rule; every value is read through its
rule, so there is one place where "a number" means "finite and within its range" and one
way of saying what was wrong:
``<key> must be <what the rule allows>, not <what was written>``, on one line. The README
tables and the sample project's comments are checked against the same tables.

Money bounds. SQLite and the ledger's sums are 64-bit integers of micros (at most
2**63 - 1, about 9.2 * 10**12 major units). Every amount a person enters (a reward, a
``min_hourly``, a minimum payout, a bonus) is at most ``MAX_AMOUNT`` = 10**12 micros, i.e.
1,000,000 major units: far above any real price per task even in currencies with tiny
units (1,000,000 VND is about 40 US dollars, a long transcription task), yet a million
times below the ledger's limit. A bonus that would take a worker's total in a currency
past ``MAX_BALANCE`` (10**15 micros, 1,000,000,000 major units) is refused. The ledger's
sums are also computed so that no stored value can overflow them (``storage.ledger``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bot.domain.errors import TapworkError
from bot.domain.money import MICROS, parse_amount
from bot.domain.wording import Phrase, phrase
from bot.i18n import N_

#: the largest amount anyone enters: a reward, min_hourly, a minimum payout, one bonus
MAX_AMOUNT = 10**12
#: the most a worker may hold in one currency (all buckets): bonuses stop there
MAX_BALANCE = 10**15
#: what one SQLite integer (one ledger entry) holds
INT64_MAX = 2**63 - 1
#: the most questions one exam attempt asks (``quiz.questions``)
MAX_QUIZ_QUESTIONS = 100


def exam_pay(answers: int, price: int) -> int:
    """What a passed exam pays (``quiz.paid``): its ``answers`` at the task ``price``, in
    integer micros. Both factors are bounded where they are entered (at most
    ``MAX_QUIZ_QUESTIONS`` questions, a reward of at most ``MAX_AMOUNT``), so one exam
    pays at most 10**14 micros, a tenth of ``MAX_BALANCE``: an entry that cannot overflow
    a sum. A stored project from before those bounds is held to them here too."""
    if answers <= 0 or price <= 0:
        return 0
    return min(answers, MAX_QUIZ_QUESTIONS) * min(price, MAX_AMOUNT)


class Invalid(TapworkError, ValueError):
    """A value its rule refuses; ``str()`` reads on after the key: "must be … , not …".

    Kept as a message id and its parameters (``TapworkError``), so a project file's
    problem reads in the operator's language in chat and in English on the command line.
    ``where`` names the part of a table or list that was wrong (``.ko``, ``[2].value``),
    to be written right after the key.
    """

    def __init__(self, message: str, where: str = "", **params: object) -> None:
        super().__init__(message, **params)
        self.where = where


def shown(value: Any) -> str | Phrase:
    """What was written, in a few words: ``1e+300``, ``true``, ``'abc'``, "a table" (words
    are a ``Phrase``, to be read in the reader's language; values stay as written)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= 24 else phrase(N_("a number of {count} digits"),
                                                   count=len(text))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 24 else phrase(N_("text of {count} characters"),
                                                           count=len(value))
    if isinstance(value, list):
        return phrase(N_("a list"))
    if isinstance(value, dict):
        return phrase(N_("a table"))
    return phrase(N_("a date")) if hasattr(value, "isoformat") else type(value).__name__


def _number(value: float) -> str:
    """1.0 -> "1", 0.5 -> "0.5", 1_000_000 -> "1000000": how a bound reads."""
    return f"{value:g}" if abs(value) < 1e6 else str(int(value))


class Rule:
    """How one key is read. ``check`` returns the value to use or raises ``Invalid``;
    ``repair`` does the same for a document stored before the rule existed, bringing an
    out-of-range value into range instead of refusing it (None: cannot be repaired)."""

    #: the README's "type" column
    kind = ""

    def allowed(self) -> Phrase:
        """What the rule accepts, as it ends "<key> must be …"."""
        raise NotImplementedError

    def range(self) -> str:
        """The README's "allowed" column."""
        raise NotImplementedError

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def refuse(self, value: Any, why: Phrase | None = None) -> Invalid:
        if why is None:
            return Invalid(N_("must be {allowed}, not {value}"), allowed=self.allowed(),
                           value=shown(value))
        return Invalid(N_("must be {allowed}, not {value} ({why})"), allowed=self.allowed(),
                       value=shown(value), why=why)

    def repair(self, value: Any) -> Any:
        return None


@dataclass(frozen=True)
class Whole(Rule):
    low: int
    high: int
    unit: str = ""
    kind = "whole number"

    def allowed(self) -> Phrase:
        if self.unit:
            return phrase(N_("a whole number of {unit} from {low} to {high}"),
                          unit=Phrase(self.unit), low=self.low, high=self.high)
        return phrase(N_("a whole number from {low} to {high}"), low=self.low, high=self.high)

    def range(self) -> str:
        return f"{self.low} to {self.high}" + (f" {self.unit}" if self.unit else "")

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) \
                or not self.low <= value <= self.high:
            raise self.refuse(value)
        return value

    def repair(self, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return min(max(value, self.low), self.high)


@dataclass(frozen=True)
class Number(Rule):
    """A finite number within [low, high]: inf, nan and 1e300 never pass."""

    low: float
    high: float
    unit: str = ""
    kind = "number"

    def allowed(self) -> Phrase:
        low, high = _number(self.low), _number(self.high)
        if self.unit:
            return phrase(N_("a number of {unit} from {low} to {high}"),
                          unit=Phrase(self.unit), low=low, high=high)
        return phrase(N_("a number from {low} to {high}"), low=low, high=high)

    def range(self) -> str:
        return f"{_number(self.low)} to {_number(self.high)}" + (
            f" {self.unit}" if self.unit else "")

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.refuse(value)
        # an int is compared as an int: float() of a 400-digit integer would overflow
        if isinstance(value, float) and not math.isfinite(value):
            raise self.refuse(value)
        if not self.low <= value <= self.high:
            raise self.refuse(value)
        return float(value)

    def repair(self, value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                (isinstance(value, float) and math.isnan(value)):
            return None
        return float(min(max(value, self.low), self.high))


SHARE = Number(0, 1)
_DECIMAL6 = re.compile(r"^\d+(\.\d{1,6})?$")


@dataclass(frozen=True)
class ExactShare(Rule):
    """A share applied to money, read from its decimal text so that 0.1 is exactly 1/10;
    at most 6 decimals, like an amount ("1e-30" and 0.3333333 are refused)."""

    kind = "decimal"

    def allowed(self) -> Phrase:
        return phrase(N_("a decimal from {low} to {high} with at most {places} decimals"),
                      low=0, high=1, places=6)

    def range(self) -> str:
        return "0 to 1, at most 6 decimals"

    def check(self, value: Any) -> Fraction:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.refuse(value)
        text = str(value).strip()
        if not _DECIMAL6.match(text):
            raise self.refuse(value)
        share = Fraction(Decimal(text))
        if not 0 <= share <= 1:
            raise self.refuse(value)
        return share


@dataclass(frozen=True)
class Money(Rule):
    """An amount as a decimal string ("0.02"), converted exactly to micros, at most
    ``high`` micros."""

    high: int = MAX_AMOUNT
    kind = "decimal string"

    def allowed(self) -> Phrase:
        return phrase(N_('a decimal string from "{low}" to "{high}" with at most {places} '
                         'decimals'), low=0, high=self.high // MICROS, places=6)

    def range(self) -> str:
        return f'"0" to "{self.high // MICROS}", at most 6 decimals'

    def check(self, value: Any) -> int:
        if not isinstance(value, str):
            raise self.refuse(value, phrase(N_("write it in quotes, so it converts exactly"))
                              if isinstance(value, int | float) else None)
        text = value.strip()
        if text.startswith("-"):
            raise self.refuse(value, phrase(N_("negative")))
        if re.match(r"^\d+\.\d{7,}$", text):
            raise self.refuse(value, phrase(N_("more than {places} decimals"), places=6))
        if not _DECIMAL6.match(text):
            raise self.refuse(value, phrase(N_("not a decimal number")))
        micros = parse_amount(text)
        if micros > self.high:
            raise self.refuse(value, phrase(N_("more than {high}"), high=self.high // MICROS))
        return micros

    def repair(self, value: Any) -> int | None:
        try:
            return min(parse_amount(value), self.high) if isinstance(value, str) else None
        except ValueError:
            return None


@dataclass(frozen=True)
class Text(Rule):
    """Text of 1 to ``longest`` characters (surrounding spaces dropped)."""

    longest: int
    kind = "text"

    def allowed(self) -> Phrase:
        return phrase(N_("text of 1 to {longest} characters"), longest=self.longest)

    def range(self) -> str:
        return f"1 to {self.longest} characters"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.refuse(value)
        text = value.strip()
        if len(text) > self.longest:
            raise Invalid(N_("must be {allowed}, not {count} characters"),
                          allowed=self.allowed(), count=len(text))
        return text

    def repair(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return None
        text = value.strip()
        return text if len(text) <= self.longest else text[: self.longest - 1] + "…"


@dataclass(frozen=True)
class Flag(Rule):
    kind = "true or false"

    def allowed(self) -> Phrase:
        return phrase(N_("{true} or {false}"), true="true", false="false")

    def range(self) -> str:
        return "true, false"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.refuse(value)
        return value


@dataclass(frozen=True)
class Choice(Rule):
    options: tuple[str, ...]
    kind = "text"

    def allowed(self) -> Phrase:
        return phrase(N_("one of {options}"), options=", ".join(self.options))

    def range(self) -> str:
        return " \\| ".join(f"`{o}`" for o in self.options)

    def check(self, value: Any) -> str:
        if value not in self.options:
            raise self.refuse(value)
        return str(value)
