"""End to end: imports in chat never stall the workers, and refuse hostile lines in words.

Interleaving is shown by the order of events (a batch written, an answer acknowledged on
a phone), never by timing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

from bot.domain.projects import parse_project
from bot.intake.loader import PUBLISHED, STAGED
from bot.intake.records import BATCH_LINES, MAX_ID
from bot.sim.crowd import answer_tasks, join, task_id
from tests.conftest import OPERATOR_ID, Running, sentiment_doc

BUTTONS = ["😊 Positive", "😐 Neutral", "🙁 Negative"]


async def work_project(bot: Running, tmp_path: Path, items: int) -> None:
    await bot.services.catalog.save(parse_project(sentiment_doc("reviews", language="en")))
    file = tmp_path / "work.jsonl"
    file.write_text("".join(json.dumps({"id": f"w{i}", "text": f"review {i}"}) + "\n"
                            for i in range(items)))
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    await bot.services.broadcasts.notify_events()


def gaps_with_answers(events: list[str], kind: str) -> tuple[int, int]:
    """(gaps between two consecutive ``kind`` batches holding an answer, all such gaps)"""
    positions = [n for n, event in enumerate(events) if event == kind]
    gaps = list(itertools.pairwise(positions))
    busy = sum(1 for start, end in gaps if "answer" in events[start + 1:end])
    return busy, len(gaps)


async def test_workers_are_answered_between_the_batches_of_a_big_import(
        bot: Running, tmp_path: Path) -> None:
    await work_project(bot, tmp_path, items=3_000)
    await bot.services.catalog.save(parse_project(sentiment_doc("big", language="en")))
    events: list[str] = []
    bot.services.catalog.loader.on_batch.append(lambda kind, _count: events.append(kind))

    phones = [bot.server.phone(500 + n, f"W{n}") for n in range(3)]
    for phone in phones:
        assert task_id(await join(phone, "reviews")) is not None
    workers = [asyncio.create_task(answer_tasks(
        phone, lambda _text, _buttons: BUTTONS[0], limit=1_000_000, timeout=30,
        on_answer=lambda _phone, _task: events.append("answer"))) for phone in phones]

    size = 30 * BATCH_LINES
    big = "".join(json.dumps({"id": f"b{n}", "text": f"big item {n}"}) + "\n"
                  for n in range(size))
    op = bot.server.phone(OPERATOR_ID, "Op")
    await op.send_document(big.encode(), "big.jsonl", caption="/import big")
    report = await op.wait_text("big.jsonl imported.", timeout=120)
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)

    assert f"{size} items: {size} tasks" in (op.text(report) or "")
    assert events.count(STAGED) == events.count(PUBLISHED) == size // BATCH_LINES
    assert events.index(PUBLISHED) > max(n for n, e in enumerate(events) if e == STAGED)
    staged_busy, staged_gaps = gaps_with_answers(events, STAGED)
    published_busy, published_gaps = gaps_with_answers(events, PUBLISHED)
    # answers were acknowledged between batches while checking and writing, and while
    # publishing (where nothing but the lock's release lets them in)
    assert staged_busy >= staged_gaps // 3, events
    assert published_busy >= published_gaps // 3, events
    assert events.count("answer") >= 20


async def test_a_5000_digit_id_on_line_2_is_refused_in_chat(bot: Running) -> None:
    """It crashed the handler ("something went wrong"): now a line-numbered refusal."""
    await bot.services.catalog.save(parse_project(sentiment_doc("reviews")))
    op = bot.server.phone(OPERATOR_ID, "Op")
    data = ('{"id": "1", "text": "fine"}\n{"id": ' + "9" * 5000 +
            ', "text": "a very long id"}\n').encode()
    await op.send_document(data, "items.jsonl", caption="/import reviews")
    report = op.text(await op.wait_text("nothing was imported", timeout=10)) or ""
    assert report.splitlines() == [
        "items.jsonl: 1 problem, nothing was imported",
        f"  line 2: id is too long: 5000 characters (the limit is {MAX_ID})"]
    assert not any("something went wrong" in (op.text(m) or "") for m in op.messages)
    assert (await bot.services.reports.stats())[0].items == 0


async def test_a_second_import_at_once_is_told_to_wait_in_its_language(
        bot: Running) -> None:
    await bot.services.catalog.save(parse_project(sentiment_doc("reviews")))
    held = bot.services.db.import_lock()
    assert held is not None
    try:
        op = bot.server.phone(OPERATOR_ID, "Op", language_code="ko")
        await op.send_document(b'{"id": "1", "text": "hi"}\n', "items.jsonl",
                               caption="/import reviews")
        message = await op.wait_text("가져오기가 중단됐어요", timeout=10)
    finally:
        held.release()
    # the reason too is in the operator's language, not only the heading
    assert "다른 가져오기가 진행 중이에요" in (op.text(message) or "")
    assert "another import" not in (op.text(message) or "")
