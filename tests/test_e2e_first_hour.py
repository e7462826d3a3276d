"""End to end: the first hour of a new worker and an operator, as a phone sees it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.projects import parse_project
from bot.sim.crowd import join, open_task, task_id
from bot.sim.phone import Phone
from tests.conftest import Running, sentiment_doc


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
