"""What every call of the Mini App does first, for tasks and quiz questions alike: prove
who sends it (``initData``), read a drawing once at the edge, answer in JSON with the
page's headers, in the reader's language.

Kept apart from the routes (``handlers.web.miniapp`` for tasks, ``.quiz`` for quiz
questions) so both use one copy of the checks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from bot.domain.projects import Project
from bot.domain.records import Media
from bot.domain.shapes import Drawing, ShapeError, read_drawing
from bot.i18n import Gettext, gettext_for, language_for
from bot.wiring import Services
from handlers.render import label_name
from handlers.web.initdata import Refused, WebAppUser, verify
from handlers.web.miniapp.page import STRINGS

log = logging.getLogger(__name__)
Result = TypeVar("Result")

#: the largest answer accepted: 100 boxes with long labels is about 12 KB
MAX_BODY = 64 * 1024
SERVICES = web.AppKey("tapwork_services", Services)
#: the page may be framed by Telegram's web clients, nobody else
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' https://telegram.org; "
                               "img-src 'self' blob:; style-src 'self'; "
                               "frame-ancestors https://web.telegram.org https://*.telegram.org",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def reader(request: web.Request) -> Gettext:
    return gettext_for(language_for(request.query.get("lang")))


def answer_json(data: dict[str, object], status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=HEADERS,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))


def who(request: web.Request) -> WebAppUser:
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
            content_type="application/json", headers=HEADERS) from None


async def drawing(request: web.Request) -> Drawing:
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


def describe(project: Project, _: Gettext) -> dict[str, object]:
    """What the page needs to know of a task or a quiz question: its words and kind."""
    spec = project.spec
    return {"ok": True, "kind": spec.kind, "title": spec.title.get(_.language),
            "instructions": spec.instructions.get(_.language),
            "labels": [{"value": label.value, "name": label_name(label, _)}
                       for label in spec.labels],
            "min_points": spec.min_points, "max_points": spec.max_points,
            "ordered": spec.ordered}


def refused_drawing(problem: ShapeError | None, _: Gettext) -> web.Response:
    """A drawing the edge or the project refused: 400, saying why."""
    message = (_(problem.message, **problem.params) if problem is not None
               else _(STRINGS["unreadable"]))
    return answer_json({"ok": False, "outcome": "invalid", "message": message}, 400)


def refused(outcome: str, status: int, _: Gettext) -> web.Response:
    """An answer the service turned down: its outcome for the page's script, and the
    sentence the page shows (``STRINGS``), in the reader's language."""
    return answer_json({"ok": False, "outcome": outcome, "message": _(STRINGS[outcome])},
                       status)


async def picture(request: web.Request, media: Media | None) -> web.Response:
    """The picture of a task or quiz question the caller may see (404 without one)."""
    if media is None:
        raise web.HTTPNotFound(headers=HEADERS)
    data = await request.app[SERVICES].work.media_bytes(media.id)
    return web.Response(body=data, content_type=media.mime,
                        headers={**HEADERS, "Cache-Control": "private, max-age=600"})


async def tell_chat(hook: Callable[[int, Result, Gettext], Awaitable[None]] | None,
                    user_id: int, result: Result, _: Gettext) -> None:
    """Move the chat on after an answer from the page (the next task, the next quiz
    question). The answer is already saved, so a failure here is logged, not refused."""
    if hook is None:
        return
    try:
        await hook(user_id, result, _)
    except Exception:
        log.exception("could not move the chat on for %s after an answer", user_id)
