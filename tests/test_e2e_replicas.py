"""Three ``tapwork run`` replicas in webhook mode on one PostgreSQL database, behind the
stand-in playing Telegram and the load balancer (posts round-robin over the replicas,
retries on anything but 2xx, duplicate deliveries injected). Simulated workers answer;
pay notices and a broadcast go out; one replica is SIGKILLed while it holds an update
and started again. Then, from the database (``tests/state.py``), the export and the
stand-in's record of what reached each phone: every acknowledged answer is exported
once, no ledger entry or notice is doubled, the broadcast reached every recipient once
at the shared rate, and every replica's jobs still run.

Bounded by counts, never by the clock: the one wait the design has (a dead replica's
claim is taken over after 60 s) is passed by ageing those claims, and the lease that
runs out after the kill is made to (a project's shortest lease is a minute).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections import Counter
from pathlib import Path

import aiohttp

from bot.cli import main
from bot.config import Config, StorageConfig
from bot.sim.crowd import join, task_id
from bot.sim.phone import JSON, Phone
from bot.sim.standin import BotApiStandIn
from bot.wiring import Services
from tests.conftest import healthy, http_get, start_bot, stop_bot
from tests.state import (
    age_update_claims,
    answered,
    assignments,
    broadcast_ids,
    broadcast_statuses,
    duplicate_keys,
    expire_lease,
    ledger_entries,
    outbox_rows,
    update_claims,
)
from tests.test_webhook import SECRET, free_port
from tests.waiting import until

REPLICAS = 3
PHONES = tuple(range(9201, 9207))  # answer tasks
ANSWERS = 8  # each
WALKER = 9299  # takes a task and walks away: its lease runs out after the kill
IDLE = tuple(range(9301, 9321))  # agreed to the terms, no task: bonuses and the broadcast
ITEMS = 60
RATE = 4  # broadcast messages a second, for all replicas together
BROADCAST = "Come back, the reviews wait!"
REWARD = 20_000  # micros: "0.02"
#: past the 60 s after which a claim never finished is taken over (bot/services/updates.py)
STALE = 61

PROJECT = """name = "reviews"
kind = "sentiment"
reward = "0.02"
currency = "USD"
overlap = 3
lease_minutes = 10
min_seconds = 0
[title]
en = "How does this review feel?"
[instructions]
en = "Read the review and tap how the writer feels."
"""


def _config(server: BotApiStandIn, url: str, port: int, public: str) -> str:
    return (f'[telegram]\ntoken = "{server.token}"\napi_base_url = "{server.api_base_url}"\n'
            f'file_base_url = "{server.file_base_url}"\nmax_rate = 30\n'
            f'[storage]\nurl = "{url}"\n'
            '[work]\nlease_check_seconds = 0.5\nsettle_check_seconds = 0.5\n'
            f'[broadcast]\nbroadcast_rate = {RATE}\n'
            f'[webhook]\nlisten = "127.0.0.1:{port}"\nurl = "{public}"\n'
            f'secret_token = "{SECRET}"\n')


def _job_runs(metrics: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^tapwork_job_runs_total{job="([^"]+)"} (\S+)$', metrics, re.M)}


def _updates(metrics: str, outcome: str) -> float:
    found = re.search(rf'^tapwork_updates_total{{outcome="{outcome}"}} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


def _newest_task(phone: Phone) -> JSON | None:
    """The newest message that is an open task (a notice may come after it)."""
    return next((m for m in reversed(phone.messages) if task_id(m) is not None), None)


def _received(server: BotApiStandIn, user: int, text: str) -> int:
    phone = server.phone(user)
    return sum(1 for m in phone.messages if text in (phone.text(m) or ""))


async def _answer(phone: Phone, acknowledged: Counter[int]) -> None:
    """Tap a label on each task as it shows; an answer counts as acknowledged once the
    phone sees its next task."""
    task = await join(phone, "reviews", timeout=30)
    assert task_id(task) is not None, phone.transcript()
    for n in range(ANSWERS):
        message = _newest_task(phone)
        assert message is not None, phone.transcript()
        current = task_id(message)
        await phone.tap(phone.buttons(message)[(phone.id + n) % 3][0], message)
        await phone.wait_for(lambda p, c=current: task_id(_newest_task(p)) not in (None, c),
                             60)
        acknowledged[phone.id] += 1


def _max_in_a_second(times: list[float], after: float = float("-inf")) -> int:
    """The most sends in any window of one second that starts at a send at or after
    ``after``."""
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + 1.0) for t in times if t >= after),
               default=0)


async def _register_idle(url: str) -> None:
    services = await Services.open(Config(storage=StorageConfig(url=url)))
    try:
        for worker in IDLE:
            await services.workers.seen(worker, f"I{worker}", "en")
            await services.workers.consent(worker)
    finally:
        await services.close()


async def test_three_replicas_on_postgres_survive_a_sigkill(tmp_path: Path, pg_url: str
                                                            ) -> None:
    ports = [free_port() for _ in range(REPLICAS)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    victim = 1
    (tmp_path / "reviews.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "reviews.jsonl").write_text("".join(
        json.dumps({"id": f"r{i}", "text": f"Review {i}: fine, I suppose."}) + "\n"
        for i in range(ITEMS)), encoding="utf-8")
    acknowledged: Counter[int] = Counter()
    async with BotApiStandIn() as server, aiohttp.ClientSession() as session:
        server.webhook_targets = [f"{base}/telegram" for base in bases]
        configs = []
        for n, port in enumerate(ports):
            config = tmp_path / f"replica{n}.toml"
            config.write_text(_config(server, pg_url, port, f"{bases[0]}/telegram"))
            configs.append(config)
        cli = ["-c", str(configs[0])]
        assert await asyncio.to_thread(
            main, ["project", *cli, str(tmp_path / "reviews.toml")]) == 0
        assert await asyncio.to_thread(
            main, ["import", *cli, "--project", "reviews", str(tmp_path / "reviews.jsonl")]) == 0
        for worker in IDLE:
            server.phone(worker, f"I{worker}")
        await _register_idle(pg_url)

        replicas = [await start_bot(config) for config in configs]
        try:
            for base in bases:
                await until(lambda b=base: healthy(session, b), f"{base} healthy")
            await until(lambda: server.webhook is not None
                         and server.count("setWebhook") == REPLICAS, "webhook set by all")
            assert server.webhook is not None
            delivery = server.webhook
            delivery.duplicate(6)  # posted again once acknowledged
            delivery.duplicate(4, together=True)  # two posts racing for one claim
            # every task's edit is answered late: a replica is mid-update most of the time
            server.delay("editMessageText", 0.1, times=10_000)

            walker = server.phone(WALKER, "Walker")
            walked = task_id(await join(walker, "reviews", timeout=30))
            assert walked is not None

            phones = [server.phone(user, f"W{user}") for user in PHONES]
            burst = asyncio.gather(*(_answer(phone, acknowledged) for phone in phones))
            await until(lambda: (burst.done() and burst.result())
                         or sum(acknowledged.values()) >= len(PHONES) * 2,
                         "the burst under way")
            for worker in IDLE:  # pay notices, delivered by the replicas' jobs
                assert await asyncio.to_thread(main, [
                    "bonus", *cli, str(worker), "0.05", "--reason",
                    f"bonus-for-{worker}", "--key", f"b{worker}",
                    "--currency", "USD"]) == 0

            # SIGKILL one replica while it holds an update it has claimed
            victim_url = f"{bases[victim]}/telegram"
            def mid_update() -> bool:  # posted there, claimed, not finished
                posted = delivery.in_flight.get(victim_url, set())
                return any(c.update_id in posted and c.done_at is None
                           for c in update_claims(pg_url))

            await until(mid_update, "the victim handling an update")
            held = sorted(delivery.in_flight[victim_url])
            replicas[victim].send_signal(signal.SIGKILL)
            await replicas[victim].wait()
            answered_at_kill = sum(acknowledged.values())
            # its claims would wait out the 60 s timeout; then a retry takes them over
            age_update_claims(pg_url, held, STALE)
            # a lease running out after the kill goes back to the pool: jobs still run
            expire_lease(pg_url, walked)
            await until(lambda: next(a.status for a in assignments(pg_url)
                                      if a.id == walked) != "open", "the lease returned")

            # again: a claim whose COMMIT was on its way as the replica died lands late
            age_update_claims(pg_url, held, STALE)
            replicas[victim] = await start_bot(configs[victim], "--no-set-webhook")
            await until(lambda: healthy(session, bases[victim]), "restarted")
            await asyncio.wait_for(burst, 120)

            assert await asyncio.to_thread(
                main, ["broadcast", *cli, "reviews", "--text", BROADCAST]) == 0
            (broadcast,) = broadcast_ids(pg_url)
            await until(lambda: all(s not in ("pending", "sending") for s in
                                     broadcast_statuses(pg_url, broadcast).values()),
                         "the broadcast sent", 60)
            # each bonus sent, or claimed by the killed replica as it died (in doubt:
            # never sent again)
            await until(lambda: all(n.sent_at is not None or n.claim is not None
                                     for n in outbox_rows(pg_url)
                                     if "bonus-for-" in n.payload), "bonuses sent")

            first = [_job_runs((await http_get(session, f"{b}/metrics"))[1]) for b in bases]

            async def rising() -> bool:
                now = [_job_runs((await http_get(session, f"{b}/metrics"))[1]) for b in bases]
                return all(n.get("expire-leases", 0) > f.get("expire-leases", 0)
                           for n, f in zip(now, first, strict=True))

            await until(rising, "every replica's jobs running")
            health = [(await http_get(session, f"{base}/healthz"))[0] for base in bases]
            metrics = [(await http_get(session, f"{b}/metrics"))[1] for b in bases]
            await server.wait_drained(30)
        finally:
            for process in replicas:
                await stop_bot(process)
        logs = [(await p.stderr.read()).decode() if p.stderr else "" for p in replicas]
        posts = list(delivery.posts)
        calls = [c for c in server.calls if c.method == "sendMessage" and c.status == 200]
        bonus_seen = {w: _received(server, w, f"bonus-for-{w}") for w in IDLE}
        everyone = (*IDLE, WALKER, *PHONES)
        broadcast_seen = {w: _received(server, w, BROADCAST) for w in everyone}

    assert [p.returncode for p in replicas] == [0] * REPLICAS, [g[-2000:] for g in logs]
    assert health == [200] * REPLICAS
    assert 0 < answered_at_kill < len(PHONES) * ANSWERS  # the kill came mid-burst
    # the kill cut a post short: the stand-in saw no answer and posted it elsewhere
    assert any(p.url == f"{bases[victim]}/telegram" and p.status == 0 for p in posts)

    # every acknowledged answer saved once and exported once
    saved = answered(pg_url)
    assert len(saved) == sum(acknowledged.values()) == len(PHONES) * ANSWERS
    pairs = {(a.worker_id, a.item_id) for a in saved}
    assert len(pairs) == len(saved)
    out = tmp_path / "export.jsonl"
    assert await asyncio.to_thread(
        main, ["export", *cli, "--project", "reviews", "-o", str(out)]) == 0
    exported = [(answer["worker"], row["id"]) for line in out.read_text().splitlines()
                for row in [json.loads(line)] for answer in row["answers"]]
    assert len(exported) == len(saved) and len(set(exported)) == len(exported)
    assert Counter(w for w, _ in exported) == Counter({p: ANSWERS for p in PHONES})

    # the ledger: one earning per answer under its own key, sums as the answers say
    entries = ledger_entries(pg_url)
    assert duplicate_keys(pg_url) == {"ledger": [], "outbox": []}
    earned = [e for e in entries if e.kind == "earning"]
    assert sorted(e.assignment_id for e in earned) == sorted(a.id for a in saved)
    for phone in PHONES:
        mine = [e.amount for e in entries if e.worker_id == phone and e.kind != "bonus"]
        assert sum(mine) == ANSWERS * REWARD, phone
    assert sorted(e.worker_id for e in entries if e.kind == "bonus") == sorted(IDLE)

    # no notice twice: each bonus reached its worker once, and the outbox agrees
    bonuses = {n.worker_id: n for n in outbox_rows(pg_url) if "bonus-for-" in n.payload}
    assert sorted(bonuses) == sorted(IDLE)
    assert max(bonus_seen.values()) == 1
    sent = {w for w, n in bonuses.items() if n.sent_at is not None}
    assert all(bonuses[w].outcome == "sent" for w in sent)
    assert all(bonus_seen[w] == 1 for w in sent)
    # what the dead replica had on the wire: at most one, claimed and never resent
    assert len(IDLE) - len(sent) <= 1

    # the broadcast: every recipient once, nobody else, at the shared rate
    statuses = broadcast_statuses(pg_url, broadcast)
    assert set(IDLE) | {WALKER} <= set(statuses)  # the walker's lease was returned
    assert set(statuses.values()) == {"sent"}
    assert broadcast_seen == {w: int(w in statuses) for w in everyone}
    sends = [c.at for c in calls if BROADCAST in str(c.params.get("text", ""))]
    assert len(sends) == len(statuses)
    # a second saved up, then the rate: the bucket is shared by all three replicas
    assert _max_in_a_second(sends) <= 2 * RATE + 1
    assert _max_in_a_second(sends, after=min(sends) + 1.0) <= RATE + 1

    # every update handled to the end; every duplicate answered without handling
    assert all(c.done_at is not None for c in update_claims(pg_url))
    claimed = {c.update_id for c in update_claims(pg_url)}
    assert claimed == {p.update_id for p in posts}, [
        p for p in posts if p.update_id not in claimed]
    duplicates = sum(1 for p in posts if p.duplicate and p.status == 200)
    assert duplicates == 10
    # (the killed replica's counters died with it)
    assert 0 < sum(_updates(m, "deduplicated") for m in metrics) <= duplicates
