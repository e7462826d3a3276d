"""A running bot with its dashboard on a real aiohttp server on 127.0.0.1, for the
dashboard's tests (browser and plain HTTP alike)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import ClientSession, web

from bot.app import running
from bot.clock import FakeClock
from bot.config import WebConfig
from bot.domain.projects import parse_project
from bot.sim.phone import Phone
from bot.sim.standin import BotApiStandIn
from handlers.web.dashboard import PREFIX, dashboard_app
from tests.conftest import OPERATOR_ID, Running, e2e_config, sentiment_doc

LINK = re.compile(r"https?://\S+/dashboard/login\?token=[A-Za-z0-9_-]+")


@dataclass
class Dashboard:
    bot: Running
    base: str  # "http://127.0.0.1:PORT"

    @property
    def home(self) -> str:
        return f"{self.base}{PREFIX}/"

    async def link_from_chat(self, phone: Phone | None = None) -> str:
        """Send /dashboard as the operator and read the link out of the bot's answer."""
        phone = phone or self.bot.server.phone(OPERATOR_ID, "Op")
        shown = len(phone.messages)
        await phone.send("/dashboard")
        message = await phone.wait_for(
            lambda p: next((m for m in p.messages[shown:]
                            if LINK.search(p.text(m) or "")), None))
        found = LINK.search(phone.text(message) or "")
        assert found is not None
        return found.group()


@contextlib.asynccontextmanager
async def dashboard(server: BotApiStandIn, tmp_path: Path, clock: FakeClock
                    ) -> AsyncIterator[Dashboard]:
    """The bot (as ``tests.conftest.bot``) with ``web.public_url`` pointing at a dashboard
    served on a port taken before the bot starts, so its links lead there."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = replace(e2e_config(server, tmp_path / "tapwork.db"),
                     web=WebConfig(public_url=base))
    async with running(config, clock, poll_timeout=1) as (app, services):
        root = web.Application()
        root.add_subapp(PREFIX, dashboard_app(
            services, launch=app.bot_data["broadcasts"].launch))
        runner = web.AppRunner(root)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        try:
            yield Dashboard(Running(server, app, services, clock), base)
        finally:
            await runner.cleanup()


async def load_reviews(bot: Running, tmp_path: Path, items: int = 3, **doc: object) -> None:
    await bot.services.catalog.save(parse_project(sentiment_doc(**doc)))
    file = tmp_path / "items.jsonl"
    file.write_text("".join(json.dumps({"id": f"i{i}", "text": f"item {i}"}) + "\n"
                            for i in range(items)))
    assert (await bot.services.catalog.import_file("reviews", file)).ok


async def signed_in(dash: Dashboard, http: ClientSession) -> str:
    """Sign ``http`` in through a chat link; returns the page's CSRF token."""
    async with http.get(await dash.link_from_chat()) as response:
        assert response.status == 200
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    async with http.get(dash.home) as response:
        found = re.search(r'name="csrf" value="([0-9a-f]{64})"', await response.text())
    assert found is not None
    return found.group(1)
