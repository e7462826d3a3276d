"""What an operator changes from the dashboard: start a broadcast, pause or resume a
project, suspend or reinstate a worker, decide a payout (imports: ``uploads``).

Each is the same application call as in chat or on the command line
(``broadcasts.start``, ``catalog.set_status``, ``work.set_suspended``,
``payroll.decide_payout``), so the same rules, ledger keys and notices to workers apply.
The CSRF token was checked before any of these runs (``auth.guard``).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot.domain.errors import TapworkError, TextTooLong
from bot.domain.qualify import OPERATOR
from bot.domain.records import Broadcast
from handlers.web.dashboard.auth import SERVICES
from handlers.web.dashboard.pages import project_of
from handlers.web.dashboard.render import PREFIX, READER, SIGNED_IN, page

#: the longest reason kept with a suspension or a refused payout
REASON_LIMIT = 500
LAUNCH = web.AppKey[Callable[[Broadcast], None]]("launch")


async def _form(request: web.Request) -> dict[str, str]:
    data = await request.post()
    return {key: value for key, value in data.items() if isinstance(value, str)}


async def broadcast(request: web.Request) -> web.Response:
    _ = request[READER]
    chosen = await project_of(request)
    form = await _form(request)
    text = form.get("text", "").strip() or None
    services = request.app[SERVICES]
    try:
        started, audience = await services.broadcasts.start(
            chosen.spec.name, text, paid=form.get("paid") == "1")
    except TextTooLong as exc:
        return page(request, "message.html", _, status=422, title=_("Nothing was sent"),
                    text=_("That text is {length} characters long, and a message holds at "
                           "most {limit}. Nothing was sent: please shorten it and send the "
                           "broadcast again.", length=exc.length, limit=exc.limit))
    except TapworkError as exc:
        return page(request, "message.html", _, status=422, title=_("Nothing was sent"),
                    text=exc.render(_))
    launch = request.app.get(LAUNCH)
    if launch is not None:  # the running bot sends it now; else its next poll does
        launch(started)
    raise web.HTTPSeeOther(f"{PREFIX}/p/{chosen.spec.name}?broadcast={started.id}"
                           f"&audience={audience.total}#broadcasts")


async def status(request: web.Request) -> web.Response:
    chosen = await project_of(request)
    form = await _form(request)
    wanted = "paused" if form.get("status") == "paused" else "open"
    await request.app[SERVICES].catalog.set_status(chosen.spec.name, wanted)
    raise web.HTTPSeeOther(f"{PREFIX}/p/{chosen.spec.name}")


async def worker(request: web.Request) -> web.Response:
    """Suspend or reinstate a worker in this project, with the operator's reason."""
    _ = request[READER]
    chosen = await project_of(request)
    form = await _form(request)
    try:
        worker_id = int(request.match_info["worker"])
    except ValueError:
        raise web.HTTPNotFound() from None
    reason = form.get("reason", "").strip()[:REASON_LIMIT]
    if not reason:
        return page(request, "message.html", _, status=422, title=_("Nothing was changed"),
                    text=_("Please give a reason: it is kept with the change."))
    services = request.app[SERVICES]
    if await services.workers.get(worker_id) is None:
        raise web.HTTPNotFound(text=_("No worker with id {id}.", id=worker_id))
    suspend = form.get("action") == "suspend"
    changed = await services.work.set_suspended(worker_id, chosen, suspend, OPERATOR,
                                                by=request[SIGNED_IN], note=reason)
    done = ("suspended" if suspend else "reinstated") if changed else "unchanged"
    raise web.HTTPSeeOther(f"{PREFIX}/p/{chosen.spec.name}/workers?done={done}"
                           f"#worker-{worker_id}")


async def payout(request: web.Request) -> web.Response:
    """Approve, or reject with a reason the worker is told."""
    _ = request[READER]
    form = await _form(request)
    try:
        payout_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    approve = form.get("decision") == "approve"
    reason = form.get("reason", "").strip()[:REASON_LIMIT]
    if not approve and not reason:
        return page(request, "message.html", _, status=422, title=_("Nothing was changed"),
                    text=_("Please give a reason: the worker is told why."))
    try:
        decided = await request.app[SERVICES].payroll.decide_payout(payout_id, approve, reason)
    except TapworkError:
        raise web.HTTPSeeOther(f"{PREFIX}/payouts?done=already&id={payout_id}") from None
    raise web.HTTPSeeOther(f"{PREFIX}/payouts?done={decided.status}&id={decided.id}")
