"""End to end: the real bot, over HTTP, against simulated people on phones."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from bot.domain.projects import parse_project
from bot.sim.crowd import answer_tasks, join, open_task, task_id
from tests.conftest import Running, sentiment_doc
from tests.state import answered_count, assignments
from tests.waiting import eventually

GOLD = {"positive": "😊 Positive", "neutral": "😐 Neutral", "negative": "🙁 Negative"}


def sentiment_items(n: int) -> list[dict[str, object]]:
    """Work items; ``truth`` is what the simulated people know, not a gold check."""
    labels = list(GOLD)
    return [{"id": f"r{i}", "text": f"review number {i}", "truth": labels[i % 3]}
            for i in range(n)]


async def load(running: Running, tmp_path: Path, items: list[dict[str, object]],
               **doc: object) -> None:
    spec = parse_project(sentiment_doc(**doc))
    await running.services.catalog.save(spec)
    file = tmp_path / "items.jsonl"
    file.write_text("".join(
        json.dumps({k: v for k, v in i.items() if k != "truth"}, ensure_ascii=False) + "\n"
        for i in items))
    result = await running.services.catalog.import_file(spec.name, file)
    assert result.ok, result.errors
    await running.services.broadcasts.notify_events()  # before anyone joins: nobody to tell


async def test_five_workers_finish_a_sentiment_project_with_overlap_three(
        bot: Running, tmp_path: Path) -> None:
    items = sentiment_items(12)
    await load(bot, tmp_path, items, overlap=3)
    truth = {f"review number {i}": GOLD[str(it["truth"])] for i, it in enumerate(items)}

    def choose(text: str, buttons: list[str]) -> str:
        sentence = next(line for line in text.splitlines() if line.startswith("review"))
        return truth[sentence]

    phones = [bot.server.phone(100 + i, f"W{i}") for i in range(5)]
    for phone in phones:
        first = await join(phone, "reviews")
        assert task_id(first) is not None
    done = await asyncio.gather(*[answer_tasks(p, choose) for p in phones])
    assert sum(done) == 36  # 12 items x overlap 3
    for phone in phones:
        assert "every task in this project" in (phone.text() or "")
        saved = [a for a in phone.alerts if a.startswith("✓ Saved ·")]
        assert len(saved) == done[phones.index(phone)]
        assert saved[-1] == f"✓ Saved · +$0.02 · {len(saved)} today"

    out = io.StringIO()
    assert await bot.services.reports.export("reviews", out) == 12
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    gold = {str(i["id"]): i["truth"] for i in items}
    for row in rows:
        workers = [a["worker"] for a in row["answers"]]
        assert len(workers) == 3 and len(set(workers)) == 3
        assert row["label"] == gold[row["id"]]
        assert all(a["answered_at"].endswith("Z") and a["seconds"] >= 0
                   for a in row["answers"])
    csv_out = io.StringIO()
    assert await bot.services.reports.export("reviews", csv_out, "csv") == 36
    assert csv_out.getvalue().splitlines()[0].startswith("item,worker,label")
    stats = {s.name: s for s in await bot.services.reports.stats()}
    assert stats["reviews"].done == 12 and stats["reviews"].answers == 36


async def test_text_tasks_are_replaced_in_place(bot: Running, tmp_path: Path) -> None:
    await load(bot, tmp_path, sentiment_items(3), overlap=1)
    phone = bot.server.phone(7, "Min")
    first = await join(phone, "reviews")
    before = len(phone.messages)
    bot.server.reset_calls()
    await answer_tasks(phone, lambda text, buttons: buttons[0], limit=2)
    assert len(phone.messages) == before  # the same message was edited, nothing piled up
    assert phone.last is not None and phone.last["message_id"] == first["message_id"]
    methods = [c.method for c in bot.server.calls]
    assert methods.count("editMessageText") == 2 and methods.count("sendMessage") == 0
    assert methods.count("answerCallbackQuery") == 2


async def test_double_tap_and_replayed_update_leave_one_answer(bot: Running,
                                                              tmp_path: Path) -> None:
    await load(bot, tmp_path, sentiment_items(5), overlap=1)
    phone = bot.server.phone(8, "Jun", language_code="ko")
    task = await join(phone, "reviews")
    assert "긍정" in " ".join(b for row in phone.buttons(task) for b in row)
    seen = len(phone.alerts)
    answered_calls = bot.server.count("answerCallbackQuery")
    tap = await phone.tap("😊 긍정", task)
    await phone.tap_data(task, tap["callback_query"]["data"])  # the second tap
    bot.server.replay(tap)  # and the same update delivered again
    await phone.wait_alert(seen + 2)
    # the replayed query's answer may be refused as "too old"
    await eventually(lambda: bot.server.count("answerCallbackQuery") >= answered_calls + 3)
    assert phone.alerts[seen] == "✓ 저장됨 · +US$0.02 · 오늘 1개"
    repeats = phone.alerts[seen + 1:]
    assert repeats and set(repeats) == {"이미 저장된 답이에요."}
    assert answered_count(bot.services.db) == 1


async def test_forged_callback_data_is_refused(bot: Running, tmp_path: Path) -> None:
    await load(bot, tmp_path, sentiment_items(5), overlap=2)
    alice, mallory = bot.server.phone(21, "Alice"), bot.server.phone(22, "Mallory")
    task = await join(alice, "reviews")
    await join(mallory, "reviews")
    alice_task = task_id(task)
    seen = len(mallory.alerts)
    for data in (f"a:{alice_task}:0", "a:999999:0", f"a:{alice_task}:9", "a:x:1", "zz"):
        await mallory.tap_data(mallory.last, data)
    await mallory.wait_alert(seen + 5)
    assert all("does not work" in a for a in mallory.alerts[seen:])
    # nothing was answered, skipped or closed
    assert [a for a in assignments(bot.services.db) if a.status != "open"] == []
    assert open_task(alice) is not None


async def test_expired_lease_sends_the_item_to_someone_else(bot: Running,
                                                           tmp_path: Path) -> None:
    await load(bot, tmp_path, sentiment_items(1), overlap=1, lease_minutes=5)
    slow, quick = bot.server.phone(31, "Slow"), bot.server.phone(32, "Quick")
    task = await join(slow, "reviews")
    assert task_id(task) is not None
    nothing = await join(quick, "reviews")
    assert task_id(nothing) is None
    bot.clock.advance(minutes=6)
    # the lease job runs every 0.1 s of real time
    assert await eventually(lambda: assignments(bot.services.db)[0].status == "expired")
    await quick.tap("📋 Other projects")
    await quick.wait_for(lambda p: "Pick a project" in (p.text() or ""))
    await quick.tap(next(b for row in quick.buttons() for b in row if "Reviews" in b))
    again = await quick.wait_for(open_task)
    assert "review number 0" in (quick.text(again) or "")
    await slow.tap("😊 Positive", task)
    assert "timed out" in await slow.wait_alert(2)
    await slow.wait_text("every task in this project")  # the only item is someone else's now


async def test_stop_on_a_task_whose_lease_ran_out_still_ends_on_the_stopped_screen(
        bot: Running, tmp_path: Path) -> None:
    """The lease expired while the phone showed the task: Stop must not leave its answer
    buttons on screen under a "Stopped" pop-up."""
    await load(bot, tmp_path, sentiment_items(2), overlap=1, lease_minutes=5)
    phone = bot.server.phone(33, "Late")
    task = await join(phone, "reviews")
    assert task_id(task) is not None
    bot.clock.advance(minutes=6)
    # the lease job runs every 0.1 s of real time
    assert await eventually(lambda: assignments(bot.services.db)[0].status == "expired")
    await phone.tap("⏹ Stop", task)
    stopped = await phone.wait_text("Tap Continue when you have another minute")
    assert open_task(phone) is None
    assert "▶️ Continue" in [b for row in phone.buttons(stopped) for b in row]


async def test_429_is_honoured_and_the_loop_carries_on(bot: Running, tmp_path: Path) -> None:
    await load(bot, tmp_path, sentiment_items(3), overlap=1)
    phone = bot.server.phone(41, "Ann")
    await join(phone, "reviews")
    bot.server.inject("editMessageText", 429, retry_after=1)
    assert await answer_tasks(phone, lambda text, buttons: buttons[0], limit=2) == 2
    statuses = [c.status for c in bot.server.calls if c.method == "editMessageText"]
    assert statuses[:2] == [429, 200]


async def test_blocked_user_is_marked_inactive(bot: Running, tmp_path: Path) -> None:
    await load(bot, tmp_path, sentiment_items(3), overlap=1)
    phone = bot.server.phone(51, "Gone")
    task = await join(phone, "reviews")
    bot.server.inject("editMessageText", 403)
    await phone.tap("😊 Positive", task)
    async def gone() -> bool:
        worker = await bot.services.workers.get(51)
        return worker is not None and not worker.active

    assert await eventually(gone)
    assert await bot.services.work.current(51) is None  # the next item went back
