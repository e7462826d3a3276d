"""A broadcast to a large crowd through the Bot API stand-in: pace, duplicates, restarts.

    python -m bench.broadcast [--workers 100000] [--rate 1000] [--crash-workers 10000]
                              [--term-workers 5000] [--no-probe] [--quick] [--json]
                              [--http aiohttp|httpx] [--keep DIR] [--profile FILE]

What runs where, and why (the process handling follows ``bench/loop.py``):

- This process holds the Bot API stand-in with one simulated phone per worker (a chat
  must exist, or a send is "chat not found"). Every ``--blocked-every``-th worker (0.5 %
  by default) has blocked the bot and answers 403; 429s ("retry after 1 s", three calls
  each time) are injected at 15, 35, 65 and 85 % of the way.
- The bot runs as a separate process, as an operator starts it (``python -m bot run -c
  CONFIG``), with Telegram's overall throttle off (``[telegram] max_rate = 0``: PTB's
  limiter would cap every broadcast at that rate), ``http = --http`` (aiohttp by
  default, as tapwork's own default), ``max_retries = 5`` and
  ``[broadcast] broadcast_rate = R``. The broadcast is queued by another process,
  ``python -m bot broadcast -c CONFIG reviews``, and the running bot picks it up from its
  polling job (``[work] lease_check_seconds = 1``).
- Databases are seeded once through ``storage.workers`` (one project, N workers who
  consented), copied for every run, and read back at the end to see how each recipient
  ended.

Runs, each with a fresh stand-in, database and bot process:

1. ``probe``: 10 s of sending at R, without 429s. When the share is below 0.95 this
   machine cannot send at R: the next probe tries 90 % of what was sustained (at most
   three probes), and the runs below use the last rate tried. Both are printed.
2. ``clean``: the whole broadcast to ``--workers`` without interruption: achieved rate,
   duplicates, skipped workers.
3. ``sigkill``: a broadcast to ``--crash-workers``; the bot is killed outright (SIGKILL)
   when half of them have been sent to, started again, and left to finish.
4. ``sigterm``: the same with a clean stop (SIGTERM) on ``--term-workers``.

The interrupted runs are smaller than the clean one by default to keep the whole
benchmark within minutes: what they measure is the state one process leaves behind at
one moment (the claims in flight), which does not grow with the crowd.

Figures (issue: "bench/broadcast.py"): achieved rate / configured rate >= 0.95 in the
steady window (the sends between the 5th and 95th percentile of the run, so start-up and
the tail are left out, 429 pauses are in; a send answered 200 or 403 counts, a 429 does
not); duplicates (chats sent the broadcast more than once) = 0; after each restart,
messaged twice = 0, and workers skipped (eligible, not blocked, never sent it) = 0 among
those not in doubt. In doubt are the recipients the killed process had claimed but not
confirmed (``unconfirmed`` in the database): at most one per sender
(``bot.services.broadcast_runner.senders``). By design they are never sent again, so one whose
message had not left when the process died is skipped: that count is printed, with no
target, because it is the price of never messaging anyone twice. This is a measurement,
not a test: it exits 0 whether targets are met or not, and non-zero only when something
crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.common import (
    BotCrashed,
    cell,
    check_alive,
    cpu_seconds,
    figure_lines,
    machine_busy_seconds,
    make_work_dir,
    peak_rss_mb,
    print_profile,
    remove_database,
    run_and_print,
    say,
    start_process,
    stop_process,
)
from bot.clock import to_iso
from bot.config import Config, StorageConfig
from bot.domain.projects import parse_project
from bot.services.broadcast_runner import senders
from bot.sim.phone import JSON
from bot.sim.standin import ApiError, BotApiStandIn
from bot.wiring import Services
from storage import broadcasts as broadcast_store
from storage import items as item_store
from storage import workers as worker_store

PROJECT: dict[str, Any] = {
    "name": "reviews", "kind": "sentiment", "reward": "0.02", "currency": "USD",
    "overlap": 3, "lease_minutes": 10,
    "title": {"en": "How does this review feel?", "ko": "이 리뷰는 어떤 느낌인가요?",
              "zh": "这条评论是什么感觉？"},
    "instructions": {"en": "Read the review and tap how the writer feels."},
}
#: workers' languages in turn, so the invitation is rendered in each of them
LANGUAGES = ("en", "ko", "zh")
#: simulated user ids start here
FIRST_USER = 1_000_000
#: rows per seeding transaction
SEED_BATCH = 25_000
#: 429s ("retry after 1 s", each for 3 calls) injected when this share of the recipients
#: has been sent to
FAULTS_AT = (0.15, 0.35, 0.65, 0.85)
FAULT_TIMES = 3
FAULT_RETRY_AFTER = 1
#: where the interrupted runs are stopped
INTERRUPT_AT = 0.5
#: after a stop, how long requests already written by the dead process may still arrive
STRAGGLE_SECONDS = 0.5
#: the steady window: the sends between these quantiles of the run
STEADY = (0.05, 0.95)
#: a probe sends for about this many seconds
PROBE_SECONDS = 10.0
#: when a probe falls short, the next one tries this share of what it sustained
HEADROOM = 0.9
MAX_PROBES = 3

START_TIMEOUT = 60.0
#: no new send for this long, and the broadcast not finished: the bot is stuck
STALL_TIMEOUT = 60.0
QUEUE_TIMEOUT = 120.0

TARGET_SHARE = 0.95


@dataclass(frozen=True)
class Options:
    workers: int = 100_000
    rate: float = 1000.0
    #: workers in the SIGKILL run (0 skips it)
    crash_workers: int = 10_000
    #: workers in the SIGTERM run (0 skips it)
    term_workers: int = 5_000
    #: every this many-th worker has blocked the bot (200: 0.5 %)
    blocked_every: int = 200
    #: find what this machine sustains before the runs
    probe: bool = True
    keep: str | None = None
    profile: str | None = None
    #: the bot's HTTP client (``telegram.http``)
    http: str = "aiohttp"

    @classmethod
    def quick(cls) -> Options:
        """A smoke run: seconds per phase."""
        return cls(workers=5_000, rate=500.0, crash_workers=2_000, term_workers=2_000)


# -------------------------------------------------------------------------- stand-in


class CountingStandIn(BotApiStandIn):
    """The stand-in, counting per chat the messages the bot got through.

    ``record_calls`` is off (100,000 recorded calls would be a benchmark of their own) and
    each chat keeps only its newest message.
    """

    def __init__(self, token: str) -> None:
        super().__init__(token, history_limit=1)
        self.record_calls = False
        #: chat -> sendMessage calls that delivered a message
        self.delivered: Counter[int] = Counter()
        #: chat -> sendMessage calls answered 403 (the user blocked the bot)
        self.refused: Counter[int] = Counter()
        #: when each send answered 200 or 403 was handled (perf_counter)
        self.times: list[float] = []
        #: other errors by description (400 "chat not found" and the like)
        self.errors: Counter[str] = Counter()

    async def _api_sendMessage(self, params: JSON, files: dict[str, Any]) -> Any:
        chat = params.get("chat_id")
        try:
            result = await super()._api_sendMessage(params, files)
        except ApiError as error:
            if error.status == 403 and isinstance(chat, int):
                self.refused[chat] += 1
                self.times.append(time.perf_counter())
            else:
                self.errors[error.description] += 1
            raise
        if isinstance(chat, int):
            self.delivered[chat] += 1
        self.times.append(time.perf_counter())
        return result

    @property
    def handled(self) -> int:
        """Sends answered 200 or 403 so far."""
        return len(self.times)

    @property
    def throttled(self) -> int:
        """sendMessage calls answered 429 (injected faults are answered before the handler)."""
        return (self.count("sendMessage") - self.handled
                - sum(self.errors.values()))


# -------------------------------------------------------------------------- database


def worker_id(i: int) -> int:
    return FIRST_USER + i


def is_blocked(i: int, every: int) -> bool:
    return every > 0 and i % every == every // 2


async def seed(path: Path, first: int, last: int) -> None:
    """Workers ``first`` to ``last - 1``, consenting and active; the project when first is 0.

    Workers go in through ``storage.workers`` in large transactions. The project's
    "opened" event is closed as if handled long ago: otherwise the running bot would
    invite the whole crowd to the project through the outbox during the benchmark.
    """
    services = await Services.open(Config(storage=StorageConfig(path=str(path))))
    try:
        now = to_iso(services.clock.now())
        if first == 0:
            project, _created = await services.catalog.save(parse_project(PROJECT))
            async with services.db.transaction() as conn:
                # a broadcast goes only to workers who can take an item: give them one
                await item_store.insert_many(conn, project.id, [item_store.NewItem(
                    "waiting", "A task for everyone", None, None, False, None, None)], now)
                for event_id, _project, _kind in await broadcast_store.open_events(conn):
                    await broadcast_store.close_event(conn, event_id, now)
        for start in range(first, last, SEED_BATCH):
            async with services.db.transaction() as conn:
                for i in range(start, min(last, start + SEED_BATCH)):
                    language = LANGUAGES[i % len(LANGUAGES)]
                    await worker_store.upsert_seen(conn, worker_id(i), f"W{i}", language,
                                                   language, now)
                    await worker_store.set_consent(conn, worker_id(i), now)
    finally:
        await services.close()


def seeded_workers(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return int(conn.execute("SELECT count(*) FROM workers WHERE consent_at IS NOT NULL"
                                    ).fetchone()[0])
    except sqlite3.Error:
        return 0


class Seeds:
    """Pristine databases by crowd size, each grown from the largest smaller one."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.paths: dict[int, Path] = {}
        #: size -> seconds it took to seed (None: kept from an earlier run)
        self.seconds: dict[int, float | None] = {}

    async def get(self, workers: int) -> Path:
        if workers in self.paths:
            return self.paths[workers]
        path = self.work_dir / f"seed-{workers}.db"
        if seeded_workers(path) == workers:
            self.paths[workers], self.seconds[workers] = path, None
            return path
        say(f"seeding {workers:,} workers ...")
        started = time.perf_counter()
        remove_database(path)
        smaller = [n for n in self.paths if n < workers]
        first = max(smaller, default=0)
        if first:
            copy_database(self.paths[first], path)
        await seed(path, first, workers)
        took = time.perf_counter() - started
        say(f"  {took:.1f} s")
        self.paths[workers], self.seconds[workers] = path, round(took, 2)
        return path


def copy_database(source: Path, target: Path) -> None:
    remove_database(target)
    with contextlib.closing(sqlite3.connect(source)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, target)


def read_db(path: Path, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A read-only look at the bot's database (WAL: never in its way)."""
    uri = f"file:{path}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
        return conn.execute(query, params).fetchall()


def broadcast_status(path: Path) -> str | None:
    rows = read_db(path, "SELECT status FROM broadcasts ORDER BY id DESC LIMIT 1")
    return str(rows[0][0]) if rows else None


def target_statuses(path: Path) -> dict[str, int]:
    return {str(s): int(n) for s, n in read_db(
        path, "SELECT status, count(*) FROM broadcast_targets GROUP BY status")}


def targets_by_status(path: Path) -> dict[int, str]:
    return {int(w): str(s) for w, s in read_db(
        path, "SELECT worker_id, status FROM broadcast_targets")}


# -------------------------------------------------------------------------- processes


def write_config(path: Path, server: BotApiStandIn, db: Path, rate: float,
                 http: str = "aiohttp") -> None:
    path.write_text(
        "# written by bench/broadcast.py\n"
        "[telegram]\n"
        f"token = {json.dumps(server.token)}\n"
        f"api_base_url = {json.dumps(server.api_base_url)}\n"
        f"file_base_url = {json.dumps(server.file_base_url)}\n"
        "max_rate = 0  # PTB's limiter would cap the broadcast at max_rate otherwise\n"
        "max_retries = 5\n"
        f"http = {json.dumps(http)}\n"
        "[storage]\n"
        f"path = {json.dumps(str(db))}\n"
        "[work]\n"
        "lease_check_seconds = 1  # how soon a queued broadcast is picked up\n"
        "[broadcast]\n"
        f"broadcast_rate = {rate:g}\n",
        encoding="utf-8")


def bot_command(config: Path, profile: Path | None) -> list[str]:
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    return [*command, "-m", "bot", "run", "-c", str(config)]


async def wait_polling(server: CountingStandIn, process: subprocess.Popen[bytes],
                       log_path: Path, since: int) -> float:
    """Seconds until the bot process deleted the webhook (it polls right after)."""
    started = time.perf_counter()
    while server.count("deleteWebhook") <= since:
        check_alive(process, log_path)
        if time.perf_counter() - started > START_TIMEOUT:
            raise BotCrashed(f"the bot did not start polling in {START_TIMEOUT} s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def queue_broadcast(config: Path, log_path: Path, token: str) -> float:
    """``tapwork broadcast -c CONFIG reviews`` in its own process; returns its seconds."""
    started = time.perf_counter()
    process = start_process([sys.executable, "-m", "bot", "broadcast", "-c", str(config),
                             PROJECT["name"]], log_path, token)
    try:
        code = await asyncio.to_thread(process.wait, QUEUE_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)
        raise BotCrashed(f"tapwork broadcast took over {QUEUE_TIMEOUT} s") from None
    if code != 0:
        raise BotCrashed(f"tapwork broadcast exited with {code}:\n{read_log(log_path)}")
    return time.perf_counter() - started


def read_log(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the bot's process group (it has its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# -------------------------------------------------------------------------- one run


@dataclass
class RunResult:
    name: str
    workers: int
    blocked: int
    rate: float
    interrupt: str | None
    #: first send to the broadcast marked done (restarts included)
    seconds: float
    steady_rate: float
    share: float
    overall_rate: float
    #: sends per whole second in the steady window: slowest and median second
    slowest_second: int
    median_second: float
    delivered: int
    refused_403: int
    throttled_429: int
    other_errors: dict[str, int]
    duplicates: int
    #: None when the broadcast was not left to finish (a probe)
    skipped: int | None
    #: skipped workers by how the database left them
    skipped_by_status: dict[str, int]
    statuses: dict[str, int]
    #: recipients "unconfirmed" in the database that did get the message (and that did not)
    unconfirmed_delivered: int
    unconfirmed_skipped: int
    #: claims left open by the stopped process ("sending"), counted before the restart
    in_doubt_at_stop: int | None
    sent_before_stop: int | None
    #: the signal to the process's exit, and the sends it made meanwhile
    stop_seconds: float | None
    sends_while_stopping: int | None
    #: sends the stand-in answered after the process had exited (written before it died)
    sends_after_exit: int | None
    #: the stop to the first send of the restarted process
    restart_gap_seconds: float | None
    queue_seconds: float
    bot_cpu_percent: float
    #: the bot's CPU time per send answered 200 or 403
    bot_cpu_ms_per_send: float | None
    bench_cpu_percent: float
    other_cpu_percent: float
    bot_peak_rss_mb: float
    bench_rss_mb: float
    notes: list[str] = field(default_factory=list)


def steady(times: list[float]) -> tuple[float, float, int, float]:
    """(steady rate, whole-run rate, slowest second, median second) of sorted send times."""
    n = len(times)
    if n < 2:
        return 0.0, 0.0, 0, 0.0
    lo, hi = int(n * STEADY[0]), max(int(n * STEADY[0]) + 1, int(n * STEADY[1]) - 1)
    span = times[hi] - times[lo]
    rate = (hi - lo) / span if span > 0 else math.inf
    overall = (n - 1) / (times[-1] - times[0]) if times[-1] > times[0] else math.inf
    start = times[lo]
    bins = Counter(int(t - start) for t in times[lo:hi + 1])
    whole = [bins.get(s, 0) for s in range(int(times[hi] - start))]
    if not whole:
        return rate, overall, 0, 0.0
    return rate, overall, min(whole), statistics.median(whole)


def self_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def add_phones(server: CountingStandIn, workers: int, options: Options) -> int:
    """A phone per worker, every ``blocked_every``-th one blocking the bot; how many do."""
    blocked = 0
    for i in range(workers):
        server.phone(worker_id(i), f"W{i}", language_code=LANGUAGES[i % len(LANGUAGES)])
        if is_blocked(i, options.blocked_every):
            server.block(worker_id(i), notify=False)
            blocked += 1
    return blocked


def who_got_it(server: CountingStandIn, final: dict[int, str], workers: int,
               options: Options) -> tuple[Counter[str], Counter[bool]]:
    """Workers who did not block the bot yet got nothing, by their final status; and the
    unconfirmed ones, by whether the message reached them after all."""
    skipped_by: Counter[str] = Counter()
    unconfirmed = Counter[bool]()
    for i in range(workers):
        chat = worker_id(i)
        got = server.delivered.get(chat, 0)
        status = final.get(chat, "not queued")
        if status == "unconfirmed":
            unconfirmed[got > 0] += 1
        if not is_blocked(i, options.blocked_every) and got == 0:
            skipped_by[status] += 1
    return skipped_by, unconfirmed


async def run_broadcast(name: str, seed_db: Path, workers: int, rate: float,
                        options: Options, work_dir: Path, interrupt: str | None = None,
                        profile: Path | None = None, faults: bool = True,
                        limit_seconds: float | None = None) -> RunResult:
    """Fresh stand-in, database and bot; one broadcast to every worker, maybe interrupted.

    ``limit_seconds``: stop sending that long after the first send (a probe); the
    broadcast is left unfinished and only the rate is meaningful.
    """
    token = f"{int.from_bytes(os.urandom(4), 'big') % 10**9 + 10**9}:BENCH-{name}"
    server = CountingStandIn(token)
    await server.start()
    db = work_dir / f"{name}.db"
    config = work_dir / f"{name}.toml"
    log_path = work_dir / f"{name}.log"
    process: subprocess.Popen[bytes] | None = None
    notes: list[str] = []
    try:
        copy_database(seed_db, db)
        write_config(config, server, db, rate, options.http)
        blocked = add_phones(server, workers, options)

        process = start_process(bot_command(config, profile), log_path, token)
        await wait_polling(server, process, log_path, 0)
        queue_seconds = await queue_broadcast(config, work_dir / f"{name}-queue.log", token)

        cpu_used = 0.0
        measured_from = time.perf_counter()
        busy_before, bench_before = machine_busy_seconds(), time.process_time()
        cpu_before = cpu_seconds(process.pid)
        fault_at = [round(f * workers) for f in FAULTS_AT] if faults else []
        stop_at = round(workers * INTERRUPT_AT) if interrupt else None
        in_doubt = sent_before = stop_seconds = while_stopping = after_exit = None
        finished = True
        restart_gap: float | None = None
        stopped_at: float | None = None
        last_progress, last_handled = time.perf_counter(), -1
        peak = 0.0
        while True:
            await asyncio.sleep(0.1)
            check_alive(process, log_path)
            handled = server.handled
            now = time.perf_counter()
            if handled != last_handled:
                last_progress, last_handled = now, handled
                if stopped_at is not None and restart_gap is None \
                        and sent_before is not None and handled > sent_before:
                    restart_gap = server.times[sent_before] - stopped_at
            elif now - last_progress > STALL_TIMEOUT:
                raise BotCrashed(f"{name}: no send for {STALL_TIMEOUT:g} s at {handled} of "
                                 f"{workers}; see {log_path}")
            while fault_at and handled >= fault_at[0]:
                fault_at.pop(0)
                server.inject("sendMessage", 429, retry_after=FAULT_RETRY_AFTER,
                              times=FAULT_TIMES)
            if stop_at is not None and handled >= stop_at:
                stop_at = None
                peak = max(peak, peak_rss_mb(process.pid))
                cpu_used += cpu_seconds(process.pid) - cpu_before
                signalled, handled_then = time.perf_counter(), server.handled
                if interrupt == "SIGKILL":
                    kill_hard(process)
                else:
                    await stop_process(process)
                    if process.returncode != 0:
                        notes.append(f"the bot exited with {process.returncode} on SIGTERM")
                stopped_at = time.perf_counter()
                stop_seconds = round(stopped_at - signalled, 2)
                while_stopping = server.handled - handled_then
                # requests the process wrote before it died are still answered (and
                # delivered), as Telegram would; wait for them before the restart
                await asyncio.sleep(STRAGGLE_SECONDS)
                sent_before = server.handled
                after_exit = sent_before - handled_then - while_stopping
                in_doubt = target_statuses(db).get("sending", 0)
                log_path = log_path.with_suffix(".restart.log")
                process = start_process(bot_command(config, None), log_path, token)
                await wait_polling(server, process, log_path, 1)
                cpu_before = cpu_seconds(process.pid)
                continue
            if broadcast_status(db) == "done":
                break
            if limit_seconds is not None and server.times \
                    and now - server.times[0] >= limit_seconds:
                finished = False
                break
        cpu_used += cpu_seconds(process.pid) - cpu_before
        peak = max(peak, peak_rss_mb(process.pid))
        measured = time.perf_counter() - measured_from
        bench_used = time.process_time() - bench_before
        busy = machine_busy_seconds() - busy_before
        bench_rss = self_rss_mb()
        await stop_process(process)
        process = None
    finally:
        if process is not None:
            kill_hard(process)
        await server.stop()

    times = sorted(server.times)
    wall = times[-1] - times[0] if len(times) > 1 else 0.0
    rate_steady, rate_all, slowest, median = steady(times)
    final = targets_by_status(db)
    statuses = dict(Counter(final.values()))
    skipped_by, unconfirmed = who_got_it(server, final, workers, options)
    duplicates = sum(1 for n in server.delivered.values() if n > 1)
    if not finished:
        skipped_by.clear()
        notes.append(f"stopped after {limit_seconds:g} s of sending (a probe): skipped "
                     "workers are not counted")
    if server.internal_errors:
        notes.append(f"the stand-in failed {len(server.internal_errors)} times: "
                     f"{server.internal_errors[0]!r}")
    span = max(measured, 1e-9)
    sends = len(times)
    return RunResult(
        name=name, workers=workers, blocked=blocked, rate=rate, interrupt=interrupt,
        seconds=round(wall, 2), steady_rate=round(rate_steady, 1),
        share=round(rate_steady / rate, 3), overall_rate=round(rate_all, 1),
        slowest_second=slowest, median_second=median,
        delivered=sum(server.delivered.values()), refused_403=sum(server.refused.values()),
        throttled_429=server.throttled, other_errors=dict(server.errors),
        duplicates=duplicates, skipped=sum(skipped_by.values()) if finished else None,
        skipped_by_status=dict(skipped_by), statuses=statuses,
        unconfirmed_delivered=unconfirmed[True], unconfirmed_skipped=unconfirmed[False],
        in_doubt_at_stop=in_doubt, stop_seconds=stop_seconds,
        sends_while_stopping=while_stopping, sends_after_exit=after_exit,
        sent_before_stop=sent_before,
        restart_gap_seconds=None if restart_gap is None else round(restart_gap, 2),
        queue_seconds=round(queue_seconds, 2),
        bot_cpu_percent=round(cpu_used / span * 100, 1),
        bot_cpu_ms_per_send=round(cpu_used * 1000 / sends, 2) if sends else None,
        bench_cpu_percent=round(bench_used / span * 100, 1),
        other_cpu_percent=round(max(0.0, busy - cpu_used - bench_used) / span * 100, 1),
        bot_peak_rss_mb=round(peak, 1), bench_rss_mb=round(bench_rss, 1), notes=notes)


def skipped_outside_doubt(run: RunResult) -> int:
    """Workers left without the message who were not in doubt: the promise is none."""
    return sum(n for status, n in run.skipped_by_status.items() if status != "unconfirmed")


def describe(run: RunResult) -> str:
    text = (f"  {run.name}: {run.workers:,} workers at {run.rate:g}/s: {run.seconds:.1f} s, "
            f"steady {run.steady_rate:,.1f}/s ({run.share:.3f} of the rate; slowest second "
            f"{run.slowest_second}, median {run.median_second:g}), delivered "
            f"{run.delivered:,}, 403 {run.refused_403}, 429 {run.throttled_429}, "
            f"duplicates {run.duplicates}, skipped {run.skipped}, statuses {run.statuses}; "
            f"bot CPU {run.bot_cpu_percent:.0f} % ({run.bot_cpu_ms_per_send} ms/send), "
            f"this process {run.bench_cpu_percent:.0f} %, other {run.other_cpu_percent:.0f} %")
    if run.interrupt:
        text += (f"\n    {run.interrupt} after {run.sent_before_stop:,} sends: the process "
                 f"took {run.stop_seconds} s to exit and sent {run.sends_while_stopping} "
                 f"meanwhile, {run.sends_after_exit} more arrived after it exited; "
                 f"{run.in_doubt_at_stop} claims in doubt, first send "
                 f"{run.restart_gap_seconds} s after the stop; skipped by status "
                 f"{run.skipped_by_status}; unconfirmed {run.unconfirmed_delivered} "
                 f"delivered + {run.unconfirmed_skipped} never sent")
    for note in run.notes:
        text += f"\n    note: {note}"
    return text


# -------------------------------------------------------------------------- the run


async def run_benchmark(options: Options) -> dict[str, Any]:
    work_dir = make_work_dir(options.keep, "tapwork-bench-broadcast-")
    try:
        return await _run_in(work_dir, options)
    finally:
        if not options.keep:
            shutil.rmtree(work_dir, ignore_errors=True)


def below(achieved: float) -> float:
    """A round rate ``HEADROOM`` under what was achieved."""
    target = achieved * HEADROOM
    step = 50 if target >= 500 else 10 if target >= 50 else 1
    return max(1.0, math.floor(target / step) * step)


async def find_rate(options: Options, seeds: Seeds, work_dir: Path
                    ) -> tuple[float, list[RunResult]]:
    """The configured rate if this machine sustains it, else the best rate it does."""
    rate, probes = options.rate, []
    for number in range(1, MAX_PROBES + 1):
        size = min(options.workers, max(1000, round(rate * PROBE_SECONDS)))
        say(f"probe {number}: {size:,} workers at {rate:g}/s for at most "
            f"{PROBE_SECONDS:g} s, no 429s ...")
        probe = await run_broadcast(f"probe{number}", await seeds.get(size), size, rate,
                                    options, work_dir, faults=False,
                                    limit_seconds=PROBE_SECONDS)
        probes.append(probe)
        say(describe(probe))
        if probe.share >= TARGET_SHARE:
            break
        if number == MAX_PROBES:
            say(f"  still short after {MAX_PROBES} probes: the runs use {rate:g}/s anyway")
            break
        rate = below(probe.steady_rate)
        say(f"  short of {probe.rate:g}/s: sustained {probe.steady_rate:,.1f}/s; trying "
            f"{rate:g}/s")
    return rate, probes


async def _run_in(work_dir: Path, options: Options) -> dict[str, Any]:
    started = time.perf_counter()
    seeds = Seeds(work_dir)
    runs: dict[str, RunResult] = {}
    rate = options.rate
    if options.probe:
        rate, probes = await find_rate(options, seeds, work_dir)
        runs.update((p.name, p) for p in probes)
    plan: list[tuple[str, int, str | None]] = [("clean", options.workers, None)]
    if options.crash_workers:
        plan.append(("sigkill", min(options.workers, options.crash_workers), "SIGKILL"))
    if options.term_workers:
        plan.append(("sigterm", min(options.workers, options.term_workers), "SIGTERM"))
    for name, size, interrupt in plan:
        seed_db = await seeds.get(size)
        say(f"{name}: {size:,} workers at {rate:g}/s"
            + (f", {interrupt} at half way ..." if interrupt else " ..."))
        profile = Path(options.profile) if options.profile and name == "clean" else None
        runs[name] = run = await run_broadcast(name, seed_db, size, rate, options, work_dir,
                                               interrupt, profile)
        say(describe(run))
    return summarize(options, rate, seeds.seconds, runs, time.perf_counter() - started)


def summarize(options: Options, rate: float, seeding: dict[int, float | None],
              runs: dict[str, RunResult], seconds: float) -> dict[str, Any]:
    clean = runs["clean"]
    probes = [r for name, r in runs.items() if name.startswith("probe")]
    figures: list[dict[str, Any]] = []

    def figure(name: str, value: Any, target: str | None, ok: bool | None) -> None:
        figures.append({"figure": name, "value": value, "target": target, "pass": ok})

    if probes:
        first = probes[0]
        figure(f"probe: achieved at {first.rate:g}/s ({first.workers:,} workers, no 429s)",
               first.steady_rate, None, None)
        figure(f"probe: share of {first.rate:g}/s", first.share, f">= {TARGET_SHARE}",
               first.share >= TARGET_SHARE)
        if rate != options.rate:
            figure("rate the runs use (the configured one is out of reach)", rate, None, None)
    n = f"{clean.workers:,}"
    figure(f"achieved rate ({n} workers at {rate:g}/s, 429s)", clean.steady_rate, None, None)
    figure(f"achieved / configured rate ({rate:g}/s)", clean.share, f">= {TARGET_SHARE}",
           clean.share >= TARGET_SHARE)
    figure("duplicates (clean run)", clean.duplicates, "0", clean.duplicates == 0)
    figure("skipped (clean run)", clean.skipped, "0", clean.skipped == 0)
    figure("bot CPU ms per send (clean run)", clean.bot_cpu_ms_per_send, None, None)
    for key in ("sigkill", "sigterm"):
        run = runs.get(key)
        if run is None:
            continue
        label = f"{run.interrupt} at half way, restart ({run.workers:,} workers)"
        figure(f"{label}: messaged twice", run.duplicates, "0", run.duplicates == 0)
        outside = skipped_outside_doubt(run)
        figure(f"{label}: skipped, not in doubt", outside, "0", outside == 0)
        most = senders(run.rate)
        doubt = run.in_doubt_at_stop or 0
        figure(f"{label}: in doubt (claimed, unconfirmed)", doubt,
               f"<= {most} (1 per sender)", doubt <= most)
        figure(f"{label}: in doubt: delivered / never sent (not resent, by design)",
               f"{run.unconfirmed_delivered} / {run.unconfirmed_skipped}", None, None)
        figure(f"{label}: delivered after the process exited", run.sends_after_exit, None,
               None)
    verdicts = [f["pass"] for f in figures if f["pass"] is not None]
    return {
        "options": asdict(options),
        "rate_configured": options.rate,
        "rate_run": rate,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "seed_seconds": {str(k): v for k, v in sorted(seeding.items())},
        "total_seconds": round(seconds, 1),
        "profiled": options.profile is not None,
        "figures": figures,
        "targets_met": all(verdicts) if verdicts else None,
        "runs": {name: asdict(run) for name, run in runs.items()},
    }


def format_table(result: dict[str, Any]) -> str:
    o = result["options"]
    lines = [
        f"tapwork broadcast benchmark: {o['workers']:,} workers, {o['rate']:g}/s configured"
        + (f", run at {result['rate_run']:g}/s (the configured rate is out of reach here)"
           if result["rate_run"] != result["rate_configured"] else "")
        + f"; 1 in {o['blocked_every']} blocked (403); 429s injected at "
        + ", ".join(f"{f:.0%}" for f in FAULTS_AT),
        f"machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}; "
        f"total {result['total_seconds']:g} s; HTTP client {o['http']}",
        "seeding: " + ", ".join(
            f"{int(size):,} workers {'reused' if took is None else f'{took:.1f} s'}"
            for size, took in result["seed_seconds"].items()),
    ]
    if result["profiled"]:
        lines.append("NOTE: the clean run's bot ran under cProfile; its rate is lower")
    lines += ["", *figure_lines(result["figures"])]
    header = ("run", "workers", "rate", "steady/s", "share", "slowest s", "seconds",
              "delivered", "403", "429", "dup", "skipped", "unconfirmed", "in doubt",
              "restart s", "bot CPU %", "ms/send", "bench CPU %", "other CPU %")
    table = [header]
    for name, r in result["runs"].items():
        table.append((name, cell(r["workers"]), cell(r["rate"]), cell(r["steady_rate"]),
                      cell(r["share"]), cell(r["slowest_second"]), cell(r["seconds"]),
                      cell(r["delivered"]), cell(r["refused_403"]),
                      cell(r["throttled_429"]), cell(r["duplicates"]), cell(r["skipped"]),
                      cell(r["statuses"].get("unconfirmed", 0)),
                      cell(r["in_doubt_at_stop"]), cell(r["restart_gap_seconds"]),
                      cell(r["bot_cpu_percent"]), cell(r["bot_cpu_ms_per_send"]),
                      cell(r["bench_cpu_percent"]), cell(r["other_cpu_percent"])))
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines.append("")
    for i, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("(steady: sends answered 200 or 403 between the 5th and 95th percentile of "
                 "the run; slowest s: the fewest sends in one whole second of that window; in "
                 "doubt: claims still 'sending' when the process stopped; restart s: the stop "
                 "to the next send; ms/send: bot CPU per send; bench CPU: the stand-in and its "
                 "phones; other CPU: the rest of the machine, above ~10 % the figures are "
                 "noisy)")
    verdict = result["targets_met"]
    lines.append("")
    lines.append("all targets met" if verdict else "some targets missed" if verdict is False
                 else "no targets measured")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(
        description="A broadcast to a large simulated crowd through the Bot API stand-in: "
                    "achieved rate, duplicates, and skipped or doubled workers after the bot "
                    "is stopped half way and restarted.")
    d = Options()
    parser.add_argument("--workers", type=int,
                        help=f"recipients of the clean run (default {d.workers:,})")
    parser.add_argument("--rate", type=float,
                        help=f"broadcast.broadcast_rate, messages/s (default {d.rate:g})")
    parser.add_argument("--crash-workers", type=int,
                        help=f"recipients of the SIGKILL run (default {d.crash_workers:,}; "
                             "0 skips it)")
    parser.add_argument("--term-workers", type=int,
                        help=f"recipients of the SIGTERM run (default {d.term_workers:,}; "
                             "0 skips it)")
    parser.add_argument("--blocked-every", type=int,
                        help=f"every N-th worker blocked the bot (default {d.blocked_every})")
    parser.add_argument("--no-probe", action="store_true",
                        help="skip the probes: run at --rate whatever this machine sustains")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5,000 workers at 500/s (flags above override)")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep databases, configs and logs in DIR and reuse its seeds")
    parser.add_argument("--profile", metavar="FILE",
                        help="run the clean run's bot under cProfile, write FILE and print "
                             "the top functions to stderr")
    parser.add_argument("--http", choices=("aiohttp", "httpx"), default=d.http,
                        help=f"the bot's HTTP client, telegram.http (default {d.http})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    options = Options.quick() if args.quick else Options()
    overrides = {key: getattr(args, key) for key in
                 ("workers", "rate", "crash_workers", "term_workers", "blocked_every")
                 if getattr(args, key) is not None}
    profile = str(Path(args.profile).resolve()) if args.profile else None
    options = replace(options, keep=args.keep, profile=profile, probe=not args.no_probe,
                      http=args.http, **overrides)
    if options.workers < 2 or options.rate <= 0 or options.crash_workers < 0 \
            or options.term_workers < 0 or options.blocked_every < 0:
        parser.error("workers >= 2, rate > 0; crash-workers, term-workers and blocked-every "
                     ">= 0")
    return options, args.json


def main(argv: list[str] | None = None) -> int:
    options, as_json = parse_args(argv)
    code = run_and_print(run_benchmark(options), "bench/broadcast.py", format_table, as_json)
    if code == 0 and options.profile and Path(options.profile).exists():
        print_profile(Path(options.profile), "the clean run's bot process")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
