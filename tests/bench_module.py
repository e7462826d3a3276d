"""Runs a benchmark the way the README says to: ``python -m bench.<name>`` from the root.

The smoke tests go through this rather than importing the benchmark, so a benchmark that
only runs from inside the test process (a ``sys.path`` patch, a child process started by
file name) fails here first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(name: str, *args: str, timeout: float = 600) -> str:
    """The benchmark's standard output; its standard error goes into a failure."""
    done = subprocess.run([sys.executable, "-m", f"bench.{name}", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, \
        f"python -m bench.{name} {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
    return done.stdout
