"""What an operator changes from the dashboard: import a file, start a broadcast,
pause or resume a project, suspend or reinstate a worker, decide a payout.

Each is the same application call as in chat or on the command line
(``catalog.import_bytes``, ``broadcasts.start``, ``catalog.set_status``,
``work.set_suspended``, ``payroll.decide_payout``), so the same rules, ledger keys and
notices to workers apply. The CSRF token was checked before any of these runs
(``auth.guard``); an upload carries it as the form's first part.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import BodyPartReader, web

from bot.domain.errors import TapworkError, TextTooLong
from bot.domain.qualify import OPERATOR
from bot.domain.records import Broadcast
from bot.intake.importer import format_report
from bot.intake.loader import ImportFailed
from handlers.web.dashboard.auth import CSRF_FIELD, SERVICES, csrf_ok, refused_csrf
from handlers.web.dashboard.pages import project_of
from handlers.web.dashboard.render import PREFIX, page

#: the largest items file the dashboard takes (the chat takes 20 MB, Telegram's limit
#: for a bot's downloads; past this, ``tapwork import`` on the server)
UPLOAD_LIMIT = 100 * 1024 * 1024
#: the longest reason kept with a suspension or a refused payout
REASON_LIMIT = 500
LAUNCH = web.AppKey[Callable[[Broadcast], None]]("launch")


async def _form(request: web.Request) -> dict[str, str]:
    data = await request.post()
    return {key: value for key, value in data.items() if isinstance(value, str)}


async def upload(request: web.Request) -> web.Response:
    """An items file from the browser: checked and imported whole or not at all, then
    the same line-numbered report as ``tapwork import``."""
    _ = request["_"]
    chosen = await project_of(request)
    reader = await request.multipart()
    first = await reader.next()
    if not isinstance(first, BodyPartReader) or first.name != CSRF_FIELD \
            or not csrf_ok(request, (await first.read()).decode("utf-8", "replace")):
        return refused_csrf(request)
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or part.name != "file" or not part.filename:
        return _report(request, chosen.spec.name, _("Choose a file to upload."), False)
    data = bytearray()
    while chunk := await part.read_chunk(256 * 1024):
        data += chunk
        if len(data) > UPLOAD_LIMIT:
            return _report(request, chosen.spec.name, _(
                "That file is larger than {size} MB, the most the dashboard takes. Split it, "
                "or use tapwork import on the server.", size=UPLOAD_LIMIT // (1024 * 1024)),
                False, status=413)
    services = request.app[SERVICES]
    try:
        result = await services.catalog.import_bytes(chosen.spec.name, bytes(data),
                                                     part.filename)
    except ImportFailed as exc:  # not the file's lines: busy, or the database is full
        return _report(request, chosen.spec.name,
                       _("{file}: the import stopped.", file=part.filename) + "\n" + str(exc),
                       False, status=503)
    return _report(request, chosen.spec.name, format_report(result, reader=_), result.ok,
                   status=200 if result.ok else 422)


def _report(request: web.Request, name: str, text: str, ok: bool,
            status: int = 200) -> web.Response:
    return page(request, "import_report.html", request["_"], name=name, report=text, ok=ok,
                status=status)


async def broadcast(request: web.Request) -> web.Response:
    _ = request["_"]
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
                    text=str(exc))
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
    _ = request["_"]
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
                                                by=request["operator"], note=reason)
    done = ("suspended" if suspend else "reinstated") if changed else "unchanged"
    raise web.HTTPSeeOther(f"{PREFIX}/p/{chosen.spec.name}/workers?done={done}"
                           f"#worker-{worker_id}")


async def payout(request: web.Request) -> web.Response:
    """Approve, or reject with a reason the worker is told."""
    _ = request["_"]
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
