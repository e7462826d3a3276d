"""End to end: work that fits the worker. Items and workers have languages; nobody is
offered, quizzed, checked or notified about work they cannot take now (issue 10)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.domain.notice_kinds import ProjectOpened
from bot.domain.projects import parse_project
from bot.sim.crowd import answer_tasks, join, task_id
from bot.sim.phone import Phone
from bot.wiring import Services
from handlers.callbacks import QuizStart
from storage import outbox
from tests.conftest import Running, add_project, add_worker, sentiment_doc
from tests.state import add_quiz_items, assignments, languages_shown, quiz_attempt_count

POSITIVE = "😊 Positive"
#: per language: the words its texts start with, so a phone can tell what it was shown
MARK = {"en": "EN", "ko": "한국", "zh": "中文"}


def items_in(languages: tuple[str, ...], work: int = 3, quiz: int = 2, gold: int = 1
             ) -> list[dict[str, object]]:
    """Work items, quiz questions and gold checks in each language, every answer positive."""
    rows: list[dict[str, object]] = []
    for lang in languages:
        rows += [{"id": f"{lang}-w{i}", "text": f"{MARK[lang]} work {i}", "lang": lang}
                 for i in range(work)]
        rows += [{"id": f"{lang}-q{i}", "text": f"{MARK[lang]} quiz {i}", "lang": lang,
                  "quiz": True, "gold": "positive"} for i in range(quiz)]
        rows += [{"id": f"{lang}-g{i}", "text": f"{MARK[lang]} gold {i}", "lang": lang,
                  "gold": "positive"} for i in range(gold)]
    return rows


async def load(bot: Running, tmp_path: Path, items: list[dict[str, object]],
               name: str = "reviews", **doc: object) -> int:
    project, _ = await bot.services.catalog.save(parse_project(sentiment_doc(name, **doc)))
    if items:
        file = tmp_path / f"{name}-{len(items)}.jsonl"
        file.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items),
                        encoding="utf-8")
        result = await bot.services.catalog.import_file(name, file)
        assert result.ok, result.errors
    return project.id


async def pass_exam(phone: Phone) -> None:
    await phone.tap("▶️ Start the exam")
    for n in (1, 2):
        await phone.wait_text(f"Exam question {n} of at most 2")
        await phone.tap(POSITIVE)
    await phone.wait_text("Exam finished")
    await phone.tap("▶️ Start working")
    await phone.wait_for(lambda p: task_id(p.last) is not None)


async def test_each_reader_gets_only_items_in_their_languages(bot: Running,
                                                               tmp_path: Path) -> None:
    await load(bot, tmp_path, items_in(("en", "ko", "zh")), gold_rate=1.0,
               quiz={"questions": 2, "pass": 1.0, "training": False})
    assert (await bot.services.catalog.get("reviews")).languages == ("en", "ko", "zh")
    for worker_id, lang in ((501, "ko"), (502, "zh")):
        phone = bot.server.phone(worker_id, f"W{worker_id}", language_code=lang)
        # reads only their phone's language; reads English buttons (easier to tap here)
        await bot.services.workers.seen(worker_id, f"W{worker_id}", lang)
        await bot.services.workers.update(worker_id, language="en", language_chosen=1)
        gate = await join(phone, "reviews", reads_it=False)
        assert task_id(gate) is None  # the exam comes first
        await pass_exam(phone)
        done = await answer_tasks(phone, lambda _text, _buttons: POSITIVE)
        assert done == 4  # the three work items in their language and its gold check
        assert languages_shown(bot.services.db, worker_id) == {lang}
    # both also answered their language's gold check, mixed in as gold_rate = 1 asks
    assert sum(1 for a in assignments(bot.services.db) if a.gold_correct == 1) == 2


async def test_a_worker_who_reads_none_of_its_languages_is_asked(bot: Running,
                                                                 tmp_path: Path) -> None:
    await load(bot, tmp_path, items_in(("en",), quiz=0, gold=0))
    phone = bot.server.phone(510, "Mina", language_code="ko")
    asked = await join(phone, "reviews", reads_it=False)
    assert "영어" in (phone.text(asked) or "") and "English" not in (phone.text(asked) or "")
    assert task_id(asked) is None
    await phone.tap("✗ 아니요", asked)
    await phone.wait_text("지금은 작업이 없")  # /tasks: nothing she can take
    worker = await bot.services.workers.get(510)
    assert worker is not None and worker.reads == ("ko",)

    await phone.send("/start reviews")
    again = await phone.wait_text("영어")
    await phone.tap("✅ 네, 영어 읽을 수 있어요", again)
    task = await phone.wait_for(lambda p: p.last if task_id(p.last) else None)
    assert "EN work" in (phone.text(task) or "")
    worker = await bot.services.workers.get(510)
    assert worker is not None and worker.reads == ("en", "ko")


async def test_tasks_lists_only_what_this_worker_can_take(bot: Running,
                                                          tmp_path: Path) -> None:
    await load(bot, tmp_path, items_in(("en",), work=2, quiz=0, gold=0), overlap=2)
    await load(bot, tmp_path, items_in(("ko",), work=4, quiz=0, gold=0), name="korean")
    await load(bot, tmp_path, [], name="empty")
    phone = bot.server.phone(520, "Ann")
    await join(phone, "reviews")
    assert await answer_tasks(phone, lambda _t, _b: POSITIVE) == 2
    assert "every task in this project" in (phone.text() or "")
    await phone.send("/tasks")
    listing = await phone.wait_for(lambda p: p.last if "no tasks" in (p.text() or "")
                                   or "Pick" in (p.text() or "") else None)
    # finished (reviews), other language (korean) and empty projects are not offered
    assert "There are no tasks right now" in (phone.text(listing) or "")

    other = bot.server.phone(521, "Bo")
    await other.send("/start")
    await other.wait_text("Before you start")
    await other.tap("✅ I agree")
    offer = await other.wait_text("Pick a project")
    assert other.buttons(offer) == [["Reviews · $0.02 · 2 left"]]


async def test_deep_link_with_nothing_left_starts_no_quiz(bot: Running,
                                                          tmp_path: Path) -> None:
    await load(bot, tmp_path, items_in(("en",), work=0, quiz=3, gold=0),
               quiz={"questions": 2, "training": True})
    phone = bot.server.phone(530, "Ann")
    first = await join(phone, "reviews")
    assert "There are no tasks for you in this project right now." in (phone.text(first) or "")
    assert "practice" not in (phone.text(first) or "")
    assert quiz_attempt_count(bot.services.db) == 0
    # a forged quiz start changes nothing either
    await phone.tap_data(first, QuizStart(1).pack())
    await phone.wait_text("There are no tasks for you")
    assert quiz_attempt_count(bot.services.db) == 0
    await bot.services.workers.update(530, notify=0)
    await phone.tap("🔔 Tell me when there are")
    await phone.wait_text("we will send you a message")
    worker = await bot.services.workers.get(530)
    assert worker is not None and worker.notify


async def test_an_empty_project_tells_nobody_and_its_items_tell_the_right_readers(
        bot: Running, tmp_path: Path) -> None:
    phones = {}
    for n, lang in enumerate(("en", "ko", "zh")):
        phones[lang] = bot.server.phone(540 + n, f"W{lang}", language_code=lang)
        await bot.services.workers.seen(540 + n, f"W{lang}", lang)
        await bot.services.workers.consent(540 + n)
    await load(bot, tmp_path, [])  # "opened", but nothing anyone can take
    await asyncio.sleep(0.5)  # the notice job runs every 0.1 s
    assert all(phone.messages == [] for phone in phones.values())

    await load(bot, tmp_path, items_in(("ko",), quiz=0, gold=0))
    notice = await phones["ko"].wait_text("새 작업")
    assert "reviews" not in (phones["ko"].text(notice) or "")
    # more items within notify_every_hours: no second notice; and nobody else is told
    await load(bot, tmp_path, [{"id": "more", "text": "한국 more", "lang": "ko"}])
    await asyncio.sleep(0.5)
    assert len(phones["ko"].messages) == 1
    assert phones["en"].messages == [] and phones["zh"].messages == []


async def test_nobody_mid_quiz_is_notified(services: Services) -> None:
    first = await add_project(services, items=3, name="first",
                              quiz={"questions": 2, "training": False})
    add_quiz_items(services.db, first, ["q1", "q2"])
    for worker in (1, 2):
        await add_worker(services, worker)
    await services.broadcasts.notify_events()
    project = await services.catalog.get("first")
    step = await services.quizzes.begin(1, project)  # worker 1 is on a question now
    assert step.question is not None
    second = await add_project(services, items=2, name="second")
    assert await services.broadcasts.notify_events() == 1  # worker 2 only
    async with services.db.read() as conn:
        assert [n.worker_id for n in await outbox.due(conn, "9999", 100)
                if getattr(n, "body", None) == ProjectOpened(second)] == [2]


async def test_broadcast_counts_its_audience_per_language(bot: Running,
                                                          tmp_path: Path) -> None:
    await load(bot, tmp_path, items_in(("en", "ko"), quiz=0, gold=0))
    for worker_id, lang in ((550, "en"), (551, "ko"), (552, "ko"), (553, "zh")):
        await bot.services.workers.seen(worker_id, "W", lang)
        await bot.services.workers.consent(worker_id)
    _started, audience = await bot.services.broadcasts.start("reviews")
    assert audience.total == 3  # the Chinese reader can take nothing here
    assert audience.by_language == {"en": 1, "ko": 2}


async def test_settings_choose_the_languages_one_reads(bot: Running) -> None:
    phone = bot.server.phone(560, "Ann")
    await phone.send("/start")
    await phone.wait_text("Before you start")
    await phone.tap("✅ I agree")
    await phone.wait_text("There are no tasks right now")
    await phone.send("/settings")
    await phone.wait_text("Your settings")
    await phone.tap("📖 I can read: English")
    await phone.wait_text("Which languages can you read?")
    await phone.tap("한국어")
    await phone.wait_for(lambda p: ["✓ 한국어"] in p.buttons())
    await phone.tap("✓ English")
    await phone.wait_for(lambda p: ["English"] in p.buttons())
    before = len(phone.alerts)
    await phone.tap("✓ 한국어")  # the last one stays
    await phone.wait_alert(before + 1)
    assert phone.alerts[-1] == "Keep at least one language."
    worker = await bot.services.workers.get(560)
    assert worker is not None and worker.reads == ("ko",)
    await phone.tap("⬅️ Done")
    await phone.wait_for(lambda p: ["📖 I can read: 한국어"] in p.buttons())
