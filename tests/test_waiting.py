"""The end-to-end tests' wait (tests/waiting.py) returns what it saw, true or not."""

from __future__ import annotations

import pytest

from tests.waiting import eventually, until


async def test_a_wait_returns_the_first_truthy_value_sync_or_async() -> None:
    seen = iter([0, 0, 7, 9])
    assert await eventually(lambda: next(seen)) == 7

    calls = []

    async def check() -> str:
        calls.append(1)
        return "ready" if len(calls) == 3 else ""

    assert await eventually(check) == "ready"


async def test_a_wait_that_runs_out_returns_the_last_falsy_value() -> None:
    assert await eventually(lambda: [], patience=0.05) == []


async def test_until_says_what_never_happened() -> None:
    await until(lambda: True, "at once")
    with pytest.raises(AssertionError, match=r"not within 0\.05 s: the outbox emptied"):
        await until(lambda: False, "the outbox emptied", patience=0.05)
