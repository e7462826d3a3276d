"""What an answer costs on each backend: the work loop's services, no Telegram.

Workers answer a project's items through ``Work.start`` and ``Work.answer_choice`` (each
answer: one write transaction of about eighteen statements, the next task served in it),
first on a SQLite file, then on a PostgreSQL database made for the run (from template0,
dropped after) on the server ``--server`` names. Prints milliseconds per answer, the
median of ``--rounds`` rounds, for each backend.

    python -m bench.storage [--answers 300] [--rounds 3] [--server postgresql://…/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bot.clock import FakeClock
from bot.config import Config, StorageConfig
from bot.domain.projects import parse_project
from bot.wiring import Services
from storage import items as item_store

DEFAULT_SERVER = os.environ.get("TAPWORK_TEST_POSTGRES",
                                "postgresql://postgres@127.0.0.1:5432/test")


async def _round(storage: StorageConfig, answers: int) -> float:
    """Seconds per answer of ``answers`` answers by 10 workers, on a fresh project."""
    clock = FakeClock()
    services = await Services.open(Config(storage=storage), clock)
    try:
        spec = parse_project({"name": f"b{time.monotonic_ns()}", "kind": "sentiment",
                              "title": "B", "reward": "0.01", "currency": "USD",
                              "gold_rate": 0.0, "overlap": 1})
        project, _ = await services.catalog.save(spec)
        async with services.db.transaction() as conn:
            await item_store.insert_many(conn, project.id, [
                item_store.NewItem(f"i{n}", f"text {n}", None, None, False, None, None)
                for n in range(answers + 10)], "2026-01-01T00:00:00.000000Z")
        workers = list(range(1, 11))
        tasks = {}
        for worker in workers:
            await services.workers.seen(worker, f"W{worker}", "en")
            await services.workers.consent(worker)
            tasks[worker] = (await services.work.start(worker, spec.name)).task
        started = time.perf_counter()
        for n in range(answers):
            worker = workers[n % len(workers)]
            task = tasks[worker]
            assert task is not None
            clock.advance(seconds=1)
            result = await services.work.answer_choice(worker, task.assignment_id, 0)
            tasks[worker] = result.served.task if result.served else None
        return (time.perf_counter() - started) / answers
    finally:
        await services.close()


def _scratch(server: str) -> tuple[str, str]:
    name = f"tapwork_bench_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
                      " LC_COLLATE 'C' LC_CTYPE 'C'")
    parts = urlsplit(server)
    return name, urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def _drop(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(answers: int, rounds: int, server: str | None) -> dict[str, float]:
    """Milliseconds per answer by backend (median of the rounds)."""
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = StorageConfig(path=str(Path(tmp) / "bench.db"))
        result["sqlite"] = 1000 * statistics.median(
            asyncio.run(_round(sqlite, answers)) for _ in range(rounds))
    if server:
        name, url = _scratch(server)
        try:
            result["postgresql"] = 1000 * statistics.median(
                asyncio.run(_round(StorageConfig(url=url), answers)) for _ in range(rounds))
        finally:
            _drop(server, name)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=300, help="answers a round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per backend")
    parser.add_argument("--server", default=DEFAULT_SERVER,
                        help="a PostgreSQL database to create the scratch one from "
                             f"(default {DEFAULT_SERVER}); '' for SQLite only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.answers, args.rounds, args.server or None)
    if args.json:
        print(json.dumps(result))
        return
    for backend, ms in result.items():
        print(f"{backend:10} {ms:6.2f} ms per answer ({args.answers} answers, "
              f"median of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
