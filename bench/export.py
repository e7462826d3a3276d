"""How exports scale: time and peak memory per item, JSONL and CSV, by project size.

    python -m bench.export [--sizes 10000,100000,1000000] [--quick] [--keep DIR] [--json]

Each size gets a database with the sentiment project, its items, 200 consenting workers
and three answers per item (workers of different accuracy, so ``auto`` runs Dawid-Skene
over every answer, the costliest path). Items go in through ``storage.items``, workers
through ``storage.workers``; the three million answers of the largest size are written in
bulk, since the work loop would take hours to record them one by one.

Each export then runs in a fresh process of its own (``tapwork export`` as an operator
runs it: ``Reports.export_file`` to ``FILE.partial``, then renamed), so the figures are its
own: wall time, CPU time (the export's thread included), and peak RSS (``VmHWM``) against
the RSS the process had before the export began.

What should hold (issue 11): time per item flat from 10,000 to 1,000,000 items (paging
by key range: every page costs the same) and peak memory flat in absolute terms (so per
item it falls): nothing is held per item, only per page, per worker and per label.
``--quick`` runs 2,000 and 20,000 items, a smoke run of a minute. ``--keep DIR`` keeps
the seeded databases there and reuses them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.clock import to_iso
from bot.config import Config, StorageConfig
from bot.domain.projects import parse_project
from bot.wiring import Services
from storage import items as item_store
from storage import workers as worker_store

ROOT = Path(__file__).resolve().parent.parent

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
FORMATS = ("jsonl", "csv")
WORKERS = 200
ANSWERS_PER_ITEM = 3
FIRST_WORKER = 5_000_000
SEED_BATCH = 50_000
LABELS = ("positive", "neutral", "negative")
PROJECT = {"name": "reviews", "kind": "sentiment", "title": "Reviews", "reward": "0.02",
           "currency": "USD", "overlap": ANSWERS_PER_ITEM}
WHEN = "2026-01-01T12:00:00.000000Z"


async def seed(path: Path, items: int) -> float:
    """The project, its items, the workers and their answers; returns the seconds taken."""
    started = time.perf_counter()
    services = await Services.open(Config(storage=StorageConfig(path=str(path))))
    try:
        project, _created = await services.catalog.save(parse_project(PROJECT))
        now = to_iso(services.clock.now())
        async with services.db.transaction() as conn:
            for w in range(WORKERS):
                await worker_store.upsert_seen(conn, FIRST_WORKER + w, f"W{w}", "en", "en",
                                               now)
                await worker_store.set_consent(conn, FIRST_WORKER + w, now)
        for first in range(0, items, SEED_BATCH):
            batch = [item_store.NewItem(f"r{i:07d}", f"Review number {i}: fine, mostly.",
                                        None, None, False, None, None)
                     for i in range(first, min(items, first + SEED_BATCH))]
            async with services.db.transaction() as conn:
                await item_store.insert_many(conn, project.id, batch, now)
        project_id = project.id
    finally:
        await services.close()
    _answers(path, project_id)
    return time.perf_counter() - started


def _answers(path: Path, project_id: int) -> None:
    """Three answers per item from three different workers, right as often as each
    worker's own accuracy (0.55 to 0.95) says."""
    rng = random.Random(11)
    accuracy = [0.55 + 0.4 * rng.random() for _ in range(WORKERS)]
    with contextlib.closing(sqlite3.connect(path)) as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM items WHERE project_id = ? ORDER BY id", (project_id,))]
        conn.execute("BEGIN")
        rows: list[tuple[Any, ...]] = []
        for n, item_id in enumerate(ids):
            truth = n % len(LABELS)
            for k in range(ANSWERS_PER_ITEM):
                w = (n * 7 + k * 13) % WORKERS
                label = truth if rng.random() < accuracy[w] else rng.randrange(len(LABELS))
                rows.append((item_id, FIRST_WORKER + w, project_id, WHEN, WHEN, WHEN,
                             LABELS[label], WHEN, round(2 + 8 * rng.random(), 3)))
            if len(rows) >= SEED_BATCH:
                _insert(conn, rows)
                rows = []
        _insert(conn, rows)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO assignments (item_id, worker_id, project_id, status, created_at,"
        " expires_at, delivered_at, answer, answered_at, seconds)"
        " VALUES (?, ?, ?, 'answered', ?, ?, ?, ?, ?, ?)", rows)


def seeded_count(path: Path) -> int:
    """Items in a kept database (0 when missing, unreadable or never given answers)."""
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            answered = conn.execute("SELECT count(*) FROM assignments").fetchone()[0]
            items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        return int(items) if answered == items * ANSWERS_PER_ITEM else 0
    except sqlite3.Error:
        return 0


def _status(key: str) -> int:
    """A figure of this process from /proc, in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


async def child(db: Path, fmt: str, out: Path) -> dict[str, Any]:
    """One export in this process, measured."""
    services = await Services.open(Config(storage=StorageConfig(path=str(db))), create=False)
    try:
        before = _status("VmRSS")
        wall, cpu = time.perf_counter(), time.process_time()
        rows = await services.reports.export_file("reviews", out, fmt)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await services.close()
    return {"rows": rows, "seconds": wall, "cpu_seconds": cpu, "rss_before": before,
            "peak_rss": _status("VmHWM"), "bytes": os.stat(out).st_size}


def measure(db: Path, items: int, fmt: str, work: Path) -> dict[str, Any]:
    out = work / f"export-{items}.{fmt}"
    done = subprocess.run([sys.executable, "-m", "bench.export", "--child", str(db), fmt, str(out)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    out.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"the export of {items} items ({fmt}) failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    growth = max(result["peak_rss"] - result["rss_before"], 0)
    result.update(items=items, format=fmt,
                  us_per_item=1e6 * result["seconds"] / items,
                  cpu_us_per_item=1e6 * result["cpu_seconds"] / items,
                  peak_rss_mb=result["peak_rss"] / 2**20, growth_mb=growth / 2**20,
                  growth_bytes_per_item=growth / items)
    return result


def run_benchmark(sizes: tuple[int, ...], work: Path, *, log: Any = print) -> dict[str, Any]:
    results = []
    for items in sizes:
        db = work / f"export-{items}.db"
        if seeded_count(db) != items:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            log(f"seeding {items:,} items and {items * ANSWERS_PER_ITEM:,} answers…")
            log(f"  {asyncio.run(seed(db, items)):.1f} s")
        for fmt in FORMATS:
            result = measure(db, items, fmt, work)
            log(f"{items:>9,} {fmt:5}  {result['seconds']:7.2f} s  "
                f"{result['us_per_item']:6.1f} µs/item  peak {result['peak_rss_mb']:6.1f} MB")
            results.append(result)
    flat = {}
    for fmt in FORMATS:
        runs = [r for r in results if r["format"] == fmt]
        flat[fmt] = {
            "time_per_item_largest_vs_smallest": runs[-1]["us_per_item"] / runs[0]["us_per_item"],
            "peak_rss_largest_vs_smallest": runs[-1]["peak_rss"] / runs[0]["peak_rss"],
        }
    return {"results": results, "flatness": flat}


def format_table(summary: dict[str, Any]) -> str:
    lines = ["| items | format | seconds | µs per item (CPU) | peak RSS | growth during "
             "export | growth per item |",
             "|---|---|---|---|---|---|---|"]
    for r in summary["results"]:
        lines.append(f"| {r['items']:,} | {r['format']} | {r['seconds']:.2f} | "
                     f"{r['us_per_item']:.1f} ({r['cpu_us_per_item']:.1f}) | "
                     f"{r['peak_rss_mb']:.1f} MB | {r['growth_mb']:.1f} MB | "
                     f"{r['growth_bytes_per_item']:.1f} B |")
    for fmt, f in summary["flatness"].items():
        lines.append(f"\n{fmt}: time per item, largest / smallest = "
                     f"{f['time_per_item_largest_vs_smallest']:.2f}; peak RSS, largest / "
                     f"smallest = {f['peak_rss_largest_vs_smallest']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="item counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 items")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the databases here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", nargs=3, metavar=("DB", "FORMAT", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        db, fmt, out = args.child
        print(json.dumps(asyncio.run(child(Path(db), fmt, Path(out)))))
        return 0
    sizes = QUICK_SIZES if args.quick else tuple(int(s) for s in args.sizes.split(","))
    with contextlib.ExitStack() as stack:
        if args.keep:
            work = args.keep
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tw-export-")))
        summary = run_benchmark(sizes, work,
                                log=(lambda *a: print(*a, file=sys.stderr)) if args.json
                                else print)
    print(json.dumps(summary, indent=2) if args.json else format_table(summary))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    os._exit(130)
