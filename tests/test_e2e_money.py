"""End to end: pay for ten answers with one gold miss, a double-tapped payout, auto pay."""

from __future__ import annotations

import json
from pathlib import Path

from bot.domain.projects import parse_project
from bot.sim.crowd import answer_tasks, join
from tests.conftest import OPERATOR_ID, Running, sentiment_doc


async def load(bot: Running, tmp_path: Path, items: list[dict[str, object]],
               **doc: object) -> None:
    await bot.services.catalog.save(parse_project(sentiment_doc(**doc)))
    file = tmp_path / "items.jsonl"
    file.write_text("".join(json.dumps(i) + "\n" for i in items))
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    await bot.services.broadcasts.notify_events()  # before anyone joins: nobody to tell


async def test_discounted_unit_tells_why_and_payout_double_tap_makes_one(
        bot: Running, tmp_path: Path) -> None:
    items: list[dict[str, object]] = [{"id": f"w{i}", "text": f"work {i}"} for i in range(9)]
    items.append({"id": "g", "text": "check: I love it", "gold": "positive",
                  "explain": "love is positive"})
    await load(bot, tmp_path, items, overlap=1, gold_rate=1.0, settle_unit=10,
               unit_accuracy=1.0, discount=0.5, reward="0.02", feedback=False)
    phone = bot.server.phone(500, "Ana")
    await join(phone, "reviews")

    def choose(text: str, buttons: list[str]) -> str:
        return "🙁 Negative" if "check:" in text else "😊 Positive"

    assert await answer_tasks(phone, choose) == 10
    notice = await phone.wait_text("Judged wrong", timeout=10)
    text = phone.text(notice) or ""
    assert "9 matched" in text and "100% were needed" in text
    assert "You were paid $0.10 of $0.20" in text
    assert "check: I love it — you said 🙁 Negative; accepted: 😊 Positive" in text

    await phone.send("/wallet")
    wallet = await phone.wait_text("Your wallet")
    assert "Ready to pay out: $0.10" in (phone.text(wallet) or "")
    await phone.send("/history")
    history = await phone.wait_text("Latest changes")
    assert "1 of 10 answers did not match" in (phone.text(history) or "")

    await phone.send("/payout")
    confirm = await phone.wait_text("Request a payout of $0.10?")
    data = confirm["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    seen = len(phone.alerts)
    await phone.tap_data(confirm, data)
    await phone.tap_data(confirm, data)  # a double tap, before the bot has answered
    await phone.wait_alert(seen + 2)
    await phone.wait_text("Payout requested: $0.10")
    requests = await bot.services.payroll.payouts()
    assert [(p.worker_id, p.amount, p.status) for p in requests] == [(500, 100_000,
                                                                       "requested")]
    balances = (await bot.services.payroll.balances(500))[500][0]
    assert (balances.available, balances.reserved) == (0, 100_000)

    # the operator approves in chat; a non-operator cannot
    stranger = bot.server.phone(501, "Eve")
    await stranger.send("/payouts")
    await stranger.wait_text("only operators")
    operator = bot.server.phone(OPERATOR_ID, "Op")
    await operator.send("/payouts")
    await operator.wait_text("Payout requests waiting")
    await operator.tap(f"✅ Approve #{requests[0].id} ($0.10)")
    await phone.wait_text("was approved and paid")
    balances = (await bot.services.payroll.balances(500))[500][0]
    assert (balances.reserved, balances.paid) == (0, 100_000)


async def test_auto_approval_pays_an_idle_unit_in_full(bot: Running, tmp_path: Path) -> None:
    await load(bot, tmp_path, [{"id": f"w{i}", "text": f"work {i}"} for i in range(5)],
               overlap=2, gold_rate=0.0, settle_unit=10, auto_approve_hours=72)
    phone = bot.server.phone(510, "Bo")
    await join(phone, "reviews")
    assert await answer_tasks(phone, lambda text, buttons: buttons[0], limit=3) == 3
    await phone.tap("⏹ Stop")
    await phone.wait_text("Stopped")
    assert (await bot.services.payroll.balances(510))[510][0].pending == 60_000
    bot.clock.advance(hours=73)
    notice = await phone.wait_text("paid in full", timeout=10)
    assert "$0.06" in (phone.text(notice) or "")
    balance = (await bot.services.payroll.balances(510))[510][0]
    assert (balance.pending, balance.available) == (0, 60_000)
