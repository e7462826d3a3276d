"""The handlers' context (``handlers.context``): the worker is read once per update, and
afresh for the next one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.domain.records import Worker
from bot.i18n import gettext_for
from bot.sim.crowd import join
from tests.conftest import Running, add_project


def _count_reads(bot: Running, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every ``workers.get`` from now on, by the id read."""
    reads: list[int] = []
    original: Callable[[int], Awaitable[Worker | None]] = bot.services.workers.get

    async def spy(user_id: int) -> Worker | None:
        reads.append(user_id)
        return await original(user_id)

    monkeypatch.setattr(bot.services.workers, "get", spy)
    return reads


async def test_a_project_tap_reads_the_worker_once(bot: Running, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The tap passes the consent check, starts the project and shows the task in the
    worker's language and text size: three places that each read the worker before."""
    await add_project(bot.services, items=3)
    phone = bot.server.phone(701, "Ann")
    await join(phone, "reviews")
    await phone.send("/tasks")
    listed = await phone.wait_text("Pick a project to start:")
    reads = _count_reads(bot, monkeypatch)
    version = phone.version
    await phone.tap(phone.buttons(listed)[0][0], listed)
    await phone.wait_change(version)
    await phone.wait_for(lambda p: "Reviews" in (p.text() or ""))
    assert reads == [701]


async def test_a_new_language_speaks_from_the_next_update(
        bot: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await add_project(bot.services, items=3)
    phone = bot.server.phone(702, "Bo", language_code="en")
    await join(phone, "reviews")
    await phone.send("/settings")
    await phone.wait_text("Your settings")
    await phone.tap("🌐 Language: English")
    await phone.wait_for(lambda p: ["한국어"] in p.buttons())
    reads = _count_reads(bot, monkeypatch)
    await phone.tap("한국어")
    ko = gettext_for("ko")
    # the screen redrawn by the tap that changed it is in Korean already
    await phone.wait_text(ko("Your settings. Tap a line to change it."))
    assert reads == [702]
    await phone.send("/whoami")
    await phone.wait_text(ko("Your Telegram id: {id}", id=702))
    assert reads == [702, 702]  # the next update read the worker again, once
