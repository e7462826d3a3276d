"""A boxes task through the running bot: the task message carries a Web App button to
its Mini App page; a drawing sent there with the phone's initData is recorded, and the
next task arrives in the chat with "✓ Saved", the old task's buttons gone."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from bot.sim.crowd import join, task_id
from handlers.web.initdata import signed_for
from handlers.web.miniapp.chat import next_task_in_chat
from tests.conftest import PUBLIC, FixedRandom, Running
from tests.drawn import PERSON, MiniAppServer, add_drawn_project, box, boxes_doc
from tests.state import answered


def _web_app_url(message: dict[str, object]) -> str:
    markup = message.get("reply_markup")
    assert isinstance(markup, dict)
    urls = [b["web_app"]["url"] for row in markup["inline_keyboard"] for b in row
            if "web_app" in b]
    assert len(urls) == 1
    return str(urls[0])


async def test_a_drawing_sent_from_the_mini_app_moves_the_chat_on(
        drawn_bot: Running, tmp_path: Path) -> None:
    bot = drawn_bot
    await add_drawn_project(bot.services, tmp_path, boxes_doc(), items=2)
    phone = bot.server.phone(81, "Min", language_code="ko")
    task = await join(phone, "people")
    assert task.get("photo")
    url = _web_app_url(task)
    assert url.startswith(f"{PUBLIC}/app/task/") and url.endswith("?lang=ko")
    assert phone.buttons(task)[0] == ["✏️ 상자 그리기"]
    path = urlsplit(url).path
    async with MiniAppServer(bot.services, next_task_in_chat(bot.app)) as web:
        init_data = signed_for(81, bot.server.token, bot.clock.now(), "ko")
        async with aiohttp.ClientSession() as session, session.post(
                f"{web.url}{path}/answer?lang=ko",
                data=json.dumps({"drawing": [box("person", *PERSON)]}),
                headers={"Authorization": f"tma {init_data}"}) as response:
            assert response.status == 200
        nxt = await phone.wait_for(
            lambda p: p.last if p.last and p.last["message_id"] != task["message_id"]
            and task_id(p.last) is not None else None)
    assert "✓ 저장" in (phone.text(nxt) or "")
    assert _web_app_url(nxt) != url
    first = next(m for m in phone.messages if m["message_id"] == task["message_id"])
    assert not first.get("reply_markup")  # the old task's button is gone
    assert [a.worker_id for a in answered(bot.services.db)] == [81]


async def test_a_missed_gold_box_comes_back_drawn_on_the_picture(
        drawn_bot: Running, tmp_path: Path) -> None:
    bot = drawn_bot
    bot.services.work.rng = FixedRandom(0.0)  # a gold check whenever there is one
    await add_drawn_project(bot.services, tmp_path, boxes_doc(gold_rate=0.5), items=3,
                            gold={0: [box("person", *PERSON)], 1: [box("person", *PERSON)]})
    phone = bot.server.phone(82, "Lee")
    task = await join(phone, "people")
    path = urlsplit(_web_app_url(task)).path
    async with MiniAppServer(bot.services, next_task_in_chat(bot.app)) as web:
        init_data = signed_for(82, bot.server.token, bot.clock.now())
        async with aiohttp.ClientSession() as session, session.post(
                f"{web.url}{path}/answer", data=json.dumps(
                    {"drawing": [box("bicycle", 0.6, 0.05, 0.9, 0.3)]}),
                headers={"Authorization": f"tma {init_data}"}) as response:
            assert response.status == 200 and (await response.json())["correct"] is False
        shown = await phone.wait_for(
            lambda p: next((m for m in p.messages if m.get("photo")
                            and "Not quite" in (m.get("caption") or "")), None))
    assert "Green: the right answer" in shown["caption"]
    assert "boxes: 1" in shown["caption"]
    assert bot.server.uploads >= 2  # the task's picture, then the one drawn on
