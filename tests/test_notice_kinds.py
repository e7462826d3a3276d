"""Outbox notices are typed (bot/domain/notice_kinds.py): every kind renders in every language,
survives the trip through storage, old rows still read, and a row this version cannot
read is failed with its reason instead of being retried or dropped in silence."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest

from bot.domain.notice_kinds import (
    KINDS,
    BonusGiven,
    BroadcastHeld,
    DailySummary,
    NewItems,
    Notice,
    NoticeBody,
    PayoutApproved,
    PayoutRejected,
    ProjectOpened,
    UnitSettled,
    WrongAnswer,
)
from bot.i18n import gettext_for
from bot.wiring import Services
from handlers.notices import render
from storage import notice_json
from tests.conftest import add_project, add_worker
from tests.state import outbox_rows, put_raw_notice

TITLE = {"en": "How does this review feel?", "ko": "이 리뷰는 어떤 느낌인가요?",
         "zh": "这条评论给人什么感觉？"}
LANGUAGES = ("en", "ko", "zh")
WRONG = (WrongAnswer("r7", "배송이 빨라요 ★", "positive", "negative"),)

#: per kind, the notices to render, given the project's id; a kind added to
#: ``bot.notice_kinds.KINDS`` without an entry here fails the tests below
CASES: dict[str, Callable[[int], list[NoticeBody]]] = {
    "settled": lambda p: [
        UnitSettled(p, "full", "USD", 10, 1.0, 200_000, 200_000, 1.0, bonus=40_000),
        UnitSettled(p, "discounted", "USD", 10, 1.0, 200_000, 100_000, 0.9, wrong=WRONG),
        UnitSettled(p, "auto", "USD", 10, 1.0, 200_000, 200_000)],
    "bonus": lambda p: [BonusGiven(500_000, "USD", "🎉")],
    "payout_approved": lambda p: [PayoutApproved(2_000_000, "USD")],
    "payout_rejected": lambda p: [PayoutRejected(2_000_000, "USD", "IBAN ≠ 123")],
    "opened": lambda p: [ProjectOpened(p)],
    "new_items": lambda p: [NewItems(p)],
    "broadcast": lambda p: [BroadcastHeld(p)],
    "summary": lambda p: [DailySummary((("USD", 20_000),), 10, 9, 3),
                          DailySummary((), 0, 0, 0)],
}
_WORD = re.compile(r"[A-Za-z]{2,}")
#: commands such as /tasks are typed as they are in every language
_COMMAND = re.compile(r"/[a-z_]+")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(_COMMAND.sub("", text))}


async def _rendered(services: Services, kind: str) -> dict[str, list[str]]:
    """Every case of ``kind``, rendered in each language, as the delivery would."""
    project_id = await add_project(services, items=3, name="reviews-2024", title=TITLE)
    await add_worker(services, 1)
    texts: dict[str, list[str]] = {}
    for language in LANGUAGES:
        texts[language] = []
        for body in CASES[kind](project_id):
            notice = Notice(1, 1, body)
            message = render(body, await services.delivery.about(notice),
                             gettext_for(language))
            texts[language].append(message.text)
    return texts


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_every_kind_renders_in_every_language(services: Services, kind: str) -> None:
    texts = await _rendered(services, kind)
    for language, rendered in texts.items():
        for text in rendered:
            assert text.strip(), (kind, language)
            assert not re.search(r"\{[a-z_]+\}", text), (kind, language, text)
            assert "reviews-2024" not in text, (kind, language, text)
    for language in ("ko", "zh"):
        for en, text in zip(texts["en"], texts[language], strict=True):
            english = _words(en) - {"iban"}  # the operator's own words
            assert not english & _words(text), (kind, language, text)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_survives_storage(kind: str) -> None:
    for body in CASES[kind](42):
        assert kind == body.KIND
        assert notice_json.loads(kind, notice_json.dumps(body)) == body


#: rows as tapwork wrote them before notices were typed (no kind tag; "text" for reasons;
#: the oldest settlements named the project by its slug)
OLD_ROWS = [
    ("settled", '{"project": "reviews-2024", "outcome": "discounted", "bonus": 0, '
                '"currency": "USD", "answers": 10, "accuracy": 0.9, "needed": 1.0, '
                '"value": 200000, "paid": 100000, "wrong": [{"item": "r7", "text": null, '
                '"answer": "positive", "accepted": "negative"}]}',
     UnitSettled(None, "discounted", "USD", 10, 1.0, 200_000, 100_000, 0.9,
                 wrong=(WrongAnswer("r7", None, "positive", "negative"),),
                 project_slug="reviews-2024")),
    ("settled", '{"project_id": 1, "outcome": "full", "bonus": 40000, "currency": "USD", '
                '"answers": 10, "accuracy": 1.0, "needed": 1.0, "value": 200000, '
                '"paid": 200000, "wrong": []}',
     UnitSettled(1, "full", "USD", 10, 1.0, 200_000, 200_000, 1.0, bonus=40_000)),
    ("bonus", '{"amount": 500000, "currency": "USD", "text": "great week"}',
     BonusGiven(500_000, "USD", "great week")),
    ("payout_approved", '{"amount": 2000000, "currency": "USD", "text": ""}',
     PayoutApproved(2_000_000, "USD")),
    ("payout_rejected", '{"amount": 2000000, "currency": "USD", "text": "no bank"}',
     PayoutRejected(2_000_000, "USD", "no bank")),
    ("opened", '{"project_id": 1}', ProjectOpened(1)),
    ("new_items", '{"project_id": 1}', NewItems(1)),
    ("broadcast", '{"project_id": 1, "text": null}', BroadcastHeld(1)),
    ("broadcast", '{"project_id": 1, "text": "Come back"}', BroadcastHeld(1, "Come back")),
    ("summary", '{"earned": {"USD": 20000}, "gold_total": 4, "gold_correct": 3, '
                '"waiting": 3}', DailySummary((("USD", 20_000),), 4, 3, 3)),
]


def test_every_kind_has_an_old_row() -> None:
    assert {kind for kind, _payload, _body in OLD_ROWS} == set(KINDS)


@pytest.mark.parametrize(("kind", "payload", "body"), OLD_ROWS)
def test_rows_written_before_notices_were_typed_still_read(kind: str, payload: str,
                                                           body: NoticeBody) -> None:
    assert notice_json.loads(kind, payload) == body


async def _insert(services: Services, kind: str, payload: str, key: str) -> None:
    put_raw_notice(services.db, 1, kind, payload, key)


@pytest.mark.parametrize(("kind", "payload", "reason"), [
    ("raffle", '{"prize": 1}', "unknown notice kind 'raffle'"),
    ("bonus", '{"amount": "lots", "currency": "USD"}', "field 'amount' is str"),
    ("bonus", '{"currency": "USD"}', "field 'amount' is missing"),
    ("opened", "not json", "payload is not JSON"),
    ("opened", "[1]", "payload is not a JSON object"),
    ("opened", '{"kind": "bonus", "project_id": 1}', "payload says kind 'bonus'"),
    ("summary", '{"earned": {"USD": 0.5}}', "earned 'USD' is not a whole number"),
])
async def test_an_unreadable_row_is_failed_with_its_reason_and_logged_once(
        services: Services, caplog: pytest.LogCaptureFixture, kind: str, payload: str,
        reason: str) -> None:
    await add_worker(services, 1)
    await _insert(services, kind, payload, "bad")
    await _insert(services, "bonus", '{"amount": 1, "currency": "USD", "text": "ok"}', "ok")
    with caplog.at_level(logging.ERROR, logger="bot.services.notices"):
        due = await services.notices.due()
        assert [n.body for n in due] == [BonusGiven(1, "USD", "ok")]
        assert [n.body for n in await services.notices.due()] == [BonusGiven(1, "USD", "ok")]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and reason in errors[0].getMessage()
    [bad] = [n for n in outbox_rows(services.db) if n.key == "bad"]
    assert (bad.outcome, bad.sent_at is not None) == ("failed", True)
    assert bad.error is not None and reason in bad.error
    assert (await services.notices.outcomes()).get("failed") == 1
