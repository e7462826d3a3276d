"""End to end: the first hour of a new worker and an operator, as a phone sees it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.app import running
from bot.clock import FakeClock
from bot.domain.projects import parse_project
from bot.sim.crowd import join, open_task, task_id
from bot.sim.phone import Phone
from bot.sim.standin import BotApiStandIn
from bot.wiring import Services
from tests.conftest import OPERATOR_ID, Running, e2e_config, sentiment_doc


async def load(bot: Running, tmp_path: Path, count: int, **doc: object) -> None:
    await bot.services.catalog.save(parse_project(sentiment_doc(**doc)))
    file = tmp_path / "items.jsonl"
    file.write_text("".join(json.dumps({"id": f"i{i}", "text": f"review {i}"}) + "\n"
                            for i in range(count)))
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    await bot.services.broadcasts.notify_events()


async def next_task(phone: Phone, after: int | None) -> dict[str, object]:
    found: dict[str, object] = await phone.wait_for(
        lambda p: open_task(p) if task_id(open_task(p)) not in (None, after) else None)
    return found


# -- skip ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "skip", "skipped", "saved"), [
    ("en", "⏭ Skip", "⏭ Skipped", "✓ Saved · +$0.02 · {n} today"),
    ("ko", "⏭ 건너뛰기", "⏭ 건너뛰었어요", "✓ 저장됨 · +US$0.02 · 오늘 {n}개"),
])
async def test_skip_says_skipped_and_is_not_counted(bot: Running, tmp_path: Path,
                                                    language: str, skip: str, skipped: str,
                                                    saved: str) -> None:
    await load(bot, tmp_path, 6, gold_rate=0.0)
    phone = bot.server.phone(900, "Ann", language_code=language)
    task = await join(phone, "reviews")
    first, seen = task_id(task), len(phone.alerts)  # "Thank you!" for the consent
    await phone.tap(skip, task)
    assert await phone.wait_alert(seen + 1) == skipped
    task = await next_task(phone, first)
    await phone.tap(phone.buttons(task)[0][0], task)
    # one answer after one skip: the progress line counts the answer only
    assert await phone.wait_alert(seen + 2) == saved.format(n=1)
    task = await next_task(phone, task_id(task))
    await phone.tap(skip, task)
    assert await phone.wait_alert(seen + 3) == skipped
    task = await next_task(phone, task_id(task))
    await phone.tap(phone.buttons(task)[0][0], task)
    assert await phone.wait_alert(seen + 4) == saved.format(n=2)
    assert phone.alerts[seen::2] == [skipped, skipped]  # no pay promised on a skip


async def test_skip_in_bigger_text_mode_leaves_skipped_on_screen(bot: Running,
                                                                 tmp_path: Path) -> None:
    await load(bot, tmp_path, 4, gold_rate=0.0)
    await bot.services.workers.seen(901, "Gran", "en")
    await bot.services.workers.consent(901)
    await bot.services.workers.update(901, senior=1)
    phone = bot.server.phone(901, "Gran")
    task = await join(phone, "reviews")
    await phone.tap("⏭ Skip", task)
    following = await next_task(phone, task_id(task))
    text = phone.text(following) or ""
    assert text.startswith("⏭ Skipped") and "Saved" not in text


# -- command menus, /help and /whoami ------------------------------------------------------

WORKER = ["tasks", "quick", "wallet", "history", "payout", "top", "settings", "help", "whoami"]
OPERATOR = ["dashboard", "projects", "project", "newproject", "pause", "resume", "export", "worker",
            "broadcast", "payouts", "reject"]


def names(menu: list[dict[str, str]]) -> list[str]:
    return [c["command"] for c in menu]


async def test_menu_is_set_per_language_with_every_worker_command(bot: Running) -> None:
    menus = {code: bot.server.my_commands(language_code=code) for code in ("", "ko", "zh")}
    for code, menu in menus.items():
        assert names(menu) == WORKER, code
    described = {code: dict((c["command"], c["description"]) for c in menu)
                 for code, menu in menus.items()}
    assert described[""]["tasks"] == "Find a task"
    assert described["ko"]["tasks"] == "작업 찾기"
    assert described["zh"]["wallet"] != described[""]["wallet"]
    for code in ("ko", "zh"):  # no English left in a translated menu
        assert not any(set(d) & set("abcdefghijklmnopqrstuvwxyz")
                       for d in described[code].values()), described[code]
    # the operator never wrote to this bot yet: Telegram refuses their chat scope, the bot
    # starts anyway and sets it at their first /start
    scope = {"type": "chat", "chat_id": OPERATOR_ID}
    assert bot.server.my_commands(scope) == []
    operator = bot.server.phone(OPERATOR_ID, "Op", language_code="zh-hans")
    await operator.send("/start")
    await operator.wait_for(lambda p: p.last)
    menu = bot.server.my_commands(scope)
    assert names(menu) == WORKER + OPERATOR
    assert menu[0]["description"] == described["zh"]["tasks"]
    stranger = bot.server.phone(905, "Sam")
    await stranger.send("/start")
    await stranger.wait_for(lambda p: p.last)
    assert bot.server.my_commands({"type": "chat", "chat_id": 905}) == []


async def test_operator_menu_at_start_up_in_their_language(server: BotApiStandIn,
                                                            storage_url: str,
                                                            clock: FakeClock) -> None:
    config = e2e_config(server, storage_url)
    services = await Services.open(config, clock)
    await services.workers.seen(OPERATOR_ID, "Op", "ko")
    await services.close()
    server.phone(OPERATOR_ID, "Op", language_code="ko")
    async with running(config, clock, poll_timeout=1):
        menu = server.my_commands({"type": "chat", "chat_id": OPERATOR_ID})
    assert names(menu) == WORKER + OPERATOR
    assert menu[0]["description"] == "작업 찾기"


@pytest.mark.parametrize("language", ["en", "ko", "zh-hans"])
async def test_help_names_every_command_and_bigger_text(bot: Running, language: str) -> None:
    phone = bot.server.phone(906, "Ann", language_code=language)
    await phone.send("/help")
    text = phone.text(await phone.wait_for(lambda p: p.last)) or ""
    for command in WORKER:
        assert f"/{command} — " in text, command
    assert "/settings" in text.split("/tasks — ")[0]  # said in the text, not only listed
    assert not any(f"/{command}" in text for command in OPERATOR)
    bigger = {"en": "Bigger text", "ko": "큰 글씨", "zh-hans": "大字"}[language]
    assert bigger in text


async def test_operator_help_adds_operator_commands(bot: Running) -> None:
    operator = bot.server.phone(OPERATOR_ID, "Op")
    await operator.send("/help")
    text = operator.text(await operator.wait_for(lambda p: p.last)) or ""
    assert "Operator commands:" in text
    for command in WORKER + OPERATOR:
        assert f"/{command} — " in text, command
    assert names(bot.server.my_commands({"type": "chat", "chat_id": OPERATOR_ID})) \
        == WORKER + OPERATOR


@pytest.mark.parametrize(("user", "operator"), [(907, False), (OPERATOR_ID, True)])
async def test_whoami_tells_the_telegram_id(bot: Running, user: int, operator: bool) -> None:
    phone = bot.server.phone(user, "Ann")
    await phone.send("/whoami")
    text = phone.text(await phone.wait_text(str(user))) or ""
    assert text.startswith(f"Your Telegram id: {user}")
    assert ("operator" in text) is operator


# -- money as people read it: rates, the minimum payout, the currency's name ----------------


async def test_hourly_rate_in_cents_with_bonuses_beside_it(bot: Running, tmp_path: Path) -> None:
    await load(bot, tmp_path, 6, gold_rate=0.0, settle_unit=10)
    phone = bot.server.phone(910, "Ann")
    task = await join(phone, "reviews")
    # the first task's clock starts when the bot has recorded its delivery, which may be
    # just after the phone sees it: answered at once, it takes no time either way
    for wait in (0, 37, 37, 37):  # 4 x $0.02 in 111 s: $2.594594… an hour
        bot.clock.advance(seconds=wait)
        await phone.tap("😊 Positive", task)
        task = await next_task(phone, task_id(task))
    await bot.services.payroll.bonus(910, 1_000_000, "USD", "welcome", "w1")
    await phone.send("/wallet")
    text = phone.text(await phone.wait_text("Your wallet")) or ""
    assert "Your real hourly rate: $2.59 per hour of tasks" in text
    assert "Bonuses so far: $1.00 (on top of the hourly rate)" in text
    operator = bot.server.phone(OPERATOR_ID, "Op")
    await operator.send("/project reviews")
    report = operator.text(await operator.wait_text("Median real hourly rate")) or ""
    assert "Median real hourly rate of its workers: $2.59." in report


async def test_wallet_shows_the_minimum_and_the_button_only_when_reached(
        bot: Running) -> None:
    await bot.services.workers.seen(911, "Ann", "en")
    await bot.services.workers.consent(911)
    await bot.services.payroll.bonus(911, 20_000, "USD", "hello", "b1")  # minimum: $0.05
    phone = bot.server.phone(911, "Ann")
    await phone.send("/wallet")
    wallet = await phone.wait_text("Your wallet")
    text = phone.text(wallet) or ""
    assert "<b>" not in text and "US Dollar" in text and "USD" not in text
    assert "Ready to pay out: $0.02 of the $0.05 minimum" in text
    assert phone.buttons(wallet) == []
    await phone.send("/payout")
    refusal = await phone.wait_text("more to go")
    assert phone.text(refusal) == ("$0.02 is ready; payouts start at $0.05, so $0.03 more "
                                   "to go.")
    assert phone.buttons(refusal) == []  # nothing to confirm, nothing refused later

    await bot.services.payroll.bonus(911, 40_000, "USD", "more", "b2")
    await phone.send("/wallet")
    wallet = await phone.wait_for(
        lambda p: p.last if "$0.06" in (p.text(p.last) or "") else None)
    assert "Ready to pay out: $0.06\n" in (phone.text(wallet) or "")
    assert phone.buttons(wallet) == [["💸 Request a payout"]]
    await phone.tap("💸 Request a payout", wallet)
    await phone.wait_text("Payout requested: $0.06")
    assert [p.amount for p in await bot.services.payroll.payouts()] == [60_000]


@pytest.mark.parametrize(("language", "heading", "ready"), [
    ("ko", "미국 달러", "지급 가능: US$0.02 (최소 지급액 US$0.05)"),
    ("zh-hans", "美元", "可提现：US$0.02（最低提现金额 US$0.05）"),
])
async def test_wallet_currency_heading_is_in_the_readers_words(
        bot: Running, language: str, heading: str, ready: str) -> None:
    await bot.services.workers.seen(912, "Ann", language)
    await bot.services.workers.consent(912)
    await bot.services.payroll.bonus(912, 20_000, "USD", "hello", "b1")
    phone = bot.server.phone(912, "Ann", language_code=language)
    await phone.send("/wallet")
    text = phone.text(await phone.wait_text(heading)) or ""
    assert ready in text and "USD" not in text


# -- time zones: a default from the language, a picker by offset and city -------------------


def all_buttons(message: dict[str, object]) -> list[dict[str, str]]:
    markup = message.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return [b for row in markup.get("inline_keyboard", []) for b in row]


@pytest.mark.parametrize(("language", "line"), [
    ("ko", "🕒 시간대: UTC+9 · 서울"), ("zh-hans", "🕒 时区：UTC+8 · 上海"),
    ("en", "🕒 Time zone: UTC"),
])
async def test_settings_show_a_default_zone_by_city(bot: Running, language: str,
                                                    line: str) -> None:
    phone = bot.server.phone(920, "Ann", language_code=language)
    await phone.send("/settings")
    screen = await phone.wait_for(lambda p: p.last)
    assert [line] in phone.buttons(screen)


async def test_time_zone_picker_by_offset_with_forged_zones_refused(bot: Running) -> None:
    phone = bot.server.phone(921, "Min", language_code="ko")
    await phone.send("/settings")
    screen = await phone.wait_for(lambda p: p.last)
    await phone.tap("🕒 시간대: UTC+9 · 서울", screen)
    picker = await phone.wait_text("시간이 같은 곳")
    labels = [b["text"] for b in all_buttons(picker)]
    assert "✓ UTC+9 · 서울" in labels and "UTC+5:30 · 콜카타" in labels
    assert labels.index("UTC-3 · 상파울루") < labels.index("UTC+5:45 · 카트만두")
    assert not any("/" in label or "Asia" in label for label in labels)
    assert all(len(b["callback_data"].encode()) <= 64 for b in all_buttons(picker))

    for forged in ("set:tz:Europe/Paris", "set:tz:" + "Asia/" * 12, "set:tz:Asia/Seoul;x"):
        seen = len(phone.alerts)
        await phone.tap_data(picker, forged)
        assert "쓸 수 없어요" in await phone.wait_alert(seen + 1)
    assert (await bot.services.workers.get(921)).timezone == "Asia/Seoul"  # type: ignore[union-attr]

    await phone.tap("UTC+5:30 · 콜카타", picker)
    await phone.wait_for(lambda p: ["🕒 시간대: UTC+5:30 · 콜카타"] in p.buttons(picker))
    assert (await bot.services.workers.get(921)).timezone == "Asia/Kolkata"  # type: ignore[union-attr]
    assert phone.alerts[-1] == "저장했어요."

    await phone.tap("🕒 시간대: UTC+5:30 · 콜카타", picker)
    await phone.wait_for(lambda p: "◀️ 돌아가기" in [b["text"] for b in all_buttons(picker)])
    await phone.tap("◀️ 돌아가기", picker)
    await phone.wait_for(lambda p: ["🕒 시간대: UTC+5:30 · 콜카타"] in p.buttons(picker))
    await phone.send("/start")  # a later visit keeps the zone the worker chose
    await phone.wait_for(lambda p: p.last and p.last["message_id"] != picker["message_id"])
    assert (await bot.services.workers.get(921)).timezone == "Asia/Kolkata"  # type: ignore[union-attr]
