"""A boxes project's quiz through the running bot and the stand-in: each question's
message opens the Mini App, the drawing is sent there with the phone's initData (once;
forged or another user's changes nothing), and the chat moves on: after a practice
question the picture with the right box drawn, then the next question; after the exam
its result, then the missed question drawn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.sim.crowd import join
from bot.sim.phone import Phone
from handlers.web.initdata import signed_for
from handlers.web.miniapp.chat import next_question_in_chat, next_task_in_chat
from tests.conftest import PUBLIC, Running
from tests.drawn import PERSON, MiniAppServer, add_drawn_project, box, boxes_doc
from tests.state import quiz_questions

GOLD = [box("person", *PERSON)]
WRONG = [box("person", 0.5, 0.05, 0.95, 0.4)]


def _quiz_path(message: dict[str, Any]) -> str:
    """The path of the question's one Web App button: /app/quiz/<attempt>/<position>."""
    [[only]] = message["reply_markup"]["inline_keyboard"]
    url = only["web_app"]["url"]
    assert url.startswith(f"{PUBLIC}/app/quiz/")
    return urlsplit(url).path


def _newest(phone: Phone, since: int, pick: Any) -> Any:
    return next((m for m in reversed(phone.messages[since:]) if pick(m)), None)


def _question(m: dict[str, Any]) -> bool:
    return "web_app" in json.dumps(m.get("reply_markup") or {})


async def test_a_boxes_quiz_is_drawn_in_the_mini_app_and_shown_back_drawn(
        drawn_bot: Running, tmp_path: Path) -> None:
    bot = drawn_bot
    await add_drawn_project(bot.services, tmp_path,
                            boxes_doc(quiz={"questions": 2, "pass": 0.5}), items=4,
                            gold={0: GOLD, 1: GOLD}, quiz={0, 1})
    phone = bot.server.phone(91, "Ana")
    gate = await join(phone, "people")
    assert "practice round" in (phone.text(gate) or "")
    seen = len(phone.messages)
    # the exam comes first (issue 13); its first question missed turns into practice
    await phone.tap("▶️ Start the exam", gate)
    question = await phone.wait_for(lambda p: _newest(p, seen - 1, _question))
    assert question.get("photo") and "Practice" not in question["caption"]
    assert phone.buttons(question) == [["✏️ Draw boxes"]]
    path = _quiz_path(question)

    async with MiniAppServer(bot.services, next_task_in_chat(bot.app),
                             next_question_in_chat(bot.app)) as web, \
            aiohttp.ClientSession() as http:

        async def send(path: str, drawing: object, user: int = 91) -> tuple[int, Any]:
            init = signed_for(user, bot.server.token, bot.clock.now())
            async with http.post(f"{web.url}{path}/answer",
                                 data=json.dumps({"drawing": drawing}),
                                 headers={"Authorization": f"tma {init}"}) as response:
                return response.status, await response.json()

        # the page's calls: the question and its picture, for this worker only
        init = signed_for(91, bot.server.token, bot.clock.now())
        async with http.get(f"{web.url}{path}/task",
                            headers={"Authorization": f"tma {init}"}) as response:
            assert response.status == 200
            assert (await response.json())["kind"] == "boxes"
        async with http.get(f"{web.url}{path}/image",
                            headers={"Authorization": f"tma {init}"}) as response:
            assert response.status == 200 and response.content_type == "image/jpeg"
        async with http.get(f"{web.url}{path}?lang=ko") as response:
            assert f'data-base="{path}"' in await response.text()  # the page calls here
        assert (await send(path, GOLD, user=92))[0] == 404  # someone else's question
        async with http.post(f"{web.url}{path}/answer", data=json.dumps({"drawing": GOLD}),
                             headers={"Authorization": f"tma {init}x"}) as response:
            assert response.status == 401  # forged initData
        assert [q.answer for q in quiz_questions(bot.services.db)] == [None, None]

        # the first exam question missed: it becomes practice, shown back with the
        # right box drawn, then the next practice question
        seen = len(phone.messages)
        status, body = await send(path, WRONG)
        assert status == 200 and body["ok"]
        drawn = await phone.wait_for(lambda p: _newest(
            p, seen, lambda m: m.get("photo") and "Not quite" in (m.get("caption") or "")))
        assert "Green: the right answer" in drawn["caption"]
        second = await phone.wait_for(lambda p: _newest(p, seen, _question))
        assert "Practice 2 of at most 2" in second["caption"]
        next_path = _quiz_path(second)
        assert next_path != path
        assert (await send(path, GOLD))[0] == 409  # the same question again: nothing
        status, _body = await send(next_path, GOLD)
        assert status == 200
        done = await phone.wait_text("Practice finished")
        right = _newest(phone, seen, lambda m: m.get("photo")
                        and "Right!" in (m.get("caption") or ""))
        assert right is not None  # practice shows the right box after a right answer too

        # the exam afresh (a worker who practised is not sent back to practice): no
        # hints on the way; the result, then the missed question drawn
        seen = len(phone.messages)
        await phone.tap("▶️ Start the exam", done)
        first = await phone.wait_for(lambda p: _newest(p, seen, _question))
        status, _body = await send(_quiz_path(first), WRONG)
        assert status == 200
        second = await phone.wait_for(lambda p: _newest(
            p, seen, lambda m: _question(m) and m["message_id"] != first["message_id"]))
        assert not _newest(phone, seen, lambda m: "Not quite" in (m.get("caption") or ""))
        await send(_quiz_path(second), GOLD)
        result = await phone.wait_text("You passed!")
        assert "1 of 2 right" in (phone.text(result) or "")
        missed = await phone.wait_for(lambda p: _newest(
            p, seen, lambda m: m.get("photo") and "Not quite" in (m.get("caption") or "")))
        assert missed["message_id"] > result["message_id"]
    answers = [q.correct for q in quiz_questions(bot.services.db)]
    assert answers == [0, 1, 0, 1]
