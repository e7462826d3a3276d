"""The bot benchmarks' shared ``main`` (bench.common.run_and_print): the figures printed
one way or the other, and an exit code that says what stopped the run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.common import BotCrashed, run_and_print


def table(result: dict[str, Any]) -> str:
    return f"answers/s {result['rate']}"


async def figures() -> dict[str, Any]:
    return {"rate": 574}


async def crashed() -> dict[str, Any]:
    raise BotCrashed("the bot process exited with 1")


async def interrupted() -> dict[str, Any]:
    raise KeyboardInterrupt


def test_figures_are_printed_as_a_table_or_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_and_print(figures(), "bench/x.py", table, as_json=False) == 0
    assert capsys.readouterr().out == "answers/s 574\n"
    assert run_and_print(figures(), "bench/x.py", table, as_json=True) == 0
    assert json.loads(capsys.readouterr().out) == {"rate": 574}


def test_a_crash_and_an_interruption_each_have_their_exit_code(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run_and_print(crashed(), "bench/x.py", table, as_json=False) == 1
    assert "bench/x.py: the bot process exited with 1" in capsys.readouterr().err
    assert run_and_print(interrupted(), "bench/x.py", table, as_json=False) == 130
    assert capsys.readouterr().out == ""
