"""What both bot benchmarks need: bot processes, their CPU and memory, and the figures table.

``bench/loop.py`` and ``bench/broadcast.py`` each start the bot as an operator would, in a
process of its own, so its CPU time and peak RSS are its own; the helpers for that, and
for printing the figure / value / target table, live here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

#: the project's root: bot processes run from here (``python -m bot …``)
ROOT = Path(__file__).resolve().parent.parent
#: how long a bot process may take to exit after SIGTERM
STOP_TIMEOUT = 15.0


def remove_database(path: Path) -> None:
    """The file and its WAL and shared-memory companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child if this process dies.

    Covers the one case ``finally`` cannot: this process being killed outright. libc is
    loaded here, before forking, so the child only makes one system call.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def arm() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return arm


def start_process(command: list[str], log_path: Path, token: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["TAPWORK_TOKEN"] = token  # it would override the config's token otherwise
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"  # never leave this machine
    env["PYTHONUNBUFFERED"] = "1"
    with log_path.open("wb") as log:  # a file, never a pipe nobody drains
        return subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_die_with_parent())


async def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the bot's own clean shutdown, which also writes a profile), then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(process.wait, STOP_TIMEOUT)
    if process.poll() is None:
        process.kill()
        await asyncio.to_thread(process.wait)


class BotCrashed(RuntimeError):
    pass


def check_alive(process: subprocess.Popen[bytes], log_path: Path) -> None:
    code = process.poll()
    if code is not None:
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        raise BotCrashed(f"the bot process exited with {code}; the end of {log_path}:\n"
                         + "\n".join(tail))


async def sleep_watching(seconds: float, process: subprocess.Popen[bytes],
                         log_path: Path) -> None:
    """Sleep, but notice within a quarter second if the bot process died."""
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        await asyncio.sleep(min(left, 0.25))
        check_alive(process, log_path)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from ``/proc/<pid>/stat``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every core spent on anything but idling, from ``/proc/stat``.

    Less the bot's and this process's time, it shows other work (a test run, another
    benchmark) that competed for the cores and makes the figures noisy.
    """
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cell(value: Any) -> str:
    """A figure for a table: "-" for none, thousands separated, short floats."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def figure_lines(figures: list[dict[str, Any]]) -> list[str]:
    """The figure / value / target / PASS-FAIL table every benchmark here prints."""
    rows = [("figure", "value", "target", "result")]
    for f in figures:
        verdict = "" if f["pass"] is None else ("PASS" if f["pass"] else "FAIL")
        rows.append((f["figure"], cell(f["value"]), f["target"] or "", verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]),
                                row[2].ljust(widths[2]), row[3]]).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines

def make_work_dir(keep: str | None, prefix: str) -> Path:
    """``--keep DIR`` (created if need be), else a fresh temporary directory."""
    if keep is None:
        return Path(tempfile.mkdtemp(prefix=prefix))
    work_dir = Path(keep).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    return work_dir


def print_profile(path: Path, what: str, limit: int = 30) -> None:
    say(f"\nprofile of {what} ({path}), by own time, then cumulative:")
    stats = pstats.Stats(str(path), stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)


def run_and_print(run: Coroutine[Any, Any, dict[str, Any]], name: str,
                  table: Callable[[dict[str, Any]], str], as_json: bool) -> int:
    """A bot benchmark's ``main``: run it, print its figures (JSON or the table) and
    return the exit code: 130 when interrupted, 1 when the bot crashed, else 0."""
    try:
        result = asyncio.run(run)
    except (KeyboardInterrupt, asyncio.CancelledError):
        say("interrupted")
        return 130
    except BotCrashed as exc:
        say(f"{name}: {exc}")
        return 1
    print(json.dumps(result, indent=2) if as_json else table(result))
    return 0
