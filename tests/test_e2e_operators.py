"""End to end: operators in chat, broadcasts that survive a restart, quiet hours."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from bot.app import running
from bot.domain.projects import parse_project
from bot.sim.crowd import join
from bot.sim.standin import BotApiStandIn
from tests.conftest import OPERATOR_ID, Running, e2e_config, sentiment_doc
from tests.state import broadcast_count, set_broadcast_rate
from tests.waiting import eventually

OPERATOR_COMMANDS = ["/payouts", "/reject 1 no", "/projects", "/project reviews",
                     "/pause reviews", "/resume reviews", "/export reviews", "/worker 1",
                     "/broadcast reviews"]


async def load(bot: Running, tmp_path: Path, items: int = 3, **doc: object) -> None:
    await bot.services.catalog.save(parse_project(sentiment_doc(**doc)))
    file = tmp_path / "items.jsonl"
    file.write_text("".join(json.dumps({"id": f"i{i}", "text": f"item {i}"}) + "\n"
                            for i in range(items)))
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    await bot.services.broadcasts.notify_events()


@pytest.mark.parametrize("command", OPERATOR_COMMANDS)
async def test_every_operator_command_refuses_others(bot: Running, tmp_path: Path,
                                                     command: str) -> None:
    await load(bot, tmp_path)
    stranger = bot.server.phone(600, "Eve")
    await stranger.send(command)
    await stranger.wait_text("only operators")
    project = await bot.services.catalog.get("reviews")
    assert project.status == "open"  # /pause did nothing
    assert broadcast_count(bot.services.db) == 0
    assert not any(m.get("document") for m in stranger.messages)


async def test_operator_runs_a_project_from_the_phone(bot: Running, tmp_path: Path) -> None:
    op = bot.server.phone(OPERATOR_ID, "Op")
    toml = (b'name = "reviews"\nkind = "sentiment"\ntitle = "Reviews"\nreward = "0.02"\n'
            b'currency = "USD"\n')
    await op.send_document(toml, "reviews.toml")
    await op.wait_text("Project reviews created")
    bad = b'{"id": "1", "text": "fine"}\n{"id": "1", "text": "again"}\n{"id": "3"}\n'
    await op.send_document(bad, "items.jsonl", caption="/import reviews")
    report = await op.wait_text("nothing was imported", timeout=10)
    text = op.text(report) or ""
    assert "line 2" in text and "line 3" in text
    assert (await bot.services.reports.stats())[0].items == 0
    good = "".join(json.dumps({"id": str(i), "text": f"t {i}"}) + "\n" for i in range(3))
    await op.send_document(good.encode(), "items.jsonl", caption="/import reviews")
    await op.wait_text("3 items: 3 tasks", timeout=10)
    await op.send("/pause reviews")
    await op.wait_text("reviews is paused")
    assert (await bot.services.catalog.get("reviews")).status == "paused"
    await op.send("/resume reviews")
    await op.wait_text("reviews is open")
    await op.send("/project reviews")
    await op.wait_for(lambda p: any(m.get("photo") for m in p.messages))
    assert "Progress: 0 of 3 tasks done" in "".join(p or "" for p in
                                                    (op.text(m) for m in op.messages))
    await op.send("/export reviews")
    doc = await op.wait_for(lambda p: next((m for m in p.messages if m.get("document")), None))
    data = bot.server.file_bytes(doc["document"]["file_id"])
    assert len(data.decode().splitlines()) == 3


def _told(server: BotApiStandIn, worker: int) -> bool:
    """Whether ``worker`` has the broadcast below ("Come back!")."""
    return any("Come back!" in (m.get("text") or "") for m in server.phone(worker).messages)


async def test_broadcast_resumes_after_a_restart_without_duplicates(
        server: BotApiStandIn, tmp_path: Path, storage_url: str) -> None:
    config = e2e_config(server, storage_url)
    workers = list(range(1000, 1040))
    for w in workers:
        server.phone(w, f"W{w}")
    server.block(1039, notify=False)
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "1", "text": "Fine."}\n', encoding="utf-8")
    async with running(config, poll_timeout=1) as (_app, services):
        await services.catalog.save(parse_project(sentiment_doc()))
        assert (await services.catalog.import_file("reviews", items)).ok
        for w in workers:
            await services.workers.seen(w, f"W{w}", "en")
            await services.workers.consent(w)
        await services.broadcasts.notify_events()
        broadcast, audience = await services.broadcasts.start("reviews", "Come back!")
        assert audience.total == 40
        # the first run only gets part of the way before it is stopped
        set_broadcast_rate(services.db, broadcast.id, 20)
        _app.bot_data["broadcasts"].launch(
            (await services.broadcasts.unfinished())[0])
        await eventually(lambda: sum(1 for w in workers if _told(server, w)) >= 5)
    # the broadcast's own messages: the "new tasks" notices of the import go out too, all
    # at once, and counted with them the first run looked finished under load
    first_run = sum(1 for w in workers if _told(server, w))
    assert 0 < first_run < 39
    async with running(config, poll_timeout=1) as (_app, services):
        for _ in range(400):
            progress = await services.broadcasts.progress(broadcast)
            if progress.left == 0 and not (await services.broadcasts.unfinished()):
                break
            await asyncio.sleep(0.05)
        progress = await services.broadcasts.progress(broadcast)
        blocked = await services.workers.get(1039)
    assert progress.left == 0 and progress.total == 40
    counts = [len([m for m in server.phone(w).messages if "Come back!" in (m.get("text") or "")])
              for w in workers[:-1]]
    assert max(counts) == 1  # nobody messaged twice for one broadcast
    # only the one message in flight when the first run stopped can be in doubt
    assert progress.unconfirmed <= 1
    assert counts.count(0) <= progress.unconfirmed
    assert progress.sent + progress.failed + progress.unconfirmed == 40
    assert blocked is not None and not blocked.active  # the 403 marked them inactive


async def test_quiet_hours_hold_a_notification_until_they_end(bot: Running,
                                                              tmp_path: Path) -> None:
    night = bot.server.phone(700, "Owl")
    await bot.services.workers.seen(700, "Owl", "en")
    await bot.services.workers.consent(700)
    # 09:00 UTC on the fake clock; quiet from 08:00 to 10:00 UTC
    await bot.services.workers.update(700, quiet_start=8 * 60, quiet_end=10 * 60)
    await load(bot, tmp_path)  # creating the project is an "opened" event
    await asyncio.sleep(0.5)  # several rounds of the notice job
    assert night.messages == []
    bot.clock.advance(hours=1, minutes=1)
    invite = await night.wait_text("New tasks are waiting:\nReviews · $0.02 per task",
                                   timeout=5)
    assert night.buttons(invite) == [["▶️ Start"]]
    await night.tap("▶️ Start")
    await night.wait_for(lambda p: "review" in (p.text() or "").lower()
                         or "item" in (p.text() or ""))


async def test_notifications_respect_the_setting_and_the_gap(bot: Running,
                                                             tmp_path: Path) -> None:
    await load(bot, tmp_path)
    quiet, eager = bot.server.phone(710, "No"), bot.server.phone(711, "Yes")
    for worker in (710, 711):
        await bot.services.workers.seen(worker, "x", "en")
        await bot.services.workers.consent(worker)
    await bot.services.workers.update(710, notify=0)
    out = io.StringIO()
    file = tmp_path / "more.jsonl"
    file.write_text(json.dumps({"id": "new", "text": "new item"}) + "\n")
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    await eager.wait_text("New tasks are waiting")
    file.write_text(json.dumps({"id": "newer", "text": "newer item"}) + "\n")
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    await asyncio.sleep(0.5)
    assert len(eager.messages) == 1  # at most once per notify_every_hours
    assert quiet.messages == []
    assert out.getvalue() == ""
    assert join is not None


async def test_newproject_conversation(bot: Running) -> None:
    op = bot.server.phone(OPERATOR_ID, "Op")
    await op.send("/newproject")
    await op.wait_text("What kind of task")
    await op.tap("Classification (your own labels)")
    await op.wait_text("Its name?")
    await op.send("has space")
    await op.wait_text("will not work in a link")
    await op.send("fruit")
    await op.wait_text("The title workers see? Write it in English")
    await op.send("Which fruit is it?")
    asked = await op.wait_text("Add another language, or continue?")
    assert op.buttons(asked) == [["➕ Korean"], ["➕ Chinese"], ["▶️ Continue"]]
    await op.tap("▶️ Continue", asked)
    await op.wait_text("The instructions workers see")
    await op.send("Pick the fruit the sentence is about.")
    await op.tap("▶️ Continue", await op.wait_text("✓ English: Pick the fruit"))
    await op.wait_text("The labels")
    await op.send("apple")
    await op.wait_text("2 to 12 different labels")
    await op.send("apple, banana, cherry")
    await op.wait_text("pay per accepted answer")
    await op.send("0.05 cny")
    await op.wait_text("How many different workers")
    await op.tap("2")
    await op.wait_text("Project fruit created")
    project = await bot.services.catalog.get("fruit")
    assert project.spec.label_values == ("apple", "banana", "cherry")
    assert project.spec.reward_micros == 50_000 and project.spec.currency == "CNY"
    assert project.spec.overlap == 2
    assert project.spec.title.texts == {"en": "Which fruit is it?"}
    assert project.spec.instructions.texts == {"en": "Pick the fruit the sentence is about."}
    stranger = bot.server.phone(601, "Eve")
    await stranger.send("/newproject")
    await stranger.wait_text("only operators")


async def test_newproject_asks_title_and_instructions_per_language(bot: Running) -> None:
    """A Korean operator writes in Korean, adds English with a button, and gives the
    instructions in three languages at once with line prefixes."""
    op = bot.server.phone(OPERATOR_ID, "운영자", language_code="ko")
    await op.send("/newproject")
    await op.tap("감정 (긍정 / 중립 / 부정)", await op.wait_text("어떤 작업인가요?"))
    await op.wait_text("프로젝트 이름은")
    await op.send("reviews-2024")
    await op.wait_text("먼저 한국어 제목을 적어 주세요")
    await op.send("이 리뷰는 어떤 느낌인가요?")
    asked = await op.wait_text("다른 언어도 추가할까요")
    assert op.buttons(asked) == [["➕ 영어"], ["➕ 중국어"], ["▶️ 계속하기"]]
    assert "✓ 한국어: 이 리뷰는 어떤 느낌인가요?" in (op.text(asked) or "")
    await op.tap("➕ 영어", asked)
    await op.wait_text("영어 제목을 적어 주세요")
    await op.send("How does this review feel?")
    asked = await op.wait_text("✓ 영어: How does this review feel?")
    assert op.buttons(asked) == [["➕ 중국어"], ["▶️ 계속하기"]]
    await op.tap("▶️ 계속하기", asked)
    await op.wait_text("안내문을 적어 주세요")
    await op.send("리뷰를 읽고 느낌을 골라 주세요.\n"
                  "en: Read the review and pick how it feels.\n"
                  "zh: 读一读评论，\n选出它给人的感觉。")
    # every language given: straight on to the pay
    await op.wait_text("인정된 답 하나당 보수")
    await op.send("0.02 USD")
    await op.tap("3", await op.wait_text("몇 명이 답해야"))
    await op.wait_text("프로젝트를 만들었어요: reviews-2024")
    project = await bot.services.catalog.get("reviews-2024")
    assert project.spec.title.texts == {"ko": "이 리뷰는 어떤 느낌인가요?",
                                        "en": "How does this review feel?"}
    assert project.spec.instructions.texts == {
        "ko": "리뷰를 읽고 느낌을 골라 주세요.",
        "en": "Read the review and pick how it feels.",
        "zh": "读一读评论，\n选出它给人的感觉。"}
    # a Chinese worker has no Chinese title: the English one, not the Korean
    assert project.spec.title.get("zh") == "How does this review feel?"
