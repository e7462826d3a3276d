"""An answer from the Mini App is saved before the chat moves on, so a chat that fails
to move on (Telegram down, a bug in the next screen) is logged, never refused."""

from __future__ import annotations

import logging

import pytest

from bot.i18n import gettext_for
from handlers.web.miniapp.calls import tell_chat


async def test_the_chat_is_told_and_a_failure_there_is_logged_not_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    told: list[tuple[int, str]] = []

    async def hook(user: int, result: str, _: object) -> None:
        told.append((user, result))

    async def broken(user: int, result: str, _: object) -> None:
        raise RuntimeError("Telegram is down")

    _ = gettext_for("en")
    await tell_chat(hook, 7, "saved", _)
    await tell_chat(None, 7, "saved", _)  # no chat to move on (tests, the dashboard)
    with caplog.at_level(logging.ERROR):
        await tell_chat(broken, 8, "saved", _)
    assert told == [(7, "saved")]
    assert "could not move the chat on for 8" in caplog.text
