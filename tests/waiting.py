"""Waiting in end-to-end tests for something the bot does in the background.

A job that runs every 0.1 s, or a reply on its way through the stand-in, takes longer on
a loaded CI machine than on a quiet one, so a test waits by the clock for a generous
time, not for a count of short sleeps that a slow run can use up (that made the tests
that waited 100 x 0.05 s fail now and then under load).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: seconds to wait for the background before the test's own assertion fails
PATIENCE = 30.0


async def eventually(check: Callable[[], Awaitable[T]] | Callable[[], T],
                     patience: float = PATIENCE, every: float = 0.02) -> T:
    """``check()`` (sync or async) once it is truthy, or its last value after
    ``patience`` seconds: the caller asserts on what it returns."""
    deadline = time.monotonic() + patience
    while True:
        value = check()
        if asyncio.iscoroutine(value) or isinstance(value, Awaitable):
            value = await value
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(every)


async def until(check: Callable[[], Awaitable[object]] | Callable[[], object], what: str,
                patience: float = PATIENCE) -> None:
    """Wait for ``check`` like :func:`eventually`; fail saying ``what`` never happened."""
    if not await eventually(check, patience):
        raise AssertionError(f"not within {patience:g} s: {what}")
