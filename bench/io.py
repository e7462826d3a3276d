"""Big files in and out: time and peak memory per item at 10k, 100k and 1M items.

    python -m bench.io [--quick] [--sizes 10000,100000] [--phase import] [--keep DIR]
                       [--json]

Each phase prepares its input once per size (in ``--keep DIR``, reused when it is there)
and measures in a fresh process of its own (this script with ``--child``), so the peak
resident memory (``wait4``'s ``ru_maxrss``) and CPU time are that run's alone. A run at
the smallest size of all (``BASELINE_ITEMS``) gives the process's own footprint (Python,
tapwork, the language detector); "above baseline" is what the items added. Per item, time
should stay flat from 10k to 1M (linear time) and memory above baseline should shrink
(bounded: a batch, not the file). Each child also measures the longest stall of its event
loop while the measured work runs (``Timed``): how long a worker's answer would have
waited in a running bot.

Phases (``PHASES``): ``import`` reads a JSON Lines file of short reviews in English,
Korean and Chinese (languages detected, as for a file without ``lang``) into a fresh
database through ``Catalog.import_file``, as ``tapwork import`` does. To add a phase
(``export`` next), write its ``prepare(work_dir, items) -> Path`` (build the input; may
return a seeded database) and its ``child(input, scratch, timed) -> dict`` (set up, then
``await timed(the work)``; return at least ``items``), and add a ``Phase`` to ``PHASES``;
the runner, the table and ``--json`` need no change.

``--quick`` runs 10k and 100k only (about a minute); the full run adds 1M (a few
minutes, about 2 GB of disk in the work directory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
BASELINE_ITEMS = 100
#: the ticker's sleep; a gap longer than this is the loop being busy
TICK = 0.005

_WORDS = {
    "en": ["great", "phone", "battery", "lasts", "all", "day", "screen", "is", "too",
           "dim", "delivery", "was", "late", "but", "the", "price", "fair", "love", "it"],
    "ko": ["배송이", "너무", "늦었어요", "화면이", "밝고", "좋아요", "배터리가", "오래",
           "가요", "가격은", "괜찮아요", "다시", "살게요"],
    "zh": ["质量", "一般", "价格", "还行", "屏幕", "很", "清楚", "电池", "耐用", "物流",
           "太慢", "了", "推荐", "购买"],
}


def review(rng: random.Random) -> str:
    language = rng.choice(("en", "en", "ko", "zh"))
    words = rng.choices(_WORDS[language], k=rng.randint(6, 24))
    return ("" if language == "zh" else " ").join(words)


# --------------------------------------------------------------------------- phases


class Timed:
    """Measures the one awaitable a child hands it: wall time, and the event loop's
    longest stall meanwhile (a ticker sleeps ``TICK`` at a time; a longer gap is the loop
    being busy, which is how long a worker's answer would have waited)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.stall = 0.0

    async def __call__(self, work: Awaitable[T]) -> T:
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(TICK)
                now = time.perf_counter()
                self.stall = max(self.stall, now - last - TICK)
                last = now

        ticking = asyncio.create_task(ticker())
        started = time.perf_counter()
        try:
            return await work
        finally:
            self.seconds = time.perf_counter() - started
            done.set()
            await ticking


@dataclass(frozen=True)
class Phase:
    name: str
    #: builds the phase's input for ``items`` items in ``work_dir``; returns its path
    prepare: Callable[[Path, int], Path]
    #: runs in a process of its own, given the input, a scratch folder and ``timed``, which
    #: it awaits its measured work through (set-up stays outside); returns figures
    child: Callable[[Path, Path, Timed], Awaitable[dict[str, Any]]]


def prepare_import(work_dir: Path, items: int) -> Path:
    path = work_dir / f"items-{items}.jsonl"
    if path.exists():
        return path
    rng = random.Random(items)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        for n in range(items):
            out.write(json.dumps({"id": f"r{n:07d}", "text": review(rng)},
                                 ensure_ascii=False) + "\n")
    partial.replace(path)
    return path


async def child_import(items_file: Path, scratch: Path, timed: Timed) -> dict[str, Any]:
    from bot.config import Config, StorageConfig
    from bot.domain.projects import parse_project
    from bot.wiring import Services

    services = await Services.open(Config(storage=StorageConfig(
        path=str(scratch / "tapwork.db"))))
    try:
        await services.catalog.save(parse_project({
            "name": "bench", "kind": "sentiment", "title": "Bench", "reward": "0.02",
            "currency": "USD"}))
        result = await timed(services.catalog.import_file("bench", items_file))
        if not result.ok:
            raise SystemExit(f"the import failed: {result.errors[:3]}")
        size = await asyncio.to_thread(lambda: items_file.stat().st_size)
        return {"items": result.summary.total, "file_mb": size / 1024 / 1024}
    finally:
        await services.close()


PHASES = {"import": Phase("import", prepare_import, child_import)}


# --------------------------------------------------------------------------- one run


async def _measure(phase: Phase, source: Path, scratch: Path) -> dict[str, Any]:
    timed = Timed()
    figures = await phase.child(source, scratch, timed)
    figures["seconds"] = timed.seconds
    figures["stall_ms"] = timed.stall * 1000
    return figures


def run_child(phase: str, source: Path, scratch: Path) -> dict[str, Any]:
    """This script in a process of its own; its figures, CPU time and peak memory."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    out = scratch / "figures.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.io", "--child", phase, str(source),
         str(scratch), str(out)], cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the {phase} run on {source.name} exited with "
                         f"{process.returncode}")
    figures = json.loads(out.read_text())
    figures["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    figures["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    shutil.rmtree(scratch, ignore_errors=True)
    return figures


def run_phase(phase: Phase, sizes: list[int], work_dir: Path) -> list[dict[str, Any]]:
    scratch = work_dir / "run"
    base = run_child(phase.name, phase.prepare(work_dir, BASELINE_ITEMS), scratch)
    rows = []
    for items in sizes:
        print(f"{phase.name}: {items:,} items…", file=sys.stderr, flush=True)
        figures = run_child(phase.name, phase.prepare(work_dir, items), scratch)
        added = max(figures["peak_rss_mb"] - base["peak_rss_mb"], 0.0)
        figures.update(
            phase=phase.name, size=items,
            us_per_item=figures["seconds"] / items * 1e6,
            cpu_us_per_item=figures["cpu_seconds"] / items * 1e6,
            baseline_rss_mb=base["peak_rss_mb"], above_baseline_mb=added,
            bytes_per_item=added * 1024 * 1024 / items)
        rows.append(figures)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    header = ("phase", "items", "file", "seconds", "µs/item", "CPU µs/item", "peak RSS",
              "above baseline", "per item", "longest stall")
    lines = [header]
    for r in rows:
        lines.append((r["phase"], f"{r['size']:,}", f"{r.get('file_mb', 0):,.1f} MB",
                      f"{r['seconds']:,.1f}", f"{r['us_per_item']:,.1f}",
                      f"{r['cpu_us_per_item']:,.1f}", f"{r['peak_rss_mb']:,.1f} MB",
                      f"{r['above_baseline_mb']:,.1f} MB", f"{r['bytes_per_item']:,.0f} B",
                      f"{r['stall_ms']:,.0f} ms"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(line, widths, strict=True))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k items only")
    parser.add_argument("--sizes", help="comma-separated item counts (overrides --quick)")
    parser.add_argument("--phase", action="append", choices=sorted(PHASES),
                        help="run only this phase (repeatable; default: all)")
    parser.add_argument("--keep", help="work directory to keep the inputs in (reused)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--child", nargs=4, metavar=("PHASE", "INPUT", "SCRATCH", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, source, scratch, out = args.child
        figures = asyncio.run(_measure(PHASES[name], Path(source), Path(scratch)))
        Path(out).write_text(json.dumps(figures))
        return 0
    sizes = ([int(s) for s in args.sizes.split(",")] if args.sizes
             else list(QUICK_SIZES if args.quick else SIZES))
    work_dir = (Path(args.keep) if args.keep
                else Path(tempfile.mkdtemp(prefix="tapwork-io-")))
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        rows = [row for name in (args.phase or list(PHASES))
                for row in run_phase(PHASES[name], sizes, work_dir)]
    finally:
        if not args.keep:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
