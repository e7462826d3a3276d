"""Two ``tapwork run`` replicas in webhook mode on one SQLite file, behind the stand-in
playing Telegram and the load balancer: posts round-robin over the replicas, duplicate
deliveries injected (after the first was acknowledged, and two at once racing for the
claim), simulated phones answering tasks. Every answer is recorded once, each update
handled by one replica, the duplicates counted in /metrics, and a post without the
secret (or with a wrong one) refused."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp

from bot.cli import main
from bot.sim.crowd import join, task_id
from bot.sim.standin import BotApiStandIn
from tests.conftest import ROOT, healthy, http_get, start_bot, stop_bot
from tests.state import answered, update_claims
from tests.test_webhook import SECRET, free_port
from tests.waiting import eventually, until

SAMPLE = ROOT / "bot" / "sample"
PHONES = (9101, 9102, 9103)
ANSWERS = 3


def _config(server: BotApiStandIn, db: Path, port: int, url: str) -> str:
    return (f'[telegram]\ntoken = "{server.token}"\napi_base_url = "{server.api_base_url}"\n'
            f'file_base_url = "{server.file_base_url}"\nmax_rate = 30\n'
            f'[storage]\npath = "{db}"\n[work]\nlease_check_seconds = 1\n'
            f'[web]\nlisten = "127.0.0.1:{port}"\n'
            f'[webhook]\nurl = "{url}"\nsecret_token = "{SECRET}"\n')


def _counter(text: str, outcome: str) -> float:
    found = re.search(rf'^tapwork_updates_total{{outcome="{outcome}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


async def _answer(server: BotApiStandIn, user: int) -> None:
    phone = server.phone(user, f"W{user}")
    task = await join(phone, "reviews", timeout=20)
    for _ in range(ANSWERS):
        current = task_id(task)
        assert current is not None
        await phone.tap("😊 Positive", task)
        task = await phone.wait_for(
            lambda p, c=current: p.last if task_id(p.last) not in (None, c) else None, 20)


async def test_two_replicas_behind_a_webhook_handle_each_update_once(tmp_path: Path) -> None:
    db = tmp_path / "tapwork.db"
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    async with BotApiStandIn() as server, aiohttp.ClientSession() as session:
        server.webhook_targets = [f"{base}/telegram" for base in bases]
        configs = []
        for n, port in enumerate(ports):
            config = tmp_path / f"replica{n}.toml"
            # both give Telegram the one public URL; the "balancer" posts to either
            config.write_text(_config(server, db, port, f"{bases[0]}/telegram"))
            configs.append(config)
        assert await asyncio.to_thread(
            main, ["project", "-c", str(configs[0]), str(SAMPLE / "reviews.toml")]) == 0
        assert await asyncio.to_thread(main, ["import", "-c", str(configs[0]), "--project",
                                              "reviews", str(SAMPLE / "reviews.jsonl")]) == 0
        replicas = [await start_bot(config) for config in configs]
        try:
            for base in bases:
                await until(lambda b=base: healthy(session, b), f"{base} healthy")
            # both have set the webhook (the second replaced the first)
            await eventually(lambda: server.webhook is not None
                             and server.count("setWebhook") == 2)
            assert server.webhook is not None
            server.webhook.duplicate(4)  # posted again once acknowledged
            server.webhook.duplicate(3, together=True)  # two posts racing for one claim
            await asyncio.gather(*(_answer(server, user) for user in PHONES))
            await server.wait_drained(20)

            # refused without the secret, or with a wrong one; nothing handled
            body = b'{"update_id": 1, "message": {}}'
            for headers, status in (({}, 401),
                                    ({"X-Telegram-Bot-Api-Secret-Token": "nope"}, 403)):
                async with session.post(f"{bases[1]}/telegram", data=body,
                                        headers=headers) as response:
                    assert response.status == status

            metrics = [(await http_get(session, f"{base}/metrics"))[1] for base in bases]
            health = [await http_get(session, f"{base}/healthz") for base in bases]
        finally:
            for process in replicas:
                await stop_bot(process)
        logs = [(await p.stderr.read()).decode() if p.stderr else "" for p in replicas]
        posts = server.webhook.posts if server.webhook else []

    assert [p.returncode for p in replicas] == [0, 0], [log[-2000:] for log in logs]
    assert all(status == 200 for status, _ in health)
    # every answer recorded once: three per phone, never one item twice for a worker
    saved = answered(db)
    assert len(saved) == len(PHONES) * ANSWERS
    assert len({(a.worker_id, a.item_id) for a in saved}) == len(saved)
    # both replicas took posts; each update was handled by exactly one of them
    assert {p.url for p in posts} == {f"{base}/telegram" for base in bases}
    delivered = {p.update_id for p in posts if p.status == 200}
    handled = sum(_counter(text, "handled") for text in metrics)
    assert handled == len(delivered)
    claims = update_claims(db)
    assert {c.update_id for c in claims} == delivered
    assert all(c.done_at is not None for c in claims)
    # every duplicate was answered 200 without being handled again
    duplicates = sum(1 for p in posts if p.duplicate and p.status == 200)
    assert duplicates == 7
    assert sum(_counter(text, "deduplicated") for text in metrics) == duplicates
    assert sum(_counter(text, "refused") for text in metrics) == 2
