"""A broadcast never sends one recipient the message twice: a send that may have arrived
is "in doubt", never repeated, and the operator is told how many there are."""

from __future__ import annotations

from pathlib import Path

from bot.domain.records import Broadcast, BroadcastProgress
from bot.i18n import gettext_for
from bot.services.broadcast_runner import MAX_IN_FLIGHT, progress_text, senders
from tests.conftest import OPERATOR_ID, Running
from tests.test_e2e_loop import load, sentiment_items


async def test_a_send_without_an_answer_is_in_doubt_and_never_repeated(
        bot: Running, tmp_path: Path) -> None:
    await load(bot, tmp_path, sentiment_items(3), overlap=3)
    phones = [bot.server.phone(w, f"W{w}") for w in (8001, 8002, 8003)]
    for phone in phones:
        await bot.services.workers.seen(phone.id, "W", "en")
        await bot.services.workers.consent(phone.id)
    operator = bot.server.phone(OPERATOR_ID, "Op")
    # a 502 for one chat: Telegram may or may not have delivered it
    bot.server.inject("sendMessage", 502, chat_id=phones[1].id)
    await operator.send("/broadcast reviews Come back!")
    await operator.wait_text("Broadcast #1 finished", timeout=20)

    got = [sum(1 for m in p.messages if "Come back!" in (p.text(m) or "")) for p in phones]
    assert got == [1, 0, 1]
    tries = [c for c in bot.server.calls
             if c.method == "sendMessage" and c.chat_id == phones[1].id]
    assert len(tries) == 1  # not sent again after the 502
    broadcast = (await bot.services.broadcasts.unfinished() or [None])[0]
    assert broadcast is None  # done
    assert "in doubt 1 (they may not have it; not sent again)" in (operator.text() or "")
    assert "sent 2, failed 0" in (operator.text() or "")


def test_progress_shows_the_recipients_in_doubt_only_when_there_are_any() -> None:
    _ = gettext_for("en")
    broadcast = Broadcast(7, 1, None, "sending", False, 25.0, OPERATOR_ID, None)
    assert progress_text(broadcast, BroadcastProgress(10, 6, 1, 3), _, done=False) == \
        "Broadcast #7: sent 6, failed 1, left 3."
    assert progress_text(broadcast, BroadcastProgress(10, 6, 1, 2, 1), _, done=False) == \
        "Broadcast #7: sent 6, failed 1, in doubt 1, left 2."
    assert progress_text(broadcast, BroadcastProgress(10, 8, 1, 0, 1), _, done=True) == (
        "Broadcast #7 finished: sent 8, failed 1, in doubt 1 (they may not have it; not "
        "sent again).")
    ko = progress_text(broadcast, BroadcastProgress(10, 8, 1, 0, 1), gettext_for("ko"), done=True)
    assert "확인 안 됨 1" in ko


def test_one_sender_per_25_messages_a_second_and_never_more_than_four() -> None:
    assert [senders(r) for r in (1, 25, 49, 50, 100, 1000)] == [1, 1, 1, 2, 4, 4]
    assert MAX_IN_FLIGHT == 4
