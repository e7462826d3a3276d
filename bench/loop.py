"""How fast the work loop is: simulated workers answering through the Bot API stand-in.

    python -m bench.loop [--workers 200] [--items 1000000] [--small-items 10000]
                         [--seconds 10] [--warmup 3] [--rounds 3] [--quick] [--no-bare]
                         [--http aiohttp|httpx] [--no-compare] [--json] [--keep DIR]
                         [--profile FILE]

What runs where, and why:

- This process holds the Bot API stand-in (``bot.sim.standin.BotApiStandIn``) and the
  simulated phones; the bot runs as a separate process, exactly as an operator starts it
  (``python -m bot run -c CONFIG``), so its CPU time and peak RSS (``/proc/<pid>``) are its
  own and not mixed with the simulation's.
- Telegram's ~30 messages/s throttle is switched off (``max_rate = 0``): the benchmark
  measures what the bot can do, not the limiter.
- Three phases, each with a fresh stand-in and a fresh bot process: a bare PTB app
  (``bench/bare_app.py``: answer the callback, edit the message, nothing else) as the
  baseline, then tapwork on a ``--small-items`` database, then tapwork on an ``--items``
  database; the three run ``--rounds`` times in turn and each phase's rounds are pooled
  (this machine's speed drifts by tens of percent within a minute, so one long window per
  phase let the drift decide the ratio; the table also shows the ratio round by round).
  Both databases are seeded straight through ``storage.items.insert_many`` before any
  bot starts.
- The HTTP client (``--http``, tapwork's ``telegram.http``; default aiohttp) is the same
  for the bare app and tapwork. Unless ``--no-compare``, each round also runs the bare app
  and tapwork on the other client (phases ``bare_httpx`` and ``tapwork_httpx`` beside
  aiohttp's), interleaved with the rest, so both clients see the same drift. The bare app
  on httpx is python-telegram-bot as it ships: issue 14's target is tapwork at 1.3 times
  its answers per second.
- Each worker joins (``/start reviews``, "I agree"), then taps the first label as fast as
  the bot serves tasks. Only answers completed inside the measured window count.
  Latency is taken inside the stand-in: from the tap's update being queued to the edit
  that shows the phone its next task, so the simulation's own scheduling delay is left out.
  Bot API calls per answer are counted from the first answer to the last (the workers
  finish the answer they began when the window closes), so no answer is cut in two.

The figures and targets (issue: "bench/loop.py"): Bot API calls per answered task <= 2;
throughput >= 0.8 of the bare app's (on the same client); issue 14: >= 1.3 times the bare
app's on httpx, PTB as it ships; bot CPU per answer at ``--items`` within 1.2x of that at
``--small-items``; bot peak RSS <= 200 MB. Latency p50/p99 are reported without target.
The machine's other CPU use is measured too: throughput on a shared 2-core box swings by
tens of percent when something else runs, and the table says so.

This is a measurement, not a test: it exits 0 whether targets are met or not, non-zero only
when something crashed, and 130 when interrupted (bot processes are stopped and temporary
files removed either way).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.common import (
    STOP_TIMEOUT,
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
    sleep_watching,
    start_process,
    stop_process,
)
from bot.clock import to_iso
from bot.config import Config, StorageConfig
from bot.domain.projects import parse_project
from bot.sim.crowd import task_id
from bot.sim.phone import JSON, Phone
from bot.sim.standin import BotApiStandIn
from bot.wiring import Services
from handlers.callbacks import Consent
from storage import items as item_store

ROOT = Path(__file__).resolve().parent.parent

#: the sample project's definition (bot/sample/reviews.toml), so tasks look like real ones.
#: ``min_seconds = 0``: simulated workers tap at machine speed, and the too-fast rule would
#: rightly suspend them all within seconds; the check itself still runs on every answer.
#: No gold items are seeded, because a worker who always taps the first label would fail
#: them and be suspended too.
PROJECT: dict[str, Any] = {
    "name": "reviews", "kind": "sentiment", "reward": "0.02", "currency": "USD",
    "overlap": 3, "lease_minutes": 10, "min_seconds": 0,
    "title": {"en": "How does this review feel?"},
    "instructions": {"en": "Read the review and tap how the writer feels: positive, "
                           "neutral or negative."},
}
REVIEWS = (
    "The coffee was wonderful and the staff were so kind.",
    "My order arrived broken and nobody answered my emails.",
    "The shop opens at nine and closes at six.",
    "Battery life is fine, but the screen scratches far too easily.",
    "Fast delivery, exactly as described, would buy again.",
)
#: rows per seeding transaction: large enough to be fast, small enough to bound memory
SEED_BATCH = 50_000
#: simulated user ids start here (any ids work; these are easy to spot in a database)
FIRST_USER = 1_000_000
#: a worker that waits this long for its next task counts as stalled and stops. Long,
#: because a slow bot with 200 workers queued is slow, not stuck
ANSWER_TIMEOUT = 300.0
#: how long the workers may take to finish the answers they began when the window closes
DRAIN_TIMEOUT = 120.0
#: how long the bot process may take to start polling, and to exit after SIGTERM
START_TIMEOUT = 60.0
#: how long all workers together may take to join (each one leases an item)
JOIN_TIMEOUT = 300.0

TARGET_CALLS = 2.0
TARGET_RATIO = 0.8
#: tapwork (on --http) against a bare PTB app as it ships (httpx): issue 14
TARGET_VS_PTB = 1.3
CLIENTS = ("aiohttp", "httpx")
TARGET_COST = 1.2
TARGET_RSS_MB = 200.0
#: other processes using more than this share of a core during a window make it noisy
NOISY_PERCENT = 15.0


@dataclass(frozen=True)
class Options:
    workers: int = 200
    items: int = 1_000_000
    #: the database the per-answer cost is compared with; 0 skips that phase
    small_items: int = 10_000
    #: measured seconds per phase in each round
    seconds: float = 10.0
    warmup: float = 3.0
    #: every phase runs once per round, the rounds one after another (bare, small, large,
    #: bare, small, large …): this machine's speed drifts by tens of percent within a
    #: minute, and interleaving lets both sides of a ratio see the same drift
    rounds: int = 3
    #: keep the databases, configs and logs here (and reuse seeded databases next time)
    keep: str | None = None
    #: write a cProfile of the bot process (the ``--items`` phase) to this file
    profile: str | None = None
    #: skip the bare app (the throughput ratio is then not measured)
    bare: bool = True
    #: the HTTP client of the bare app and tapwork (``telegram.http``)
    http: str = "aiohttp"
    #: also run the bare app and tapwork on the other client, in the same rounds
    compare: bool = True

    @property
    def other_http(self) -> str:
        return next(c for c in CLIENTS if c != self.http)

    @classmethod
    def quick(cls) -> Options:
        """A smoke run: small enough to finish in well under a minute."""
        return cls(workers=20, items=50_000, small_items=10_000, seconds=5.0, warmup=2.0,
                   rounds=1)


@dataclass
class PhaseResult:
    """What one bot process did during the measured window."""

    name: str
    items: int | None
    workers: int
    window_seconds: float
    answers: int
    answers_per_second: float
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    #: Bot API calls (getUpdates aside) from the first answer to the last, and per answer
    api_calls: int
    api_calls_per_answer: float | None
    #: every answer in the phase, warm-up included (what ``api_calls`` is divided by)
    answers_total: int
    bot_cpu_seconds: float
    bot_cpu_ms_per_answer: float | None
    bot_cpu_percent: float
    bot_peak_rss_mb: float
    bench_cpu_percent: float
    #: everything else the machine ran meanwhile (other processes, steal): noise
    other_cpu_percent: float
    join_seconds: float
    start_seconds: float
    calls_by_method: dict[str, int] = field(default_factory=dict)
    #: workers whose project ran out of items, and workers that waited ANSWER_TIMEOUT
    ran_out: int = 0
    stalled: int = 0
    #: the chat of the first worker that stopped early
    stopped_example: str = ""
    #: every latency in the window, seconds (pooled across rounds; not printed)
    latencies: list[float] = field(default_factory=list, repr=False)


def pooled(rounds: list[PhaseResult]) -> PhaseResult:
    """One phase's rounds as if they were one long window: sums, then ratios of sums."""
    first = rounds[0]
    if len(rounds) == 1:
        return first
    window = sum(r.window_seconds for r in rounds)
    answers = sum(r.answers for r in rounds)
    answers_total = sum(r.answers_total for r in rounds)
    api_calls = sum(r.api_calls for r in rounds)
    cpu = sum(r.bot_cpu_seconds for r in rounds)
    latencies = [x for r in rounds for x in r.latencies]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    by_method: dict[str, int] = {}
    for r in rounds:
        for method, n in r.calls_by_method.items():
            by_method[method] = by_method.get(method, 0) + n

    def weighted(values: list[float]) -> float:
        return round(sum(v * r.window_seconds for v, r in zip(values, rounds, strict=True))
                     / window, 1)

    return PhaseResult(
        name=first.name, items=first.items, workers=first.workers,
        window_seconds=round(window, 3), answers=answers,
        answers_per_second=round(answers / window, 1),
        latency_p50_ms=None if p50 is None else round(p50 * 1000, 2),
        latency_p99_ms=None if p99 is None else round(p99 * 1000, 2),
        api_calls=api_calls,
        api_calls_per_answer=round(api_calls / answers_total, 3) if answers_total else None,
        answers_total=answers_total, bot_cpu_seconds=round(cpu, 2),
        bot_cpu_ms_per_answer=round(cpu * 1000 / answers, 3) if answers else None,
        bot_cpu_percent=round(cpu / window * 100, 1),
        bot_peak_rss_mb=max(r.bot_peak_rss_mb for r in rounds),
        bench_cpu_percent=weighted([r.bench_cpu_percent for r in rounds]),
        other_cpu_percent=weighted([r.other_cpu_percent for r in rounds]),
        join_seconds=round(sum(r.join_seconds for r in rounds) / len(rounds), 2),
        start_seconds=round(sum(r.start_seconds for r in rounds) / len(rounds), 2),
        calls_by_method=by_method, ran_out=sum(r.ran_out for r in rounds),
        stalled=sum(r.stalled for r in rounds),
        stopped_example=next((r.stopped_example for r in rounds if r.stopped_example), ""),
        latencies=latencies)


# -------------------------------------------------------------------------- stand-in


class TimedStandIn(BotApiStandIn):
    """The stand-in, noting when each chat was last shown a message by the bot.

    The time a phone *notices* its next task includes this process's event-loop backlog;
    the time the stand-in applied the edit is what the bot achieved.
    """

    def __init__(self, token: str) -> None:
        # history_limit: a worker looks at its newest task, and a few notices may follow it
        super().__init__(token, history_limit=8)
        self.record_calls = False  # the call log would grow by thousands per second
        self.shown_at: dict[int, float] = {}

    def _stamp(self, params: JSON) -> None:
        """Only a task counts as "next task received", not a notice sent meanwhile."""
        chat_id = params.get("chat_id")
        markup = params.get("reply_markup")
        if isinstance(chat_id, int) and isinstance(markup, dict) \
                and task_id({"reply_markup": markup}) is not None:
            self.shown_at[chat_id] = time.perf_counter()

    async def _api_editMessageText(self, params: JSON, files: dict[str, Any]) -> Any:
        result = await super()._api_editMessageText(params, files)
        self._stamp(params)
        return result

    async def _api_sendMessage(self, params: JSON, files: dict[str, Any]) -> Any:
        result = await super()._api_sendMessage(params, files)
        self._stamp(params)
        return result

    def counts(self) -> dict[str, int]:
        """Calls per method so far, failed ones included."""
        return dict(self._counts)


# -------------------------------------------------------------------------- database


def review(i: int) -> str:
    return f"#{i}: {REVIEWS[i % len(REVIEWS)]}"


async def seed(path: Path, items: int) -> float:
    """A database with the reviews project and ``items`` items; returns the seconds taken.

    Straight through ``insert_many`` in large transactions: the importer's per-line checks
    would make a million items take minutes, and they are not what is measured here.
    """
    started = time.perf_counter()
    services = await Services.open(Config(storage=StorageConfig(path=str(path))))
    try:
        project, _created = await services.catalog.save(parse_project(PROJECT))
        now = to_iso(services.clock.now())
        for first in range(0, items, SEED_BATCH):
            batch = [item_store.NewItem(f"r{i:07d}", review(i), None, None, False, None, None)
                     for i in range(first, min(items, first + SEED_BATCH))]
            async with services.db.transaction() as conn:
                await item_store.insert_many(conn, project.id, batch, now)
        # the project's "opened" event would invite the simulated workers as they join;
        # handle it now, while nobody is there to tell
        await services.broadcasts.notify_events()
    finally:
        await services.close()
    return time.perf_counter() - started


def seeded_count(path: Path) -> int:
    """Items in a kept seed database; 0 when it is missing or unreadable."""
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])
    except sqlite3.Error:
        return 0




async def prepare_seed(work_dir: Path, items: int, reuse: bool) -> tuple[Path, float | None]:
    """A pristine database with ``items`` items: seeded now, or a kept one reused.

    Returns the path and the seeding time (None when a kept seed was reused). Every phase
    run gets a fresh copy (``fresh_copy``), so each round starts where the first did.
    """
    pristine = work_dir / f"seed-{items}.db"
    if reuse and seeded_count(pristine) == items:
        return pristine, None
    remove_database(pristine)
    return pristine, await seed(pristine, items)


def fresh_copy(pristine: Path, work_dir: Path, name: str) -> Path:
    run_db = work_dir / f"{name}.db"
    remove_database(run_db)
    shutil.copyfile(pristine, run_db)
    return run_db


# -------------------------------------------------------------------------- processes




def write_config(path: Path, server: BotApiStandIn, db: Path, http: str) -> None:
    path.write_text(
        "# written by bench/loop.py\n"
        "[telegram]\n"
        f"token = {json.dumps(server.token)}\n"
        f"api_base_url = {json.dumps(server.api_base_url)}\n"
        f"file_base_url = {json.dumps(server.file_base_url)}\n"
        "max_rate = 0  # Telegram's 30/s throttle off: measure the bot, not the limiter\n"
        "max_retries = 3\n"
        f"http = {json.dumps(http)}\n"
        "[storage]\n"
        f"path = {json.dumps(str(db))}\n",
        encoding="utf-8")


def bot_command(kind: str, server: BotApiStandIn, config: Path, profile: Path | None,
                http: str) -> list[str]:
    """``python -m bot run -c CONFIG`` as an operator runs it, or the bare app."""
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    if kind == "bare":
        return [*command, "-m", "bench.bare_app", "--token", server.token,
                "--api-base-url", server.api_base_url, "--file-base-url", server.file_base_url,
                "--http", http]
    return [*command, "-m", "bot", "run", "-c", str(config)]


















# -------------------------------------------------------------------------- workers


@dataclass
class Window:
    """The measured window and what fell into it."""

    start: float = math.inf
    end: float = math.inf
    stopping: bool = False
    latencies: list[float] = field(default_factory=list)
    #: every answer since the workers started, warm-up and the last one after the window
    total: int = 0
    ran_out: int = 0
    stalled: int = 0
    #: what the first worker that stopped early saw, to tell why
    example: str = ""

    def record(self, tapped: float, shown: float) -> None:
        self.total += 1
        if self.start <= shown <= self.end:
            self.latencies.append(shown - tapped)


def newest_task(phone: Phone) -> JSON | None:
    """The newest message in the chat that is an open task.

    Not simply the last message: a broadcast or a pay notice may arrive after the task,
    and a person would scroll up to it rather than give up.
    """
    for message in reversed(phone.messages):
        if task_id(message) is not None:
            return message
    return None


def consent_button(phone: Phone) -> tuple[JSON, str] | None:
    """The consent notice and the callback data of its plain "I agree" button."""
    for message in reversed(phone.messages):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data", "")
                consent = Consent.parse(data)
                if consent is not None and not consent.big:  # the plain "I agree"
                    return message, data
    return None


async def enter(phone: Phone, kind: str) -> None:
    """Get the phone its first task: tapwork's deep link and consent, or the bare /start.

    Like ``bot.sim.crowd.join``, but it looks for the consent button and then for a task
    instead of taking whatever message comes next, so a notice that lands in between
    (a new-project broadcast, say) does not stop the worker before it starts.
    """
    if kind == "bare":
        await phone.send("/start")
        await phone.wait_for(newest_task, JOIN_TIMEOUT)
        return
    await phone.send(f"/start {PROJECT['name']}")
    try:
        await phone.wait_for(lambda p: newest_task(p) or consent_button(p), JOIN_TIMEOUT)
        consent = consent_button(phone)
        if newest_task(phone) is None and consent is not None:
            await phone.tap_data(*consent)
        await phone.wait_for(newest_task, JOIN_TIMEOUT)
    except AssertionError as exc:
        raise RuntimeError(f"worker {phone.id} got no task on joining:\n"
                           f"{phone.transcript()}") from exc


async def answer_until_stopped(phone: Phone, server: TimedStandIn, window: Window) -> None:
    """Tap the first label of each task the moment it shows, until told to stop."""
    while not window.stopping:
        message = newest_task(phone)
        if message is None:
            window.ran_out += 1
            window.example = window.example or phone.transcript(3)
            return
        current = task_id(message)
        label = phone.buttons(message)[0][0]
        tapped = time.perf_counter()
        await phone.tap(label, message)
        try:
            await phone.wait_for(lambda p, c=current: task_id(newest_task(p)) != c,
                                 ANSWER_TIMEOUT)
        except AssertionError:
            window.stalled += 1
            window.example = window.example or phone.transcript(3)
            return
        window.record(tapped, server.shown_at.get(phone.id, time.perf_counter()))


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: a value that actually occurred."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -------------------------------------------------------------------------- phases




async def run_phase(name: str, kind: str, db: Path | None, items: int | None, options: Options,
                    work_dir: Path, profile: Path | None = None, http: str = "aiohttp"
                    ) -> PhaseResult:
    """One fresh stand-in, one fresh bot process, the workers, one measured window."""
    server = TimedStandIn(f"{secrets.randbelow(10**9) + 10**9}:BENCH-{name}")
    await server.start()
    log_path = work_dir / f"{name}.log"
    process: subprocess.Popen[bytes] | None = None
    tasks: list[asyncio.Task[None]] = []
    window = Window()
    try:
        config = work_dir / f"{name}.toml"
        if db is not None:
            write_config(config, server, db, http)
        command = bot_command(kind, server, config, profile, http)
        started = time.perf_counter()
        process = start_process(command, log_path, server.token)
        deadline = started + START_TIMEOUT
        # polling starts right after deleteWebhook (a long poll is only counted when it
        # returns, up to 10 s later)
        while server.count("deleteWebhook") == 0:
            check_alive(process, log_path)
            if time.perf_counter() > deadline:
                raise BotCrashed(f"{name}: the bot did not start polling in {START_TIMEOUT} s")
            await asyncio.sleep(0.05)
        start_seconds = time.perf_counter() - started

        phones = [server.phone(FIRST_USER + i, f"W{i}") for i in range(options.workers)]
        joined = time.perf_counter()
        entering = asyncio.gather(*(enter(phone, kind) for phone in phones))
        try:
            await entering
        except BaseException:
            entering.cancel()
            check_alive(process, log_path)
            raise
        join_seconds = time.perf_counter() - joined

        # Quiet from here to the end of answering: every phone has its first task and no
        # call is in flight. Calls per answer are counted over that span, so no answer is
        # cut in two by the edge of the measured window.
        calls_before = server.counts()
        tasks = [asyncio.create_task(answer_until_stopped(phone, server, window))
                 for phone in phones]
        await sleep_watching(options.warmup, process, log_path)
        cpu_before, bench_before = cpu_seconds(process.pid), time.process_time()
        busy_before = machine_busy_seconds()
        window.start = time.perf_counter()
        await sleep_watching(options.seconds, process, log_path)
        window.end = time.perf_counter()
        cpu_after, bench_after = cpu_seconds(process.pid), time.process_time()
        busy_after = machine_busy_seconds()
        window.stopping = True
        await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT)  # each finishes the answer it began
        calls_after = server.counts()
        rss = peak_rss_mb(process.pid)
    finally:
        # The flag as well as cancel(): on Python 3.11 a wait_for() that finishes as it is
        # cancelled swallows the cancellation, and that worker would carry on answering.
        window.stopping = True
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        if process is not None:
            await stop_process(process)
        await server.stop()

    elapsed = window.end - window.start
    answers = len(window.latencies)
    by_method = {method: calls_after.get(method, 0) - calls_before.get(method, 0)
                 for method in sorted(calls_after)
                 if calls_after.get(method, 0) != calls_before.get(method, 0)}
    api_calls = sum(n for method, n in by_method.items() if method != "getUpdates")
    cpu = cpu_after - cpu_before
    p50, p99 = percentile(window.latencies, 50), percentile(window.latencies, 99)
    return PhaseResult(
        name=name, items=items, workers=options.workers, window_seconds=round(elapsed, 3),
        answers=answers, answers_per_second=round(answers / elapsed, 1),
        latency_p50_ms=None if p50 is None else round(p50 * 1000, 2),
        latency_p99_ms=None if p99 is None else round(p99 * 1000, 2),
        api_calls=api_calls, answers_total=window.total,
        api_calls_per_answer=round(api_calls / window.total, 3) if window.total else None,
        bot_cpu_seconds=round(cpu, 2),
        bot_cpu_ms_per_answer=round(cpu * 1000 / answers, 3) if answers else None,
        bot_cpu_percent=round(cpu / elapsed * 100, 1),
        bot_peak_rss_mb=round(rss, 1),
        bench_cpu_percent=round((bench_after - bench_before) / elapsed * 100, 1),
        other_cpu_percent=round(max(0.0, (busy_after - busy_before) - cpu
                                    - (bench_after - bench_before)) / elapsed * 100, 1),
        join_seconds=round(join_seconds, 2), start_seconds=round(start_seconds, 2),
        calls_by_method=by_method, ran_out=window.ran_out, stalled=window.stalled,
        stopped_example=window.example, latencies=window.latencies)


def describe(phase: PhaseResult) -> str:
    return (f"  {phase.name}: {phase.answers} answers in {phase.window_seconds:.1f} s = "
            f"{phase.answers_per_second:.1f}/s, p50 {phase.latency_p50_ms} ms, "
            f"p99 {phase.latency_p99_ms} ms, {phase.api_calls_per_answer} calls/answer, "
            f"bot CPU {phase.bot_cpu_percent:.0f}% ({phase.bot_cpu_ms_per_answer} ms/answer), "
            f"peak RSS {phase.bot_peak_rss_mb:.0f} MB, this process {phase.bench_cpu_percent:.0f}%"
            f" CPU, other load {phase.other_cpu_percent:.0f}%")


# -------------------------------------------------------------------------- the run


def profile_path(base: str | None, phase: str) -> Path | None:
    """``--profile FILE``: FILE for the tapwork phase, FILE.bare for the bare app."""
    if base is None or phase not in ("bare", "tapwork"):
        return None
    return Path(base) if phase == "tapwork" else Path(f"{base}.{phase}")


async def run_benchmark(options: Options) -> dict[str, Any]:
    """Seed, run every phase, and return every figure (see ``format_table``)."""
    work_dir = make_work_dir(options.keep, "tapwork-bench-")
    try:
        return await _run_in(work_dir, options)
    finally:
        if not options.keep:
            shutil.rmtree(work_dir, ignore_errors=True)


async def _run_in(work_dir: Path, options: Options) -> dict[str, Any]:
    # name, kind, items, HTTP client
    plan: list[tuple[str, str, int | None, str]] = []
    other = options.other_http
    if options.bare:
        plan.append(("bare", "bare", None, options.http))
        if options.compare:
            plan.append((f"bare_{other}", "bare", None, other))
    if options.small_items:
        plan.append(("tapwork_small", "tapwork", options.small_items, options.http))
    plan.append(("tapwork", "tapwork", options.items, options.http))
    if options.compare:
        plan.append((f"tapwork_{other}", "tapwork", options.items, other))

    seeding: dict[str, float | None] = {}
    seeds: dict[str, Path] = {}
    for name, _kind, size, _http in plan:  # every database is ready before any bot starts
        if size is None or str(size) in seeding:
            continue
        say(f"seeding {size:,} items for {name} ...")
        seeds[str(size)], took = await prepare_seed(work_dir, size, options.keep is not None)
        seeding[str(size)] = None if took is None else round(took, 2)
        say(f"  {'reused the kept seed' if took is None else f'{took:.1f} s'}")

    rounds: dict[str, list[PhaseResult]] = {name: [] for name, _kind, _size, _http in plan}
    for number in range(1, options.rounds + 1):
        for name, kind, size, http in plan:
            say(f"round {number}/{options.rounds}, phase {name} ({http}): {options.workers} "
                f"workers, {options.warmup:g} s warm-up, {options.seconds:g} s measured ...")
            # a profile is of the first round's bot only
            profile = profile_path(options.profile, name) if number == 1 else None
            db = fresh_copy(seeds[str(size)], work_dir, name) if size is not None else None
            phase = await run_phase(name, kind, db, size, options, work_dir, profile, http)
            rounds[name].append(phase)
            report(phase)
    return summarize(options, seeding, rounds)


def report(phase: PhaseResult) -> None:
    say(describe(phase))
    if phase.ran_out:
        say(f"  warning: {phase.ran_out} workers were shown something other than a task "
            "and stopped (out of items, suspended, or a message after the task)")
    if phase.stalled:
        say(f"  warning: {phase.stalled} workers waited {ANSWER_TIMEOUT:g} s for a task "
            "and stopped")
    if phase.stopped_example:
        say("  the first one's chat:\n    " + phase.stopped_example.replace("\n", "\n    "))


def summarize(options: Options, seeding: dict[str, float | None],
              rounds: dict[str, list[PhaseResult]]) -> dict[str, Any]:
    phases = {name: pooled(results) for name, results in rounds.items()}
    main = phases["tapwork"]
    bare = phases.get("bare")
    small = phases.get("tapwork_small")
    ratio = (round(main.answers_per_second / bare.answers_per_second, 3)
             if bare and bare.answers_per_second else None)
    # each round's ratio, bare and tapwork run back to back: how much the figure moves
    round_ratios = [round(t.answers_per_second / b.answers_per_second, 3)
                    for b, t in zip(rounds.get("bare", []), rounds["tapwork"], strict=False)
                    if b.answers_per_second]
    cost = (round(main.bot_cpu_ms_per_answer / small.bot_cpu_ms_per_answer, 3)
            if small and small.bot_cpu_ms_per_answer and main.bot_cpu_ms_per_answer
            else None)
    peak = max(p.bot_peak_rss_mb for n, p in phases.items() if not n.startswith("bare"))
    # The same comparison from CPU time per answer: on a quiet machine, with both bots
    # CPU-bound, it equals the throughput ratio; it suffers less when other work competes.
    cpu_ratio = (round(bare.bot_cpu_ms_per_answer / main.bot_cpu_ms_per_answer, 3)
                 if bare and bare.bot_cpu_ms_per_answer and main.bot_cpu_ms_per_answer
                 else None)
    noisy = {name: p.other_cpu_percent for name, p in phases.items()
             if p.other_cpu_percent > NOISY_PERCENT}
    # issue 14: tapwork against a bare PTB app as it ships (httpx), in the same rounds
    ptb_name = "bare" if options.http == "httpx" else "bare_httpx"
    ptb = phases.get(ptb_name)
    vs_ptb = (round(main.answers_per_second / ptb.answers_per_second, 3)
              if ptb and ptb.answers_per_second else None)
    vs_ptb_rounds = [round(t.answers_per_second / b.answers_per_second, 3)
                     for b, t in zip(rounds.get(ptb_name, []), rounds["tapwork"], strict=False)
                     if b.answers_per_second]
    other = phases.get(f"tapwork_{options.other_http}")
    client_cpu = (round(other.bot_cpu_ms_per_answer / main.bot_cpu_ms_per_answer, 3)
                  if other and other.bot_cpu_ms_per_answer and main.bot_cpu_ms_per_answer
                  else None)

    def check(value: float | None, ok: Callable[[float], bool]) -> bool | None:
        return None if value is None else ok(value)

    n, s = f"{options.items:,}", f"{options.small_items:,}"
    figures = [
        {"figure": f"answers per second ({n} items)", "value": main.answers_per_second,
         "target": None, "pass": None},
        {"figure": "bare PTB app answers per second", "value":
         bare.answers_per_second if bare else None, "target": None, "pass": None},
        {"figure": "throughput vs bare app", "value": ratio, "target": f">= {TARGET_RATIO}",
         "pass": check(ratio, lambda v: v >= TARGET_RATIO)},
        {"figure": "  the same, round by round", "value":
         " ".join(cell(r) for r in round_ratios) if len(round_ratios) > 1 else None,
         "target": None, "pass": None},
        {"figure": "bare app CPU per answer / tapwork's", "value": cpu_ratio, "target": None,
         "pass": None},
        {"figure": f"tapwork ({options.http}) vs bare PTB app on httpx", "value": vs_ptb,
         "target": f">= {TARGET_VS_PTB}" if ptb and options.http != "httpx" else None,
         "pass": check(vs_ptb, lambda v: v >= TARGET_VS_PTB)
         if ptb and options.http != "httpx" else None},
        {"figure": "  the same, round by round (vs httpx)", "value":
         " ".join(cell(r) for r in vs_ptb_rounds)
         if len(vs_ptb_rounds) > 1 and options.http != "httpx" else None,
         "target": None, "pass": None},
        {"figure": f"tapwork CPU per answer, {options.other_http} / {options.http}",
         "value": client_cpu, "target": None, "pass": None},
        {"figure": "latency p50 (ms)", "value": main.latency_p50_ms, "target": None,
         "pass": None},
        {"figure": "latency p99 (ms)", "value": main.latency_p99_ms, "target": None,
         "pass": None},
        {"figure": "Bot API calls per answer", "value": main.api_calls_per_answer,
         "target": f"<= {TARGET_CALLS:g}",
         "pass": check(main.api_calls_per_answer, lambda v: v <= TARGET_CALLS)},
        {"figure": f"bot CPU ms per answer ({s} items)", "value":
         small.bot_cpu_ms_per_answer if small else None, "target": None, "pass": None},
        {"figure": f"bot CPU ms per answer ({n} items)", "value": main.bot_cpu_ms_per_answer,
         "target": None, "pass": None},
        {"figure": f"answers per second ({s} items)", "value":
         small.answers_per_second if small else None, "target": None, "pass": None},
        {"figure": f"cost per answer {n} / {s} items", "value": cost,
         "target": f"<= {TARGET_COST}", "pass": check(cost, lambda v: v <= TARGET_COST)},
        {"figure": "bot peak RSS (MB)", "value": peak, "target": f"<= {TARGET_RSS_MB:g}",
         "pass": check(peak, lambda v: v <= TARGET_RSS_MB)},
    ]
    if small is None:
        # by the figures' wording: "(10,000 items)", "… / 10,000 items"
        figures = [f for f in figures
                   if f"({s} items)" not in f["figure"] and f"/ {s} items" not in f["figure"]]
    if bare is None:
        figures = [f for f in figures if "bare" not in f["figure"]]
    figures = [f for f in figures if f["value"] is not None or f["target"] is not None]
    verdicts = [f["pass"] for f in figures if f["pass"] is not None]
    return {
        "options": asdict(options),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "telegram_throttle": "off (max_rate = 0)",
        "profiled": options.profile is not None,
        "seed_seconds": seeding,
        "answers": main.answers,
        "answers_per_second": main.answers_per_second,
        "bare_answers_per_second": bare.answers_per_second if bare else None,
        "throughput_ratio": ratio,
        "http": options.http,
        "vs_bare_httpx": vs_ptb,
        "vs_bare_httpx_rounds": vs_ptb_rounds,
        "client_cpu_ratio": client_cpu,
        "round_ratios": round_ratios,
        "latency_p50_ms": main.latency_p50_ms,
        "latency_p99_ms": main.latency_p99_ms,
        "api_calls_per_answer": main.api_calls_per_answer,
        "cpu_ms_per_answer_small": small.bot_cpu_ms_per_answer if small else None,
        "cpu_ms_per_answer": main.bot_cpu_ms_per_answer,
        "cost_ratio": cost,
        "peak_rss_mb": peak,
        "figures": figures,
        "targets_met": all(verdicts) if verdicts else None,
        "cpu_ratio": cpu_ratio,
        #: phases during which other work used more than NOISY_PERCENT of a core
        "noisy_phases": noisy,
        "phases": {name: _public(phase) for name, phase in phases.items()},
    }


def _public(phase: PhaseResult) -> dict[str, Any]:
    figures = asdict(phase)
    del figures["latencies"]
    return figures






def format_table(result: dict[str, Any]) -> str:
    """The figures with their targets, then one line per phase for context."""
    o = result["options"]
    lines = [
        f"tapwork work-loop benchmark: {o['workers']} workers, {o['rounds']} round(s) of every "
        f"phase, each {o['seconds']:g} s measured after {o['warmup']:g} s warm-up; "
        "Telegram's 30/s throttle OFF (max_rate = 0)",
        f"machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}",
        f"HTTP client: {o['http']} (bare app and tapwork alike)"
        + (f"; phases named _{'httpx' if o['http'] != 'httpx' else 'aiohttp'} ran on the "
           "other one, interleaved in the same rounds" if o["compare"] else ""),
        "seeding: " + ", ".join(
            f"{int(size):,} items {'reused' if took is None else f'{took:.1f} s'}"
            for size, took in result["seed_seconds"].items()),
    ]
    if result["profiled"]:
        lines.append("NOTE: the bot ran under cProfile; its figures are slower than normal")
    lines += ["", *figure_lines(result["figures"])]
    header = ("phase", "items", "answers", "per s", "p50 ms", "p99 ms", "calls/ans",
              "bot CPU %", "CPU ms/ans", "peak RSS MB", "bench CPU %", "other CPU %",
              "join s")
    table = [header]
    for name, p in result["phases"].items():
        table.append((name, cell(p["items"]), str(p["answers"]),
                      cell(p["answers_per_second"]), cell(p["latency_p50_ms"]),
                      cell(p["latency_p99_ms"]), cell(p["api_calls_per_answer"]),
                      cell(p["bot_cpu_percent"]), cell(p["bot_cpu_ms_per_answer"]),
                      cell(p["bot_peak_rss_mb"]), cell(p["bench_cpu_percent"]),
                      cell(p["other_cpu_percent"]), cell(p["join_seconds"])))
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines.append("")
    for i, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    main = result["phases"]["tapwork"]
    if main["answers_per_second"]:
        lines.append(
            f"(latency: a closed loop, every worker always waiting for the bot; when the bot is "
            f"saturated p50 is mostly queueing, about workers / answers per second = "
            f"{main['workers'] / main['answers_per_second'] * 1000:,.0f} ms here. Run fewer "
            f"--workers for the latency of an unloaded bot.)")
    lines.append("(bench CPU %: this process, the stand-in and the phones; near 100 % means "
                 "the simulation, not the bot, set the pace. other CPU %: the rest of the "
                 f"machine; above {NOISY_PERCENT:g} % the figures are noisy)")
    verdict = result["targets_met"]
    lines.append("")
    lines.append("all targets met" if verdict else "some targets missed" if verdict is False
                 else "no targets measured")
    if result["noisy_phases"]:
        busy = ", ".join(f"{name} {share:.0f} %" for name, share in
                         result["noisy_phases"].items())
        lines.append(f"WARNING: other work competed for the CPUs ({busy} of a core); the "
                     "throughput figures and their ratio are unreliable. Rerun on a quiet "
                     "machine.")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(
        description="Simulated workers answering through the Bot API stand-in: throughput, "
                    "latency, Bot API calls per answer and peak RSS, against a bare PTB app.")
    d = Options()
    parser.add_argument("--workers", type=int, help=f"simulated workers (default {d.workers})")
    parser.add_argument("--items", type=int, help=f"items in the database (default {d.items:,})")
    parser.add_argument("--small-items", type=int,
                        help=f"items in the comparison database (default {d.small_items:,}; "
                             "0 skips it)")
    parser.add_argument("--seconds", type=float, help=f"measured seconds (default {d.seconds:g})")
    parser.add_argument("--warmup", type=float, help=f"warm-up seconds (default {d.warmup:g})")
    parser.add_argument("--rounds", type=int,
                        help=f"times every phase runs, interleaved (default {d.rounds})")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20 workers, 50,000 items, 5 s (flags above override)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare PTB app")
    parser.add_argument("--http", choices=CLIENTS, default=d.http,
                        help=f"HTTP client of the bare app and tapwork (default {d.http})")
    parser.add_argument("--no-compare", action="store_true",
                        help="skip the bare app and tapwork on the other HTTP client")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep databases, configs and logs in DIR and reuse its seeds")
    parser.add_argument("--profile", metavar="FILE",
                        help="run the bot of the --items phase under cProfile and write FILE "
                         "(the bare app: FILE.bare); print the top functions to stderr")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    options = Options.quick() if args.quick else Options()
    overrides = {key: getattr(args, key) for key in
                 ("workers", "items", "small_items", "seconds", "warmup", "rounds")
                 if getattr(args, key) is not None}
    profile = str(Path(args.profile).resolve()) if args.profile else None
    options = replace(options, keep=args.keep, profile=profile, bare=not args.no_bare,
                      http=args.http, compare=not args.no_compare,
                      **overrides)
    if options.workers < 1 or options.items < 1 or options.small_items < 0 \
            or options.seconds <= 0 or options.warmup < 0 or options.rounds < 1:
        parser.error("workers, items and rounds must be positive, seconds > 0, warm-up >= 0")
    return options, args.json


async def run_interruptible(options: Options) -> dict[str, Any]:
    """``run_benchmark``, cancelled cleanly by Ctrl+C or SIGTERM.

    Only this task is cancelled, and the event loop keeps running while it unwinds: the
    stand-in must go on answering so that each bot process can shut down politely before
    the temporary files are removed. (A plain KeyboardInterrupt would stop the stand-in
    first, and every bot would hang until killed.)
    """
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await run_benchmark(options)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def main(argv: list[str] | None = None) -> int:
    options, as_json = parse_args(argv)
    code = run_and_print(run_interruptible(options), "bench/loop.py", format_table, as_json)
    if code == 0 and options.profile:
        for phase in ("bare", "tapwork"):
            path = profile_path(options.profile, phase)
            if path is not None and path.exists():
                print_profile(path, f"the {phase} bot process")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
