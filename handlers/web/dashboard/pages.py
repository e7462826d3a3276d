"""The dashboard's pages: every project, one project (progress, pace, languages, money,
uploads, exports, broadcasts), its quality, its workers, and payout requests.

Each page asks the application services (``bot/services``) what it shows — the same
calls ``/projects``, ``/project``, ``/worker`` and ``/payouts`` make in chat — and renders
the answer; two small fragments are fetched again by the page's script every few
seconds (progress, broadcasts) so numbers move while the page is open.
"""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import NotFound
from bot.domain.projects import Project
from bot.i18n import Gettext
from bot.services.reports import ProjectStats
from handlers.web.dashboard.auth import SERVICES
from handlers.web.dashboard.render import READER, page

#: how often an open page refreshes its live parts (milliseconds)
REFRESH_MS = 3000
#: the largest items file the dashboard takes (the chat takes 20 MB, Telegram's limit
#: for a bot's downloads; past this, ``tapwork import`` on the server)
UPLOAD_LIMIT = 100 * 1024 * 1024


def too_large(_: Gettext) -> str:
    """Said by the page before a larger file is sent, and by the server if one comes."""
    return _("That file is larger than {size} MB, the most the dashboard takes. Split it, "
             "or use tapwork import on the server.", size=UPLOAD_LIMIT // (1024 * 1024))


async def project_of(request: web.Request) -> Project:
    try:
        return await request.app[SERVICES].catalog.get(request.match_info["name"])
    except NotFound:
        _ = request[READER]
        raise web.HTTPNotFound(text=_("No project named {name}.",
                                      name=request.match_info["name"])) from None


async def stats_of(request: web.Request, name: str) -> ProjectStats:
    found = [s for s in await request.app[SERVICES].reports.stats() if s.name == name]
    if not found:
        raise web.HTTPNotFound()
    return found[0]


async def projects(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stats = await services.reports.stats()
    titles = {p.spec.name: p.spec.title.get(request[READER].language)
              for p in await services.catalog.all()}
    template = "_projects.html" if request.query.get("fragment") else "projects.html"
    return page(request, template, request[READER], stats=stats, titles=titles,
                refresh=REFRESH_MS)


async def project(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    chosen = await project_of(request)
    stats = await stats_of(request, chosen.spec.name)
    activity, per_hour, hours = await services.reports.activity(chosen)
    pace = await services.insights.pace(chosen)
    broadcasts = await services.insights.broadcasts(chosen)
    floor = pace.min_hourly
    below = sum(1 for r in pace.hourly_rates if floor is not None and r < floor)
    return page(request, "project.html", request[READER], project=chosen, s=stats,
                activity=activity, per_hour=list(zip(hours, per_hour, strict=True)),
                pace=pace, below=below, broadcasts=broadcasts, refresh=REFRESH_MS,
                allow_paid=services.config.broadcast.allow_paid_broadcast,
                upload_limit=UPLOAD_LIMIT, too_large=too_large(request[READER]))


async def progress(request: web.Request) -> web.Response:
    """The project page's progress block alone (refreshed in place)."""
    chosen = await project_of(request)
    stats = await stats_of(request, chosen.spec.name)
    return page(request, "_progress.html", request[READER], project=chosen, s=stats)


async def broadcasts(request: web.Request) -> web.Response:
    """The project page's broadcasts block alone (refreshed in place)."""
    chosen = await project_of(request)
    found = await request.app[SERVICES].insights.broadcasts(chosen)
    return page(request, "_broadcasts.html", request[READER], project=chosen,
                broadcasts=found)


async def quality(request: web.Request) -> web.Response:
    chosen = await project_of(request)
    found = await request.app[SERVICES].insights.quality(chosen)
    return page(request, "quality.html", request[READER], project=chosen, q=found)


async def workers(request: web.Request) -> web.Response:
    chosen = await project_of(request)
    found = await request.app[SERVICES].insights.quality(chosen)
    return page(request, "workers.html", request[READER], project=chosen, q=found,
                done=request.query.get("done"))


async def payouts(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    waiting = await services.payroll.payouts("requested")
    decided = [p for p in await services.payroll.payouts(None) if p.status != "requested"]
    decided.sort(key=lambda p: p.decided_at or "", reverse=True)
    return page(request, "payouts.html", request[READER], waiting=waiting,
                decided=decided[:20], done=request.query.get("done"),
                payout_id=request.query.get("id"))
