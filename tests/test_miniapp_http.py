"""The Mini App's HTTP side: initData verified before anything else, tied to the
worker's own open task, and an answer recorded exactly once; forged, replayed, expired
and other-user initData change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.i18n import Gettext
from bot.services.work import AnswerResult
from bot.wiring import Services
from handlers.web.initdata import Refused, sign, signed_for, verify
from tests.conftest import add_worker
from tests.drawn import (
    PERSON,
    TOKEN,
    MiniAppServer,
    add_drawn_project,
    box,
    boxes_doc,
    drawn_config,
)
from tests.state import answered, ledger_entries


@pytest.fixture
async def drawn(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    services = await Services.open(drawn_config(tmp_path), clock)
    try:
        await add_drawn_project(services, tmp_path, boxes_doc(), items=2)
        for worker in (1, 2):
            await add_worker(services, worker)
        yield services
    finally:
        await services.close()


def test_verify_accepts_telegrams_hash_and_nothing_else() -> None:
    now = FakeClock().now()
    data = signed_for(42, TOKEN, now, "ko")
    user = verify(data, TOKEN, now)
    assert (user.id, user.language_code) == (42, "ko")
    for bad, reason in [
        (data.replace("hash=", "hash=0"), "forged"),
        (data.replace("%22id%22%3A42", "%22id%22%3A43"), "forged"),  # another user
        (signed_for(42, "999:other-bot", now), "forged"),
        (signed_for(42, TOKEN, now - timedelta(hours=25)), "expired"),
        (signed_for(42, TOKEN, now + timedelta(hours=1)), "expired"),
        (data + "&user=x", "malformed"), ("", "missing"), ("a" * 9000, "malformed"),
        (sign({"auth_date": "1", "user": "{}"}, TOKEN), "malformed"),
    ]:
        with pytest.raises(Refused) as refused:
            verify(bad, TOKEN, now)
        assert refused.value.reason == reason, bad


async def _post(url: str, init_data: str | None, body: Any) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"tma {init_data}"} if init_data is not None else {}
    async with aiohttp.ClientSession() as session, session.post(
            url, data=body if isinstance(body, bytes) else json.dumps(body),
            headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def test_an_answer_is_recorded_once_and_replays_change_nothing(
        drawn: Services, clock: FakeClock) -> None:
    shown: list[tuple[int, AnswerResult]] = []

    async def hook(worker: int, result: AnswerResult, _: Gettext) -> None:
        shown.append((worker, result))

    served = await drawn.work.start(1, "people")
    assert served.task is not None
    a = served.task.assignment_id
    body = {"drawing": [box("person", *PERSON)]}
    async with MiniAppServer(drawn, hook) as server:
        url = f"{server.url}/app/task/{a}/answer?lang=en"
        good = signed_for(1, TOKEN, clock.now())
        status, reply = await _post(url, good, body)
        assert (status, reply["ok"], reply["outcome"]) == (200, True, "accepted")
        status, again = await _post(url, good, body)  # the same request, replayed
        assert (status, again["outcome"]) == (409, "already_answered")
    assert [json.loads(r.answer) for r in answered(drawn.db)] == [body["drawing"]]
    assert len([e for e in ledger_entries(drawn.db) if e.kind == "earning"]) == 1
    assert [w for w, _ in shown] == [1]
    assert shown[0][1].served is not None and shown[0][1].served.task is not None


async def test_forged_expired_and_other_users_init_data_change_nothing(
        drawn: Services, clock: FakeClock) -> None:
    served = await drawn.work.start(1, "people")
    assert served.task is not None
    a = served.task.assignment_id
    body = {"drawing": [box("person", *PERSON)]}
    now = clock.now()
    async with MiniAppServer(drawn) as server:
        url = f"{server.url}/app/task/{a}/answer"
        for init_data in (None, "", signed_for(1, "999:not-our-bot", now),
                          signed_for(1, TOKEN, now).replace("hash=", "hash=f"),
                          signed_for(1, TOKEN, now - timedelta(hours=24, minutes=1))):
            status, reply = await _post(url, init_data, body)
            assert (status, reply["outcome"]) == (401, "refused"), init_data
        # worker 2 signed in properly, but it is worker 1's task
        status, reply = await _post(url, signed_for(2, TOKEN, now), body)
        assert (status, reply["outcome"]) == (404, "gone")
        # and they cannot open it or see its picture either
        async with aiohttp.ClientSession() as session:
            for path in ("task", "image"):
                async with session.get(f"{server.url}/app/task/{a}/{path}", headers={
                        "Authorization": f"tma {signed_for(2, TOKEN, now)}"}) as r:
                    assert r.status == 404
                async with session.get(f"{server.url}/app/task/{a}/{path}") as r:
                    assert r.status == 401
    assert answered(drawn.db) == []
    assert ledger_entries(drawn.db) == []


async def test_bad_drawings_get_a_reason_in_the_readers_language(
        drawn: Services, clock: FakeClock) -> None:
    served = await drawn.work.start(1, "people")
    assert served.task is not None
    a = served.task.assignment_id
    good = signed_for(1, TOKEN, clock.now())
    async with MiniAppServer(drawn) as server:
        url = f"{server.url}/app/task/{a}/answer?lang=ko"
        for body in (b"not json", b"[" * 70_000, {"drawing": "boxes"},
                     {"drawing": [box("person", 0, 0, float("inf"), 1)]},
                     {"drawing": [box("dog", 0, 0, 0.5, 0.5)]},
                     {"drawing": [[0.5, 0.5]]}):
            status, reply = await _post(url, good, body)
            assert status == 400 and reply["outcome"] == "invalid", body
            assert reply["message"] and not reply["message"].isascii(), reply  # Korean
    assert answered(drawn.db) == []


async def test_the_task_and_picture_for_its_worker(drawn: Services, clock: FakeClock) -> None:
    served = await drawn.work.start(1, "people")
    assert served.task is not None
    a = served.task.assignment_id
    auth = {"Authorization": f"tma {signed_for(1, TOKEN, clock.now())}"}
    async with MiniAppServer(drawn) as server, aiohttp.ClientSession() as session:
        async with session.get(f"{server.url}/app/task/{a}/task?lang=zh",
                               headers=auth) as r:
            task = await r.json()
        assert task["kind"] == "boxes" and [label["value"] for label in task["labels"]] == \
            ["person", "bicycle"]
        async with session.get(f"{server.url}/app/task/{a}/image", headers=auth) as r:
            assert r.status == 200 and r.content_type == "image/jpeg"
            assert (await r.read())[:2] == b"\xff\xd8"
        async with session.get(f"{server.url}/app/task/{a}?lang=ko") as r:
            page = await r.text()
            assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert '<html lang="ko">' in page and "보내기" in page
        clock.advance(minutes=11)  # the lease ran out
        async with session.get(f"{server.url}/app/task/{a}/task", headers=auth) as r:
            assert r.status == 404
