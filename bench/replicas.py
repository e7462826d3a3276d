"""What several replicas on PostgreSQL cost and give, against one polling process on SQLite.

    python -m bench.replicas [--workers 30] [--items 5000] [--seconds 8] [--warmup 2]
                             [--rounds 2] [--replicas 1,2,3] [--quick] [--json]

Four phases, each with a fresh stand-in, fresh bot processes and a fresh database, run
``--rounds`` times in turn (sqlite, pg1, pg2, pg3, sqlite, …) and pooled, as in
``bench/loop.py`` (this machine's speed drifts within a minute; interleaving lets every
phase see the same drift):

- ``sqlite``: one ``tapwork run`` with long polling on a SQLite file (the default).
- ``pg1``/``pg2``/``pg3``: 1, 2 or 3 ``tapwork run`` replicas in webhook mode on one
  PostgreSQL database; the stand-in posts updates round-robin over them.

The simulated workers are ``bench/loop.py``'s (join, then tap the first label the moment
each task shows; Telegram's throttle off: ``max_rate = 0``). Per answer in the window:

- bot CPU: utime + stime of every bot process (``/proc/<pid>/stat``), summed;
- PostgreSQL CPU: the same for every process named ``postgres`` (the server runs on this
  machine), so it includes whatever else the server did meanwhile;
- database time: PostgreSQL's own ``pg_stat_database.active_time`` of the phase's database
  (milliseconds its backends spent executing statements; pg_stat_statements is not loaded
  on this server, so no per-statement figures); for SQLite there is no server, and
- answer transaction time: ``tapwork_answer_seconds`` from every process's ``/metrics``
  (an answer's write transaction, waiting for the write lock included), on both backends.

On a 2-core machine the replicas, PostgreSQL and the simulation share the cores, so more
replicas cannot show more throughput here; the table gives the work per answer and from
it the projected capacity per core: answers a second one core gives when it runs only bot
processes (1000 / bot CPU ms per answer), and likewise for the database server.

A measurement, not a test: exit 0 whatever the figures, non-zero when something crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import psycopg

from bench.common import (
    BotCrashed,
    cell,
    check_alive,
    cpu_seconds,
    make_work_dir,
    run_and_print,
    say,
    sleep_watching,
    start_process,
    stop_process,
)
from bench.loop import (
    FIRST_USER,
    PROJECT,
    TimedStandIn,
    Window,
    answer_until_stopped,
    enter,
    fresh_copy,
    review,
)
from bot.clock import to_iso
from bot.config import Config, StorageConfig
from bot.domain.projects import parse_project
from bot.wiring import Services
from storage import items as item_store

ADMIN_ENV = "TAPWORK_BENCH_POSTGRES"
DEFAULT_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret"
START_TIMEOUT = 60.0
DRAIN_TIMEOUT = 60.0


@dataclass(frozen=True)
class Options:
    workers: int = 30
    items: int = 5_000
    seconds: float = 8.0
    warmup: float = 2.0
    rounds: int = 2
    replicas: tuple[int, ...] = (1, 2, 3)

    @classmethod
    def quick(cls) -> Options:
        return cls(workers=6, items=300, seconds=2.0, warmup=1.0, rounds=1)


@dataclass
class Phase:
    name: str
    backend: str
    processes: int
    window_seconds: float
    answers: int
    bot_cpu_seconds: float
    pg_cpu_seconds: float | None
    db_active_ms: float | None
    answer_tx_seconds: float
    answer_tx_count: int
    other_cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.answers / self.window_seconds if self.window_seconds else 0.0


def _per(total: float | None, answers: int, scale: float = 1000.0) -> float | None:
    return None if total is None or not answers else round(total * scale / answers, 3)


# -------------------------------------------------------------------------- databases


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def seed(storage: StorageConfig, items: int) -> None:
    """The loop benchmark's project with ``items`` items, straight through storage."""
    services = await Services.open(Config(storage=storage))
    try:
        project, _ = await services.catalog.save(parse_project(PROJECT))
        now = to_iso(services.clock.now())
        batch = [item_store.NewItem(f"r{i:07d}", review(i), None, None, False, None, None)
                 for i in range(items)]
        async with services.db.transaction() as conn:
            await item_store.insert_many(conn, project.id, batch, now)
        await services.broadcasts.notify_events()
    finally:
        await services.close()


class Postgres:
    """A seeded template database and a fresh copy of it per phase."""

    def __init__(self, admin: str) -> None:
        self.admin_url = admin
        self.prefix = f"tapwork_bench_{os.getpid()}_{secrets.token_hex(3)}"
        self.template = f"{self.prefix}_tpl"
        self.admin = psycopg.connect(admin, autocommit=True, connect_timeout=5)
        self.count = 0

    async def start(self, items: int) -> None:
        self.admin.execute(f"CREATE DATABASE {self.template} TEMPLATE template0"
                           " ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
        await seed(StorageConfig(url=with_database(self.admin_url, self.template)), items)

    def create(self) -> str:
        self.count += 1
        name = f"{self.prefix}_{self.count}"
        self.admin.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return with_database(self.admin_url, name)

    def active_ms(self, url: str) -> float:
        """Milliseconds the database's backends spent executing statements."""
        self.admin.execute("SELECT pg_stat_clear_snapshot()")
        row = self.admin.execute("SELECT active_time FROM pg_stat_database WHERE datname = %s",
                                 (urlsplit(url).path.strip("/"),)).fetchone()
        return float(row[0] or 0.0) if row else 0.0

    def drop(self, url: str) -> None:
        self.admin.execute(f"DROP DATABASE IF EXISTS {urlsplit(url).path.strip('/')}"
                           " WITH (FORCE)")

    def close(self) -> None:
        for (name,) in self.admin.execute("SELECT datname FROM pg_database WHERE datname"
                                          " LIKE %s", (f"{self.prefix}%",)).fetchall():
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.admin.close()


def postgres_cpu_seconds() -> float:
    """CPU time of every process named ``postgres`` on this machine."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
        except (OSError, ValueError):
            continue
    return total


def machine_cpu_seconds() -> float:
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


# -------------------------------------------------------------------------- processes


def free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(path: Path, server: TimedStandIn, storage: str, port: int,
                 public: str | None) -> None:
    lines = ["[telegram]", f"token = {json.dumps(server.token)}",
             f"api_base_url = {json.dumps(server.api_base_url)}",
             f"file_base_url = {json.dumps(server.file_base_url)}",
             "max_rate = 0", "max_retries = 3", "[storage]",
             f"url = {json.dumps(storage)}" if storage.startswith("postgresql://")
             else f"path = {json.dumps(storage)}",
             "[web]", f'listen = "127.0.0.1:{port}"', "[webhook]"]
    if public is not None:
        lines += [f"url = {json.dumps(public)}", f"secret_token = {json.dumps(SECRET)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def answer_tx(metrics: str) -> tuple[float, int]:
    """(seconds, count) of ``tapwork_answer_seconds`` in one /metrics text."""
    total = re.search(r"^tapwork_answer_seconds_sum (\S+)$", metrics, re.M)
    count = re.search(r"^tapwork_answer_seconds_count (\S+)$", metrics, re.M)
    return (float(total.group(1)) if total else 0.0,
            int(float(count.group(1))) if count else 0)


async def scrape(session: aiohttp.ClientSession, ports: list[int]) -> tuple[float, int]:
    seconds, count = 0.0, 0
    for port in ports:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            s, c = answer_tx(await response.text())
        seconds, count = seconds + s, count + c
    return seconds, count


async def run_phase(name: str, storage: str, replicas: int, options: Options,
                    work_dir: Path, pg: Postgres | None) -> Phase:
    """Fresh stand-in, ``replicas`` bot processes (0: one polling process), one window."""
    server = TimedStandIn(f"{secrets.randbelow(10**9) + 10**9}:BENCH-{name}")
    await server.start()
    webhook = replicas > 0
    ports = [free_port() for _ in range(max(1, replicas))]
    if webhook:
        server.webhook_targets = [f"http://127.0.0.1:{p}/telegram" for p in ports]
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    tasks: list[asyncio.Task[None]] = []
    window = Window()
    try:
        async with aiohttp.ClientSession() as session:
            for n, port in enumerate(ports):
                config = work_dir / f"{name}-{n}.toml"
                write_config(config, server, storage, port,
                             f"http://127.0.0.1:{ports[0]}/telegram" if webhook else None)
                logs.append(work_dir / f"{name}-{n}.log")
                processes.append(start_process([sys.executable, "-m", "bot", "run", "-c",
                                                str(config)], logs[-1], server.token))
            deadline = time.perf_counter() + START_TIMEOUT
            while not (server.count("setWebhook") >= len(ports) if webhook
                       else server.count("deleteWebhook") > 0):
                for process, log in zip(processes, logs, strict=True):
                    check_alive(process, log)
                if time.perf_counter() > deadline:
                    raise BotCrashed(f"{name}: the bot did not start in {START_TIMEOUT} s")
                await asyncio.sleep(0.05)
            phones = [server.phone(FIRST_USER + i, f"W{i}") for i in range(options.workers)]
            await asyncio.gather(*(enter(phone, "tapwork") for phone in phones))
            tasks = [asyncio.create_task(answer_until_stopped(phone, server, window))
                     for phone in phones]
            await sleep_watching(options.warmup, processes[0], logs[0])
            bot0 = sum(cpu_seconds(p.pid) for p in processes)
            pg0 = postgres_cpu_seconds() if pg else None
            db0 = pg.active_ms(storage) if pg else None
            tx0 = await scrape(session, ports)
            all0, bench0 = machine_cpu_seconds(), time.process_time()
            window.start = time.perf_counter()
            await sleep_watching(options.seconds, processes[0], logs[0])
            window.end = time.perf_counter()
            bot1 = sum(cpu_seconds(p.pid) for p in processes)
            pg1 = postgres_cpu_seconds() if pg else None
            db1 = pg.active_ms(storage) if pg else None
            tx1 = await scrape(session, ports)
            all1, bench1 = machine_cpu_seconds(), time.process_time()
            window.stopping = True
            await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT)
    finally:
        window.stopping = True
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT)
        for process in processes:
            await stop_process(process)
        await server.stop()
    bot = bot1 - bot0
    pg_cpu = None if pg0 is None or pg1 is None else pg1 - pg0
    return Phase(
        name=name, backend="postgresql" if pg else "sqlite", processes=len(processes),
        window_seconds=round(window.end - window.start, 3), answers=len(window.latencies),
        bot_cpu_seconds=round(bot, 3),
        pg_cpu_seconds=None if pg_cpu is None else round(pg_cpu, 3),
        db_active_ms=None if db0 is None or db1 is None else round(db1 - db0, 1),
        answer_tx_seconds=round(tx1[0] - tx0[0], 4), answer_tx_count=tx1[1] - tx0[1],
        other_cpu_seconds=round(max(0.0, (all1 - all0) - bot - (pg_cpu or 0.0)
                                    - (bench1 - bench0)), 3))


# -------------------------------------------------------------------------- the run


def pooled(rounds: list[Phase]) -> Phase:
    first = rounds[0]

    def total(attr: str) -> Any:
        values = [getattr(r, attr) for r in rounds]
        return None if any(v is None for v in values) else sum(values)

    return replace(first, **{attr: total(attr) for attr in (
        "window_seconds", "answers", "bot_cpu_seconds", "pg_cpu_seconds", "db_active_ms",
        "answer_tx_seconds", "answer_tx_count", "other_cpu_seconds")})


def summarize(options: Options, rounds: dict[str, list[Phase]]) -> dict[str, Any]:
    phases = {name: pooled(r) for name, r in rounds.items()}
    base = phases["sqlite"].per_second
    rows = []
    for name, p in phases.items():
        bot_ms = _per(p.bot_cpu_seconds, p.answers)
        pg_ms = _per(p.pg_cpu_seconds, p.answers)
        rows.append({
            "phase": name, "backend": p.backend, "processes": p.processes,
            "answers": p.answers, "answers_per_second": round(p.per_second, 1),
            "throughput_vs_sqlite": round(p.per_second / base, 3) if base else None,
            "bot_cpu_ms_per_answer": bot_ms,
            "postgres_cpu_ms_per_answer": pg_ms,
            "db_active_ms_per_answer": _per(p.db_active_ms, p.answers, 1.0),
            "answer_tx_ms": _per(p.answer_tx_seconds, p.answer_tx_count),
            "bot_answers_per_core_second": round(1000 / bot_ms, 1) if bot_ms else None,
            "postgres_answers_per_core_second": round(1000 / pg_ms, 1) if pg_ms else None,
            "other_cpu_percent": round(p.other_cpu_seconds / p.window_seconds * 100, 1)
            if p.window_seconds else None,
            "rounds_answers_per_second": [round(r.per_second, 1) for r in rounds[name]],
        })
    return {"options": asdict(options), "cpus": os.cpu_count(),
            "database_time": "pg_stat_database.active_time (pg_stat_statements not loaded)",
            "phases": rows}


async def run_benchmark(options: Options) -> dict[str, Any]:
    work_dir = make_work_dir(None, "tapwork-replicas-")
    pg = Postgres(os.environ.get(ADMIN_ENV) or DEFAULT_ADMIN)
    try:
        say(f"seeding {options.items:,} items (SQLite and PostgreSQL) ...")
        pristine = work_dir / "seed.db"
        await seed(StorageConfig(path=str(pristine)), options.items)
        await pg.start(options.items)
        plan = [("sqlite", 0)] + [(f"pg{n}", n) for n in options.replicas]
        rounds: dict[str, list[Phase]] = {name: [] for name, _ in plan}
        for number in range(1, options.rounds + 1):
            for name, replicas in plan:
                say(f"round {number}/{options.rounds}, {name} ...")
                if replicas == 0:
                    db = fresh_copy(pristine, work_dir, "run")
                    phase = await run_phase(name, str(db), 0, options, work_dir, None)
                else:
                    url = pg.create()
                    try:
                        phase = await run_phase(name, url, replicas, options, work_dir, pg)
                    finally:
                        pg.drop(url)
                say(f"  {phase.answers} answers, {phase.per_second:.1f}/s, bot CPU "
                    f"{_per(phase.bot_cpu_seconds, phase.answers)} ms/answer")
                rounds[name].append(phase)
        return summarize(options, rounds)
    finally:
        pg.close()
        shutil.rmtree(work_dir, ignore_errors=True)


COLUMNS = (("phase", "phase"), ("processes", "procs"), ("answers_per_second", "answers/s"),
           ("throughput_vs_sqlite", "vs sqlite"), ("bot_cpu_ms_per_answer", "bot CPU ms/ans"),
           ("postgres_cpu_ms_per_answer", "pg CPU ms/ans"),
           ("db_active_ms_per_answer", "pg active ms/ans (lock waits incl.)"),
           ("answer_tx_ms", "answer tx ms"),
           ("bot_answers_per_core_second", "ans/s per bot core"),
           ("postgres_answers_per_core_second", "ans/s per pg core"),
           ("other_cpu_percent", "other CPU %"))


def format_table(result: dict[str, Any]) -> str:
    o = result["options"]
    table = [[title for _, title in COLUMNS]]
    table += [[cell(row[key]) for key, _ in COLUMNS] for row in result["phases"]]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    lines = [f"tapwork replicas benchmark: {o['workers']} workers, {o['items']:,} items, "
             f"{o['rounds']} round(s) of {o['seconds']:g} s after {o['warmup']:g} s warm-up; "
             f"{result['cpus']} CPUs; Telegram's throttle off; database time: "
             f"{result['database_time']}", ""]
    for i, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("(ans/s per core: 1000 / CPU ms per answer, what one core running only "
                 "that part would give; the phases share this machine's cores)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(
        description="Answers per second, bot CPU and database time per answer: SQLite "
                    "(one polling process) against 1, 2 and 3 webhook replicas on PostgreSQL.")
    d = Options()
    parser.add_argument("--workers", type=int, help=f"simulated workers (default {d.workers})")
    parser.add_argument("--items", type=int, help=f"items (default {d.items:,})")
    parser.add_argument("--seconds", type=float, help=f"measured seconds ({d.seconds:g})")
    parser.add_argument("--warmup", type=float, help=f"warm-up seconds ({d.warmup:g})")
    parser.add_argument("--rounds", type=int, help=f"interleaved rounds ({d.rounds})")
    parser.add_argument("--replicas", help="replica counts on PostgreSQL (default 1,2,3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: a few seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    options = Options.quick() if args.quick else Options()
    overrides: dict[str, Any] = {k: getattr(args, k) for k in
                                 ("workers", "items", "seconds", "warmup", "rounds")
                                 if getattr(args, k) is not None}
    if args.replicas:
        overrides["replicas"] = tuple(int(n) for n in args.replicas.split(","))
    options = replace(options, **overrides)
    if options.workers < 1 or options.items < 1 or options.seconds <= 0 \
            or options.rounds < 1 or not all(n >= 1 for n in options.replicas):
        parser.error("workers, items, rounds and replica counts must be positive")
    return options, args.json


def main(argv: list[str] | None = None) -> int:
    options, as_json = parse_args(argv)
    return run_and_print(run_benchmark(options), "bench/replicas.py", format_table, as_json)


if __name__ == "__main__":
    raise SystemExit(main())
