"""Every inline button's callback data, typed: one small frozen dataclass per kind.

A kind is declared once, with its fixed prefix and its fields; from that one definition
come ``pack()`` (the string a button carries), ``parse()`` (that string back, or None) and
``pattern`` (what its ``CallbackQueryHandler`` matches), so the three cannot drift apart
the way a hand-written f-string, a hand-written regex and a hand-written handler pattern
did.

The wire format is exactly the one the bot used before this module existed (``t``,
``p:12``, ``a:345:2``, ``q:7:3:u``, ``set:tz:Asia/Seoul``, ``ok:12:big``, …): buttons
already on workers' phones keep working after an upgrade. Change a prefix or a field's
order only with a migration in mind: old buttons would then answer "this button does not
work any more".

Callback data comes from the client and may be forged, so ``parse`` is strict: the whole
string must match (``\\Z``, so not even a trailing newline passes), numbers are ASCII
digits of bounded length (``[0-9]{1,12}`` unless a field says otherwise: an unbounded
run would overflow SQLite's integers), text fields match their own pattern, and nothing
extra may follow. Whether an id in it belongs to the person who tapped is the
application's check, not this module's. Telegram takes 1 to 64 bytes: ``pack`` refuses
more rather than have Telegram refuse the whole message.

Field types: ``int`` (digits; ``digits(n)`` in the field's metadata widens or narrows
it), ``str`` (its ``pattern`` in the metadata), ``Literal[...]`` (one of those words),
``bool`` (a flag: the field's name present or not), and ``X | None`` (the part left out
when None, or written as the metadata's ``none`` word).

No handler pattern may overlap another's, since PTB dispatches a tap to the first
handler whose pattern matches: ``tests/test_callbacks.py`` checks every kind against
every other kind's packed data.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, cast

#: Telegram's limit on callback data, in bytes
MAX_BYTES = 64
#: ids of our own rows: a dozen digits is far beyond any table, and well inside int64
ID_DIGITS = 12
#: Telegram user ids have up to 52 significant bits: 16 digits
USER_DIGITS = 16
_LANGUAGE = "[a-z]{2,3}"
_NAMED = re.compile(r"\(\?P<\w+>")

K = TypeVar("K", bound="CallbackData")


def digits(count: int) -> dict[str, Any]:
    """Field metadata: a number of up to ``count`` digits instead of ``ID_DIGITS``."""
    return {"digits": count}


def text(pattern: str, none: str | None = None) -> dict[str, Any]:
    """Field metadata: text matching ``pattern``; ``none`` is the word that stands for
    None (else a None field is left out)."""
    return {"pattern": pattern, "none": none}


@dataclass(frozen=True)
class _Part:
    """How one field is written: its regex, whether it may be missing, how to read it."""

    name: str
    regex: str
    optional: bool
    read: Callable[[str | None], Any]
    write: Callable[[Any], str | None]


class CallbackData:
    """The base of every kind. Subclasses are frozen dataclasses decorated with
    :func:`button`, which derives the pattern from the fields."""

    prefix: ClassVar[str]
    pattern: ClassVar[re.Pattern[str]]
    _parts: ClassVar[tuple[_Part, ...]]

    def pack(self) -> str:
        """The string the button carries; ValueError if it would not parse back or is
        longer than Telegram takes."""
        pieces = [self.prefix]
        for part in self._parts:
            written = part.write(getattr(self, part.name))
            if written is not None:
                pieces.append(written)
        data = ":".join(pieces)
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        if type(self).parse(data) != self:
            raise ValueError(f"{self!r} does not fit its own pattern: {data!r}")
        return data

    @classmethod
    def parse(cls: type[K], data: str | None) -> K | None:
        """The button this string came from, or None when it is not one of this kind
        (forged, malformed, from another kind, or with anything extra)."""
        if data is None or len(data.encode()) > MAX_BYTES:
            return None
        match = cls.pattern.match(data)
        if match is None:
            return None
        values = {part.name: part.read(match.group(part.name)) for part in cls._parts}
        return cls(**values)


#: every kind, in the order they are declared; tests walk it
KINDS: list[type[CallbackData]] = []


def button(prefix: str) -> Callable[[type[K]], type[K]]:
    """Declare a kind: ``@button("a")`` over a frozen dataclass of its fields."""

    def declare(cls: type[K]) -> type[K]:
        params = vars(cls).get("__dataclass_params__")
        assert params is not None and params.frozen, f"{cls}: a frozen dataclass"
        hints = typing.get_type_hints(cls)
        cls.prefix = prefix
        cls._parts = tuple(_part(f, hints[f.name]) for f in dataclasses.fields(cast(Any, cls)))
        regex = re.escape(prefix) + "".join(
            f"(?::{p.regex})?" if p.optional else f":{p.regex}" for p in cls._parts)
        cls.pattern = re.compile(f"^{regex}\\Z")
        KINDS.append(cls)
        return cls

    return declare


def _part(f: dataclasses.Field[Any], hint: Any) -> _Part:
    name = f.name
    args = typing.get_args(hint)
    optional = isinstance(hint, types.UnionType) and type(None) in args
    if optional:
        (hint,) = [a for a in args if a is not type(None)]
    none = f.metadata.get("none")
    if hint is bool:
        return _Part(name, f"(?P<{name}>{name})", True, lambda v: v is not None,
                     lambda v: name if v else None)
    if hint is int:
        core = f"[0-9]{{1,{f.metadata.get('digits', ID_DIGITS)}}}"

        def read_int(v: str | None) -> int | None:
            return None if v is None or v == none else int(v)

        def write_int(v: int | None) -> str | None:
            return none if v is None else str(v)

        return _Part(name, _group(name, core, none), optional and none is None,
                     read_int, write_int)
    if typing.get_origin(hint) is Literal:
        core = "|".join(re.escape(str(a)) for a in typing.get_args(hint))
    else:
        assert hint is str and "pattern" in f.metadata, f"{name}: give its pattern"
        core = f.metadata["pattern"]
    return _Part(name, _group(name, core, none), optional and none is None,
                 lambda v: None if v == none else v, lambda v: none if v is None else v)


def _group(name: str, core: str, none: str | None) -> str:
    alternatives = f"{core}|{re.escape(none)}" if none is not None else core
    return f"(?P<{name}>{alternatives})"


def parse_any(data: str | None, kinds: Iterable[type[CallbackData]]) -> CallbackData | None:
    """The first of ``kinds`` that ``data`` parses as, or None."""
    for kind in kinds:
        parsed = kind.parse(data)
        if parsed is not None:
            return parsed
    return None


def any_of(*kinds: type[CallbackData]) -> re.Pattern[str]:
    """One handler's pattern for several kinds (one handler answers them all); the
    kinds' group names are dropped, since alternatives may not share them."""
    return re.compile("|".join(f"(?:{_NAMED.sub('(?:', kind.pattern.pattern)})"
                               for kind in kinds))


# -- the work loop ---------------------------------------------------------------------

@button("t")
@dataclass(frozen=True)
class Tasks(CallbackData):
    """Back to the list of projects (/tasks)."""


@button("p")
@dataclass(frozen=True)
class Pick(CallbackData):
    """Start (or go on with) a project."""

    project: int


@button("a")
@dataclass(frozen=True)
class Answer(CallbackData):
    """A label for the task of ``assignment``: the label's position in the project."""

    assignment: int
    choice: int = field(metadata=digits(2))


@button("u")
@dataclass(frozen=True)
class Unreadable(CallbackData):
    """ "I can't make it out", for a transcription task."""

    assignment: int


@button("s")
@dataclass(frozen=True)
class Skip(CallbackData):
    assignment: int


@button("x")
@dataclass(frozen=True)
class Stop(CallbackData):
    assignment: int


@button("rl")
@dataclass(frozen=True)
class ReadsLanguage(CallbackData):
    """ "Yes, I read Korean": the language joins the worker's, then the project starts."""

    project: int
    language: str = field(metadata=text(_LANGUAGE))


@button("nt")
@dataclass(frozen=True)
class Notify(CallbackData):
    """ "Tell me when there are tasks" in this project."""

    project: int


@button("qk:1")
@dataclass(frozen=True)
class MoreMinute(CallbackData):
    """ "1 more minute?" after a /quick burst."""


# -- quizzes ---------------------------------------------------------------------------

@button("qs")
@dataclass(frozen=True)
class QuizStart(CallbackData):
    """Start practice or the exam of a project."""

    project: int


@button("q")
@dataclass(frozen=True)
class QuizAnswer(CallbackData):
    """An answer to question ``position`` of an attempt; None: "I can't make it out"."""

    attempt: int
    position: int = field(metadata=digits(3))
    choice: int | None = field(metadata={"digits": 2, "none": "u"})


# -- first contact ---------------------------------------------------------------------

@button("ok")
@dataclass(frozen=True)
class Consent(CallbackData):
    """ "I agree" (``big``: with bigger text); remembers a deep-linked project."""

    project: int | None = None
    big: bool = False


# -- settings --------------------------------------------------------------------------

SettingKey = Literal["lang", "senior", "notify", "quiet", "name", "daily"]


@button("set")
@dataclass(frozen=True)
class Setting(CallbackData):
    """A line of /settings: ``lang`` opens the language list, the others change at once."""

    key: SettingKey


@button("set:lang")
@dataclass(frozen=True)
class SetLanguage(CallbackData):
    """An interface language picked from the list."""

    code: str = field(metadata=text("[a-z]{2}"))


@button("set:reads")
@dataclass(frozen=True)
class ReadsScreen(CallbackData):
    """Opens "Which languages can you read?"."""


@button("set:read")
@dataclass(frozen=True)
class ToggleRead(CallbackData):
    """Toggles one language the worker reads."""

    code: str = field(metadata=text(_LANGUAGE))


@button("set:back")
@dataclass(frozen=True)
class SettingsBack(CallbackData):
    """From the languages one reads back to /settings."""


@button("set:tz")
@dataclass(frozen=True)
class TimeZone(CallbackData):
    """None opens the picker; a zone name chooses it; ``back`` leaves the picker. The
    name is checked against the picker's own list by the handler."""

    zone: str | None = field(default=None, metadata=text("[A-Za-z0-9_+\\-/]{1,40}"))


# -- money -----------------------------------------------------------------------------

@button("po")
@dataclass(frozen=True)
class Payout(CallbackData):
    """ "Yes, pay me out": the message id makes a double tap one request."""

    message: int


@button("top")
@dataclass(frozen=True)
class TopName(CallbackData):
    """Show or hide my name on /top."""

    choice: Literal["show", "hide"]


# -- operators -------------------------------------------------------------------------

@button("pa")
@dataclass(frozen=True)
class Approve(CallbackData):
    payout: int


@button("pp")
@dataclass(frozen=True)
class PayoutsPage(CallbackData):
    """A page of /payouts, counted from 0."""

    page: int


@button("ws")
@dataclass(frozen=True)
class Suspend(CallbackData):
    worker: int = field(metadata=digits(USER_DIGITS))
    project: int


@button("wr")
@dataclass(frozen=True)
class Reinstate(CallbackData):
    worker: int = field(metadata=digits(USER_DIGITS))
    project: int


# -- /newproject -----------------------------------------------------------------------

@button("np")
@dataclass(frozen=True)
class NewKind(CallbackData):
    kind: Literal["sentiment", "classification", "transcription"]


@button("np")
@dataclass(frozen=True)
class NewOverlap(CallbackData):
    """How many workers answer each item (checked with the whole project)."""

    count: int = field(metadata=digits(2))


@button("np:t:add")
@dataclass(frozen=True)
class TitleLanguage(CallbackData):
    """➕ the title in another language."""

    code: str = field(metadata=text("[a-z]{2}"))


@button("np:t:next")
@dataclass(frozen=True)
class TitleDone(CallbackData):
    pass


@button("np:i:add")
@dataclass(frozen=True)
class InstructionsLanguage(CallbackData):
    """➕ the instructions in another language."""

    code: str = field(metadata=text("[a-z]{2}"))


@button("np:i:next")
@dataclass(frozen=True)
class InstructionsDone(CallbackData):
    pass
