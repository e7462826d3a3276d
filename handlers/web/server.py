"""Builds and runs the bot's web server: the webhook, ``/healthz``, ``/metrics``.

``build_web_app`` is a plain function of what the routes need, so a test serves exactly
what ``tapwork run`` serves, and a later page (an operator dashboard, a Telegram Mini
App) mounts on the same server by passing a ``Mount`` that adds its routes or a
sub-application (``app.add_subapp("/dashboard", …)``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiohttp import web

from bot.config import Config
from bot.domain.errors import ConfigError
from bot.wiring import Services
from handlers.common import App
from handlers.web.metrics import CONTENT_TYPE, Metrics
from handlers.web.webhook import MAX_BODY, receiver

log = logging.getLogger(__name__)
#: adds routes to the server before it starts
Mount = Callable[[web.Application], None]
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
#: the keys under which routes find what they serve (``request.app[...]``)
SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", Metrics)


def build_web_app(application: App, services: Services, metrics: Metrics, *,
                  mounts: Sequence[Mount] = ()) -> web.Application:
    """The aiohttp application: the webhook's path when ``webhook.url`` is set, health and
    metrics always, then whatever ``mounts`` add."""
    app = web.Application(client_max_size=MAX_BODY)
    app[SERVICES] = services
    app[METRICS] = metrics
    hook = services.config.webhook
    if hook.enabled:
        app.router.add_post(hook.path, receiver(application, services.updates, metrics,
                                                hook.secret_token))
    app.router.add_get(HEALTH_PATH, health)
    app.router.add_get(METRICS_PATH, scrape)
    for mount in mounts:
        mount(app)
    return app


async def health(request: web.Request) -> web.StreamResponse:
    """200 when the database answers and has every migration this version ships, else
    503: what a load balancer's health check and an orchestrator's probe ask."""
    report = await request.app[SERVICES].health.check()
    body = {"status": "ok" if report.ok else "unhealthy", "database": report.database,
            "schema": report.schema, "expected_schema": report.expected}
    if report.error:
        body["error"] = report.error
    return web.json_response(body, status=200 if report.ok else 503)


async def scrape(request: web.Request) -> web.StreamResponse:
    """The counters, and the queue depths read now (NaN if the database did not answer)."""
    try:
        depths = await request.app[SERVICES].health.depths()
    except Exception as exc:  # the counters are still worth scraping
        log.warning("metrics: queue depths not read: %s", exc)
        depths = None
    return web.Response(body=request.app[METRICS].render(depths),
                        headers={"Content-Type": CONTENT_TYPE})


class WebServer:
    """The server listening on ``web.listen`` for the life of ``tapwork run``."""

    def __init__(self, app: web.Application, config: Config) -> None:
        address = config.webhook.address
        assert address is not None, "a web server needs web.listen"
        self.app = app
        self.host, self.port = address
        self.config = config
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, backlog=1024)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError("cannot listen on {listen} (web.listen in {where}): {why}",
                              listen=self.config.webhook.listen, where=self.config.source,
                              why=exc.strerror or str(exc)) from None
        self._runner = runner
        log.info("web server listening on %s", self.config.webhook.listen)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
