"""The Mini App for boxes and points tasks: its page, its task, its picture, its answer.

Routes (all under ``/app``)::

    GET  /app/task/{assignment}?lang=ko   the page (no task data in it: anyone may load it)
    GET  /app/task/{assignment}/task      the task: title, instructions, labels, kind
    GET  /app/task/{assignment}/image     the picture
    POST /app/task/{assignment}/answer    {"drawing": [...]} -> {"ok", "outcome", ...}
    GET  /app/static/{name}               the page's script and stylesheet

and the same four for a quiz question of a boxes or points project,
``/app/quiz/{attempt}/{position}…`` (``handlers.web.miniapp.quiz``).

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
next task in the chat, since the Mini App closes and there is no message to edit;
``on_quiz`` does the same for quiz questions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path

from aiohttp import web

from bot.domain.errors import DatabaseBusy
from bot.domain.shapes import ShapeError
from bot.i18n import Gettext
from bot.services.work import AnswerResult, Outcome
from bot.wiring import Services
from handlers.web.initdata import WebAppUser
from handlers.web.miniapp import calls, quiz
from handlers.web.miniapp.calls import (
    HEADERS,
    MAX_BODY,
    SERVICES,
    answer_json,
    describe,
    reader,
    refused_drawing,
    who,
)
from handlers.web.miniapp.page import STRINGS, render_page

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"miniapp.js": "text/javascript", "miniapp.css": "text/css"}
#: shows the next task in chat after an accepted answer: (worker id, result, reader)
AnswerHook = Callable[[int, AnswerResult, Gettext], Awaitable[None]]
HOOK: web.AppKey[AnswerHook | None] = web.AppKey("tapwork_miniapp_hook")


def miniapp(services: Services, on_answered: AnswerHook | None = None,
            on_quiz: quiz.QuizHook | None = None) -> web.Application:
    """An aiohttp application serving the Mini App under ``/app``; run it alone or add
    its routes to the bot's web server with :func:`add_routes`."""
    app = web.Application(client_max_size=MAX_BODY)
    add_routes(app, services, on_answered, on_quiz)
    return app


def add_routes(app: web.Application, services: Services,
               on_answered: AnswerHook | None = None,
               on_quiz: quiz.QuizHook | None = None) -> None:
    """``on_answered``: after a task's drawing (``chat.next_task_in_chat``);
    ``on_quiz``: after a quiz question's (``chat.next_question_in_chat``)."""
    app[SERVICES] = services
    app[HOOK] = on_answered
    quiz.add_routes(app, on_quiz)
    app.router.add_get(r"/app/task/{assignment:\d{1,18}}", page)
    app.router.add_get(r"/app/task/{assignment:\d{1,18}}/task", task)
    app.router.add_get(r"/app/task/{assignment:\d{1,18}}/image", image)
    app.router.add_post(r"/app/task/{assignment:\d{1,18}}/answer", answer)
    app.router.add_get(r"/app/static/{name}", static)


async def page(request: web.Request) -> web.Response:
    assignment = int(request.match_info["assignment"])
    return web.Response(text=render_page(f"/app/task/{assignment}", reader(request)),
                        content_type="text/html", headers=HEADERS)


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


async def task(request: web.Request) -> web.Response:
    user = who(request)
    services = request.app[SERVICES]
    found = await services.work.drawing_task(user.id, int(request.match_info["assignment"]))
    if found is None:
        return answer_json({"ok": False, "outcome": "gone"}, 404)
    return answer_json(describe(found.project, reader(request)))


async def image(request: web.Request) -> web.Response:
    user = who(request)
    services = request.app[SERVICES]
    found = await services.work.drawing_task(user.id, int(request.match_info["assignment"]))
    return await calls.picture(request, found.media if found else None)


async def answer(request: web.Request) -> web.Response:
    user = who(request)
    services = request.app[SERVICES]
    _ = reader(request)
    assignment = int(request.match_info["assignment"])
    try:
        drawing = await calls.drawing(request)
    except ShapeError as problem:
        return refused_drawing(problem, _)
    try:
        result = await services.work.answer_drawing(user.id, assignment, drawing)
    except DatabaseBusy:
        return calls.refused("busy", 503, _)
    return await _answered(request, user, result, _)


_REFUSALS = {Outcome.FORGED: ("gone", 404), Outcome.NOT_OPEN: ("gone", 409),
             Outcome.ALREADY_ANSWERED: ("already_answered", 409),
             Outcome.EXPIRED: ("expired", 409)}


async def _answered(request: web.Request, user: WebAppUser, result: AnswerResult,
                    _: Gettext) -> web.Response:
    if result.outcome is Outcome.INVALID:
        return refused_drawing(result.problem, _)
    if result.outcome is not Outcome.ACCEPTED:
        return calls.refused(*_REFUSALS.get(result.outcome, ("failed", 400)), _)
    await calls.tell_chat(request.app[HOOK], user.id, result, _)
    correct = result.feedback.correct if result.feedback else None
    return answer_json({"ok": True, "outcome": "accepted", "message": _(STRINGS["saved"]),
                        "correct": correct})
