"""A bot killed with SIGKILL mid-run loses no acknowledged answer and serves open items."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from bot.cli import main
from bot.sim.crowd import join, open_task, task_id
from bot.sim.standin import BotApiStandIn
from tests.conftest import ROOT, polling_config, start_bot, stop_bot
from tests.state import answered

SAMPLE = ROOT / "bot" / "sample"


def _answered(db: Path) -> list[tuple[int, str | None]]:
    return [(a.item_id, a.answer) for a in answered(db)]


async def test_sigkill_mid_run_loses_no_acknowledged_answer(tmp_path: Path) -> None:
    async with BotApiStandIn() as server:
        config = polling_config(server, tmp_path)
        assert await asyncio.to_thread(
            main, ["project", "-c", str(config), str(SAMPLE / "reviews.toml")]) == 0
        assert await asyncio.to_thread(main, ["import", "-c", str(config), "--project",
                                              "reviews", str(SAMPLE / "reviews.jsonl")]) == 0
        process = await start_bot(config)
        try:
            phone = server.phone(90, "Kim")
            task = await join(phone, "reviews", timeout=20)
            acknowledged = 0
            for _ in range(3):
                current = task_id(phone.last)
                await phone.tap("😊 Positive", phone.last)
                await phone.wait_for(lambda p, c=current: task_id(p.last) != c, 10)
                acknowledged += 1
            assert [a for a in phone.alerts if a.startswith("✓ Saved")] == [
                f"✓ Saved · +$0.02 · {n} today" for n in range(1, acknowledged + 1)]
            open_before = task_id(phone.last)
            process.send_signal(signal.SIGKILL)
            await process.wait()
            assert process.returncode == -signal.SIGKILL

            answers = _answered(tmp_path / "tapwork.db")
            assert len(answers) == acknowledged

            process = await start_bot(config)
            await phone.send("/tasks")
            await phone.wait_text("Pick a project", 20)
            await phone.tap(next(b for row in phone.buttons() for b in row
                                 if "How does this review feel" in b))
            again = await phone.wait_for(open_task, 10)
            assert task_id(again) == open_before  # the open item is served again
            await phone.tap("😐 Neutral", again)
            await phone.wait_for(lambda p: task_id(p.last) != open_before, 10)
            answers = _answered(tmp_path / "tapwork.db")
            assert len(answers) == acknowledged + 1
            assert len({item for item, _ in answers}) == len(answers)
            assert task is not None
        finally:
            await stop_bot(process)
    assert process.returncode == 0, (await process.stderr.read()).decode()[-2000:] \
        if process.stderr else ""
    assert json.dumps(answers)  # plain values, nothing half-written
