"""The Mini App for boxes and points tasks: its page, its task, its picture, its answer.

Routes (all under ``/app``)::

    GET  /app/task/{assignment}?lang=ko   the page (no task data in it: anyone may load it)
    GET  /app/task/{assignment}/task      the task: title, instructions, labels, kind
    GET  /app/task/{assignment}/image     the picture
    POST /app/task/{assignment}/answer    {"drawing": [...]} -> {"ok", "outcome", ...}
    GET  /app/static/{name}               the page's script and stylesheet

Every call but the page carries the Mini App's ``initData`` in an ``Authorization: tma
<initData>`` header, and the first thing each does is verify it
(``handlers.web.initdata``): a forged, malformed or expired one gets 401 and nothing
else happens; a good one names the Telegram user, who must be the worker holding that
open task (the work service decides). The answer is read once (``read_drawing``: its
shape, at most ``MAX_BODY`` bytes) and handed to ``Work.answer_drawing``: the same path
as a tap, so it is recorded exactly once, earns the same ledger entry and counts for
gold checks and quality. A replayed request finds the task answered and changes
nothing.

``on_answered`` (wired by the composition root, ``handlers.web.miniapp.chat``) shows the
next task in the chat, since the Mini App closes and there is no message to edit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path

from aiohttp import web

from bot.domain.errors import DatabaseBusy
from bot.domain.shapes import Drawing, ShapeError, read_drawing
from bot.i18n import Gettext, gettext_for, language_for
from bot.services.work import AnswerResult, Outcome
from bot.wiring import Services
from handlers.render import label_name
from handlers.web.initdata import Refused, WebAppUser, verify
from handlers.web.miniapp.page import STRINGS, render_page

log = logging.getLogger(__name__)

#: the largest answer accepted: 100 boxes with long labels is about 12 KB
MAX_BODY = 64 * 1024
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"miniapp.js": "text/javascript", "miniapp.css": "text/css"}
#: shows the next task in chat after an accepted answer: (worker id, result, reader)
AnswerHook = Callable[[int, AnswerResult, Gettext], Awaitable[None]]

SERVICES = web.AppKey("tapwork_services", Services)
HOOK: web.AppKey[AnswerHook | None] = web.AppKey("tapwork_miniapp_hook")
#: the page may be framed by Telegram's web clients, nobody else
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' https://telegram.org; "
                               "img-src 'self' blob:; style-src 'self'; "
                               "frame-ancestors https://web.telegram.org https://*.telegram.org",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def miniapp(services: Services, on_answered: AnswerHook | None = None) -> web.Application:
    """An aiohttp application serving the Mini App under ``/app``; run it alone or add
    its routes to the bot's web server with :func:`add_routes`."""
    app = web.Application(client_max_size=MAX_BODY)
    add_routes(app, services, on_answered)
    return app


def add_routes(app: web.Application, services: Services,
               on_answered: AnswerHook | None = None) -> None:
    app[SERVICES] = services
    app[HOOK] = on_answered
    app.router.add_get(r"/app/task/{assignment:\d{1,18}}", page)
    app.router.add_get(r"/app/task/{assignment:\d{1,18}}/task", task)
    app.router.add_get(r"/app/task/{assignment:\d{1,18}}/image", image)
    app.router.add_post(r"/app/task/{assignment:\d{1,18}}/answer", answer)
    app.router.add_get(r"/app/static/{name}", static)


def _reader(request: web.Request) -> Gettext:
    return gettext_for(language_for(request.query.get("lang")))


def _json(data: dict[str, object], status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=_HEADERS,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def page(request: web.Request) -> web.Response:
    assignment = int(request.match_info["assignment"])
    return web.Response(text=render_page(assignment, _reader(request)),
                        content_type="text/html", headers=_HEADERS)


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    return web.Response(body=_static_bytes(name), content_type=STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache",
                                 "X-Content-Type-Options": "nosniff"})


@cache
def _static_bytes(name: str) -> bytes:
    """A file of ``static/``, read from disk once per process (a few kilobytes)."""
    return (STATIC_DIR / name).read_bytes()


def _who(request: web.Request) -> WebAppUser:
    """The verified user, before anything else is read; 401 otherwise."""
    services = request.app[SERVICES]
    header = request.headers.get("Authorization", "")
    scheme, _space, init_data = header.partition(" ")
    try:
        if scheme.lower() != "tma":
            raise Refused("missing")
        return verify(init_data, services.config.telegram.token, services.clock.now())
    except Refused as refused:
        log.info("Mini App request refused: %s initData", refused.reason)
        raise web.HTTPUnauthorized(
            text=json.dumps({"ok": False, "outcome": "refused"}),
            content_type="application/json", headers=_HEADERS) from None


async def task(request: web.Request) -> web.Response:
    user = _who(request)
    services = request.app[SERVICES]
    found = await services.work.drawing_task(user.id, int(request.match_info["assignment"]))
    if found is None:
        return _json({"ok": False, "outcome": "gone"}, 404)
    _ = _reader(request)
    spec = found.project.spec
    return _json({
        "ok": True, "kind": spec.kind, "title": spec.title.get(_.language),
        "instructions": spec.instructions.get(_.language),
        "labels": [{"value": label.value, "name": label_name(label, _)}
                   for label in spec.labels],
        "min_points": spec.min_points, "max_points": spec.max_points,
        "ordered": spec.ordered})


async def image(request: web.Request) -> web.Response:
    user = _who(request)
    services = request.app[SERVICES]
    found = await services.work.drawing_task(user.id, int(request.match_info["assignment"]))
    if found is None or found.media is None:
        raise web.HTTPNotFound(headers=_HEADERS)
    data = await services.work.media_bytes(found.media.id)
    return web.Response(body=data, content_type=found.media.mime,
                        headers={**_HEADERS, "Cache-Control": "private, max-age=600"})


async def _drawing(request: web.Request) -> Drawing:
    """The body's ``drawing``, at most ``MAX_BODY`` bytes of JSON, or ``ShapeError``."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ShapeError(STRINGS["unreadable"])
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise ShapeError(STRINGS["unreadable"])
    try:
        payload = json.loads(body)
    except ValueError:
        raise ShapeError(STRINGS["unreadable"]) from None
    if not isinstance(payload, dict):
        raise ShapeError(STRINGS["unreadable"])
    return read_drawing(None, payload.get("drawing"))


async def answer(request: web.Request) -> web.Response:
    user = _who(request)
    services = request.app[SERVICES]
    _ = _reader(request)
    assignment = int(request.match_info["assignment"])
    try:
        drawing = await _drawing(request)
    except ShapeError as problem:
        return _json({"ok": False, "outcome": "invalid",
                      "message": _(problem.message, **problem.params)}, 400)
    try:
        result = await services.work.answer_drawing(user.id, assignment, drawing)
    except DatabaseBusy:
        return _json({"ok": False, "outcome": "busy", "message": _(STRINGS["busy"])}, 503)
    return await _answered(request, user, result, _)


_REFUSALS = {Outcome.FORGED: ("gone", 404), Outcome.NOT_OPEN: ("gone", 409),
             Outcome.ALREADY_ANSWERED: ("already_answered", 409),
             Outcome.EXPIRED: ("expired", 409)}


async def _answered(request: web.Request, user: WebAppUser, result: AnswerResult,
                    _: Gettext) -> web.Response:
    if result.outcome is Outcome.INVALID:
        message = (_(result.problem.message, **result.problem.params)
                   if result.problem else _(STRINGS["unreadable"]))
        return _json({"ok": False, "outcome": "invalid", "message": message}, 400)
    if result.outcome is not Outcome.ACCEPTED:
        outcome, status = _REFUSALS.get(result.outcome, ("failed", 400))
        return _json({"ok": False, "outcome": outcome, "message": _(STRINGS[outcome])},
                     status)
    hook = request.app[HOOK]
    if hook is not None:
        try:
            await hook(user.id, result, _)
        except Exception:  # the answer is saved whatever the chat does next
            log.exception("could not show the next task in chat to %s", user.id)
    correct = result.feedback.correct if result.feedback else None
    return _json({"ok": True, "outcome": "accepted", "message": _(STRINGS["saved"]),
                  "correct": correct})
