"""The callback-data codec: one definition per button kind gives its data, its parser and
its handler's pattern, on the wire format buttons already on phones carry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from telegram.ext import CallbackQueryHandler, ConversationHandler

import handlers
from handlers.callbacks import (
    KINDS,
    Answer,
    Approve,
    CallbackData,
    Consent,
    InstructionsDone,
    InstructionsLanguage,
    MoreMinute,
    NewKind,
    NewOverlap,
    Notify,
    Payout,
    PayoutsPage,
    Pick,
    QuizAnswer,
    QuizStart,
    ReadsLanguage,
    ReadsScreen,
    Reinstate,
    SetLanguage,
    Setting,
    SettingsBack,
    Skip,
    Stop,
    Suspend,
    Tasks,
    TimeZone,
    TitleDone,
    TitleLanguage,
    ToggleRead,
    TopName,
    Unreadable,
    button,
    text,
)

#: one or more buttons of every kind, with the data the bot wrote before the codec
#: existed: a button on a phone from an older version must still parse
WIRE: list[tuple[CallbackData, str]] = [
    (Tasks(), "t"),
    (Pick(12), "p:12"),
    (Answer(345, 2), "a:345:2"),
    (Unreadable(7), "u:7"),
    (Skip(7), "s:7"),
    (Stop(7), "x:7"),
    (ReadsLanguage(3, "ko"), "rl:3:ko"),
    (Notify(3), "nt:3"),
    (MoreMinute(), "qk:1"),
    (QuizStart(4), "qs:4"),
    (QuizAnswer(9, 3, 1), "q:9:3:1"),
    (QuizAnswer(9, 3, None), "q:9:3:u"),
    (Consent(), "ok"),
    (Consent(5), "ok:5"),
    (Consent(big=True), "ok:big"),
    (Consent(5, big=True), "ok:5:big"),
    (Setting("lang"), "set:lang"),
    (Setting("senior"), "set:senior"),
    (Setting("notify"), "set:notify"),
    (Setting("quiet"), "set:quiet"),
    (Setting("name"), "set:name"),
    (Setting("daily"), "set:daily"),
    (SetLanguage("zh"), "set:lang:zh"),
    (ReadsScreen(), "set:reads"),
    (ToggleRead("ja"), "set:read:ja"),
    (SettingsBack(), "set:back"),
    (TimeZone(), "set:tz"),
    (TimeZone("America/Argentina/Buenos_Aires"), "set:tz:America/Argentina/Buenos_Aires"),
    (TimeZone("Etc/GMT+5"), "set:tz:Etc/GMT+5"),
    (TimeZone("back"), "set:tz:back"),
    (Payout(1234), "po:1234"),
    (TopName("show"), "top:show"),
    (TopName("hide"), "top:hide"),
    (Approve(8), "pa:8"),
    (PayoutsPage(0), "pp:0"),
    (Suspend(9_007_199_254_740_991, 2), "ws:9007199254740991:2"),
    (Reinstate(901, 2), "wr:901:2"),
    (NewKind("classification"), "np:classification"),
    (NewOverlap(3), "np:3"),
    (TitleLanguage("ko"), "np:t:add:ko"),
    (TitleDone(), "np:t:next"),
    (InstructionsLanguage("en"), "np:i:add:en"),
    (InstructionsDone(), "np:i:next"),
]
SAMPLES = [sample for sample, _wire in WIRE]


def test_every_kind_has_a_sample() -> None:
    assert {type(sample) for sample in SAMPLES} == set(KINDS)


@pytest.mark.parametrize(("sample", "wire"), WIRE, ids=[wire for _s, wire in WIRE])
def test_round_trip_on_the_old_wire_format(sample: CallbackData, wire: str) -> None:
    assert sample.pack() == wire
    assert type(sample).parse(wire) == sample


def _forgeries(sample: CallbackData, wire: str) -> list[str]:
    """Data a custom client might send instead of ``wire`` (a zone name may hold digits:
    the handler checks it against the picker's list)."""
    found = [wire + "\n", " " + wire, wire + " ", wire + ":extra:1:2", wire + "::",
             wire.upper() if wire.upper() != wire else wire + "!", wire + "0" * 64,
             "x" * 65, "", ":", wire.replace(":", ";")]
    if re.search("[0-9]", wire) and not isinstance(sample, TimeZone):
        for bad in ("9" * 17, "²", "٣", "-1", "1.0", "0x1", ""):
            found.append(re.sub("[0-9]+", bad, wire, count=1))
    return [f for f in found if f != wire]


@pytest.mark.parametrize(("sample", "wire"), WIRE, ids=[wire for _s, wire in WIRE])
def test_forged_data_parses_as_no_kind(sample: CallbackData, wire: str) -> None:
    for forged in _forgeries(sample, wire):
        parsed = [kind.__name__ for kind in KINDS if kind.parse(forged) is not None]
        assert parsed == [], f"{forged!r} parsed as {parsed}"


def test_numbers_are_ascii_digits_of_bounded_length() -> None:
    assert Pick.parse("p:" + "9" * 12) == Pick(10**12 - 1)
    for forged in ("p:" + "9" * 13, "p:99999999999999999999999999999", "p:²", "p:١",
                   "p:-1", "p:+1", "p:"):
        assert Pick.parse(forged) is None, forged
    assert Answer.parse("a:1:123") is None  # a label's position has two digits
    assert QuizAnswer.parse("q:1:2:x") is None
    assert Suspend.parse("ws:" + "9" * 17 + ":1") is None
    assert Pick.parse(None) is None


@pytest.mark.parametrize("kind", KINDS, ids=[kind.__name__ for kind in KINDS])
def test_each_pattern_matches_its_own_kind_only(kind: type[CallbackData]) -> None:
    """PTB hands a tap to the first handler whose pattern matches: no two may overlap."""
    for sample in SAMPLES:
        matched = kind.pattern.match(sample.pack()) is not None
        assert matched == (type(sample) is kind), (kind.__name__, sample)


class _Registry:
    """Stands in for the Application: collects what ``handlers.register`` adds."""

    def __init__(self) -> None:
        self.handlers: list[Any] = []

    def add_handler(self, handler: Any, group: int = 0) -> None:
        self.handlers.append(handler)

    def add_error_handler(self, callback: Any) -> None:
        pass


def test_every_button_reaches_exactly_one_registered_handler() -> None:
    """The patterns registered (top level and inside /newproject's conversation) are the
    kinds' own: each button is taken by one handler, and none is left to the catch-all."""
    registry = _Registry()
    handlers.register(registry)  # type: ignore[arg-type]
    patterns: list[re.Pattern[str]] = []
    for handler in registry.handlers:
        inner = [h for state in handler.states.values() for h in state] \
            if isinstance(handler, ConversationHandler) else [handler]
        patterns += [h.pattern for h in inner
                     if isinstance(h, CallbackQueryHandler) and h.pattern is not None]
    for sample in SAMPLES:
        taken = [p.pattern for p in patterns if p.match(sample.pack())]
        assert len(taken) == 1, (sample, taken)


def test_pack_refuses_what_telegram_or_parse_would_refuse() -> None:
    @dataclass(frozen=True)
    class Long(CallbackData):
        words: str = field(metadata=text("[a-z]{1,100}"))

    try:
        declared = button("zz")(Long)
        assert declared(words="a" * 61).pack() == "zz:" + "a" * 61  # 64 bytes
        with pytest.raises(ValueError, match="over 64 bytes"):
            declared(words="a" * 62).pack()
        assert declared.parse("zz:" + "a" * 62) is None
    finally:
        KINDS.remove(Long)
    for bad in (Pick(10**12), Pick(-1), SetLanguage("xyz"), TimeZone("Mars Base"),
                Answer(1, 100)):
        with pytest.raises(ValueError):
            bad.pack()
