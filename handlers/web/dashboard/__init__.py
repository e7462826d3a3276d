"""The operators' web dashboard: sign-in by a single-use link from ``/dashboard`` in
chat, pages for projects, quality, workers and payouts, and the actions chat offers.

``dashboard_app(services)`` returns an aiohttp application to mount at ``/dashboard``
(``PREFIX``) in the bot's web server: ``server.add_subapp(PREFIX, dashboard_app(…))``.
It shares the bot's event loop and ``Services``; everything slow runs on the report
threads the services already use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from bot.domain.records import Broadcast
from bot.wiring import Services
from handlers.web.dashboard import actions, auth, downloads, pages, uploads
from handlers.web.dashboard.render import PREFIX

STATIC = Path(__file__).resolve().parent.parent / "static"

__all__ = ["PREFIX", "dashboard_app"]


def dashboard_app(services: Services, *,
                  launch: Callable[[Broadcast], None] | None = None) -> web.Application:
    """``launch``: hands a broadcast started here to the running bot at once (the
    ``BroadcastRunner``'s ``launch``); without it the bot's ``start-broadcasts`` job
    picks it up within ``work.lease_check_seconds``."""
    app = web.Application(middlewares=[auth.guard, _security_headers],
                          client_max_size=1024 * 1024)
    app[auth.SERVICES] = services
    app[auth.SESSIONS] = auth.Sessions(services, auth.secret_for(services))
    app[uploads.RUNNING] = set()
    if launch is not None:
        app[actions.LAUNCH] = launch
    r = app.router
    r.add_get("/login", auth.login)
    r.add_post("/logout", auth.logout)
    r.add_static("/static", STATIC, append_version=True)
    r.add_get("/", pages.projects)
    r.add_get("/payouts", pages.payouts)
    r.add_post("/payouts/{id}", actions.payout)
    r.add_get("/payouts.csv", downloads.payouts_sheet)
    project = "/p/{name}"
    r.add_get(project, pages.project)
    r.add_get(f"{project}/progress", pages.progress)
    r.add_get(f"{project}/broadcasts", pages.broadcasts)
    r.add_get(f"{project}/quality", pages.quality)
    r.add_get(f"{project}/workers", pages.workers)
    r.add_get(f"{project}/export.{{fmt}}", downloads.export)
    r.add_get(f"{project}/chart/{{which}}.png", downloads.chart)
    r.add_post(f"{project}/upload", uploads.upload)
    r.add_post(f"{project}/broadcast", actions.broadcast)
    r.add_post(f"{project}/status", actions.status)
    r.add_post(f"{project}/workers/{{worker}}", actions.worker)
    return app


@web.middleware
async def _security_headers(request: web.Request, handler: auth.Handler
                            ) -> web.StreamResponse:
    """No framing (clickjacking), no sniffing, scripts and styles from this server only."""
    response = await handler(request)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
    return response
