"""Webhook mode in one process: the real Application behind the web server, posted to by
the stand-in (and by hand, for what Telegram itself never sends)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import aiohttp.web
import pytest

from bot.app import running
from bot.clock import FakeClock
from bot.config import Config, WebhookConfig
from bot.sim.crowd import join, task_id
from bot.sim.standin import BotApiStandIn
from bot.wiring import Services
from handlers.web.metrics import Metrics
from tests.conftest import add_project, e2e_config
from tests.state import update_claims

SECRET = "test-secret_1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_config(server: BotApiStandIn, db: Path | str, port: int) -> Config:
    return replace(e2e_config(server, db), webhook=WebhookConfig(
        listen=f"127.0.0.1:{port}", url=f"http://127.0.0.1:{port}/telegram",
        secret_token=SECRET))


class Hooked:
    def __init__(self, server: BotApiStandIn, services: Services, port: int) -> None:
        self.server = server
        self.services = services
        self.base = f"http://127.0.0.1:{port}"
        self.metrics: Metrics = services.work.meter  # type: ignore[assignment]

    async def post(self, body: bytes, secret: str | None = SECRET) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with aiohttp.ClientSession() as session, session.post(
                f"{self.base}/telegram", data=body, headers=headers) as response:
            return response.status, await response.text()

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(
                self.base + path) as response:
            return response.status, await response.text()


@pytest.fixture
async def hooked(server: BotApiStandIn, storage_url: str, clock: FakeClock
                 ) -> AsyncIterator[Hooked]:
    # on both backends (storage_url): webhook replicas are what PostgreSQL is for
    port = free_port()
    async with running(webhook_config(server, storage_url, port), clock) as (
            _app, services):
        yield Hooked(server, services, port)


def _message(update_id: int, user: int, text: str) -> bytes:
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_767_600_000, "text": text,
        "chat": {"id": user, "type": "private", "first_name": "Ann"},
        "from": {"id": user, "is_bot": False, "first_name": "Ann"}}}).encode()


async def test_the_bot_sets_its_webhook_and_works_through_posts(hooked: Hooked) -> None:
    server = hooked.server
    assert server._webhook_url == f"{hooked.base}/telegram"
    assert server.webhook is not None and server.webhook.secret == SECRET
    await add_project(hooked.services, items=3)
    phone = server.phone(4001, "Ann")
    task = await join(phone, "reviews")
    first = task_id(task)
    assert first is not None
    await phone.tap("😊 Positive", task)
    await phone.wait_for(lambda p: task_id(p.last) not in (None, first))
    await server.wait_drained()
    assert server.count("getUpdates") == 0  # nothing polls
    posts = server.webhook.posts
    assert posts and all(p.status == 200 for p in posts)
    assert hooked.metrics.count("tapwork_updates", "handled") == len(posts)
    assert hooked.metrics.count("tapwork_answers", "accepted") == 1
    # every update claimed once, and finished
    claims = update_claims(hooked.services.db)
    assert sorted(c.update_id for c in claims) == sorted(p.update_id for p in posts)
    assert all(c.done_at is not None for c in claims)


async def test_posts_without_the_secret_or_not_an_update_are_refused(hooked: Hooked
                                                                     ) -> None:
    body = _message(90_001, 4002, "/start")
    assert (await hooked.post(body, secret=None))[0] == 401
    assert (await hooked.post(body, secret="wrong"))[0] == 403
    assert (await hooked.post(body, secret=SECRET + "x"))[0] == 403
    assert (await hooked.post(b"{not json"))[0] == 400
    assert (await hooked.post(b'{"update_id": "7"}'))[0] == 400
    assert (await hooked.post(b"[1, 2]"))[0] == 400
    assert hooked.metrics.count("tapwork_updates", "refused") == 3
    assert hooked.metrics.count("tapwork_updates", "malformed") == 3
    assert update_claims(hooked.services.db) == []  # nothing refused was claimed
    assert hooked.server.phone(4002).messages == []  # nor handled


async def test_a_second_delivery_of_a_handled_update_is_200_and_not_handled(
        hooked: Hooked) -> None:
    phone = hooked.server.phone(4003, "Bo")
    body = _message(90_002, phone.id, "/help")
    assert (await hooked.post(body))[0] == 200
    answered = len(phone.messages)
    assert answered >= 1
    status, text = await hooked.post(body)
    assert (status, text) == (200, "already handled")
    assert len(phone.messages) == answered  # no second reply
    assert hooked.metrics.count("tapwork_updates", "deduplicated") == 1


async def test_an_unreachable_database_is_503_so_telegram_retries(
        hooked: Hooked, monkeypatch: pytest.MonkeyPatch) -> None:
    async def down(update_id: int) -> None:
        raise OSError("connection refused")  # what a driver raises for a gone server

    monkeypatch.setattr(hooked.services.updates, "claim", down)
    status, _ = await hooked.post(_message(90_003, 4004, "/help"))
    assert status == 503
    assert hooked.metrics.count("tapwork_updates", "unavailable") == 1
    assert hooked.server.phone(4004).messages == []


async def test_health_and_metrics(hooked: Hooked, monkeypatch: pytest.MonkeyPatch) -> None:
    status, text = await hooked.get("/healthz")
    assert status == 200
    report = json.loads(text)
    assert report["status"] == "ok" and report["database"] is True
    assert report["schema"] == report["expected_schema"] > 0
    await hooked.post(_message(90_004, 4005, "/help"))
    await hooked.post(_message(90_004, 4005, "/help"))
    status, text = await hooked.get("/metrics")
    assert status == 200
    assert 'tapwork_updates_total{outcome="deduplicated"} 1.0' in text
    assert 'tapwork_updates_total{outcome="handled"} 1.0' in text
    for gauge in ("tapwork_open_leases", "tapwork_outbox_waiting",
                  "tapwork_broadcast_pending", "tapwork_database_up 1.0"):
        assert gauge in text
    assert 'tapwork_job_runs_total{job="' in text or "tapwork_job_runs" in text

    # a database that has run a migration this version does not know is not healthy
    monkeypatch.setattr(type(hooked.services.db), "schema_version",
                        property(lambda db: 999))
    status, text = await hooked.get("/healthz")
    assert status == 503 and json.loads(text)["status"] == "unhealthy"


async def test_no_set_webhook_leaves_telegram_alone_and_still_takes_posts(
        server: BotApiStandIn, tmp_path: Path, clock: FakeClock) -> None:
    port = free_port()
    config = webhook_config(server, tmp_path / "tapwork.db", port)
    async with running(config, clock, set_webhook=False) as (_app, services):
        assert server.count("setWebhook") == 0 and server._webhook_url == ""
        hooked = Hooked(server, services, port)
        phone = server.phone(4006, "Cy")
        assert (await hooked.post(_message(90_006, phone.id, "/help")))[0] == 200
        assert phone.messages


async def test_the_stand_in_retries_round_robin_and_sends_the_secret(
        server: BotApiStandIn) -> None:
    """The stand-in's delivery itself: a replica answering 500, then one refusing the
    connection, are retried on the next target until one answers 200."""
    seen: list[tuple[int, str | None]] = []
    answers = iter([500, 200, 200, 200])

    async def replica(request: aiohttp.web.Request) -> aiohttp.web.Response:
        seen.append((request.url.port or 0,
                     request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return aiohttp.web.Response(status=next(answers))

    app = aiohttp.web.Application()
    app.router.add_post("/telegram", replica)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    up, down = free_port(), free_port()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", up).start()
    try:
        server.webhook_targets = [f"http://127.0.0.1:{up}/telegram",
                                  f"http://127.0.0.1:{down}/telegram"]
        async with aiohttp.ClientSession() as session, session.post(
                f"{server.api_base_url}{server.token}/setWebhook",
                json={"url": "https://bot.example.org/telegram",
                      "secret_token": SECRET}) as response:
            assert response.status == 200
        await server.phone(4007).send("/start")
        await server.wait_drained(10)
    finally:
        await runner.cleanup()
    assert server.webhook is not None
    statuses = [(p.url.split(":")[2].split("/")[0], p.status) for p in server.webhook.posts]
    # 500 from the live one, then the dead one (no answer: 0), then the live one: 200
    assert statuses == [(str(up), 500), (str(down), 0), (str(up), 200)]
    assert seen == [(up, SECRET), (up, SECRET)]


async def test_the_dashboard_and_the_mini_app_are_served_beside_the_webhook(
        hooked: Hooked) -> None:
    # one web server per process: the pages mount on it (bot/app.py, _pages)
    status, text = await hooked.get("/dashboard/login?token=" + "x" * 43)
    assert status in (400, 403, 410) and "<html" in text.lower()
    status, _ = await hooked.get("/app/static/miniapp.js")
    assert status == 200
    status, _ = await hooked.get("/app/task/1/task")  # no initData: refused, not missing
    assert status == 401
    status, _ = await hooked.get("/nothing-here")
    assert status == 404
