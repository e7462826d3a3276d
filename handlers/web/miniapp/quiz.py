"""Quiz questions of boxes and points projects in the Mini App: the same page, picture
and drawing as a task, answered through the quiz service.

Routes::

    GET  /app/quiz/{attempt}/{position}?lang=ko   the page
    GET  /app/quiz/{attempt}/{position}/task      the question's words and kind
    GET  /app/quiz/{attempt}/{position}/image     its picture
    POST /app/quiz/{attempt}/{position}/answer    {"drawing": [...]}

As for a task, every call but the page proves who sends it with the Mini App's
``initData`` first (``calls.who``: 401 and nothing read otherwise), and the question
must be the one now asked in that worker's own open attempt (``Quizzes.drawing_question``;
anything else is ``404``, as a question already answered). The drawing is read once at
the edge and handed to ``Quizzes.answer``, which records it once: a replayed request
finds the question answered (``409``) and changes nothing.

``on_quiz`` then moves the chat on (``chat.next_question_in_chat``): the right answer
drawn over the picture after a practice question, the next question, or the exam's
result with each missed question drawn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.domain.errors import DatabaseBusy
from bot.domain.shapes import ShapeError
from bot.i18n import N_, Gettext
from bot.services.quiz import Question, QuizOutcome, QuizStep
from handlers.web.miniapp import calls
from handlers.web.miniapp.calls import HEADERS, SERVICES, answer_json, reader, who
from handlers.web.miniapp.page import render_page

#: moves the chat on after a quiz question's drawing: (worker id, step, reader)
QuizHook = Callable[[int, QuizStep, Gettext], Awaitable[None]]
QUIZ_HOOK: web.AppKey[QuizHook | None] = web.AppKey("tapwork_miniapp_quiz_hook")
#: said by the page once a quiz drawing is saved (it then closes)
SAVED = N_("Saved. Please go back to the chat.")
_PATH = r"/app/quiz/{attempt:\d{1,18}}/{position:\d{1,4}}"
_REFUSALS = {QuizOutcome.ALREADY_ANSWERED: ("already_answered", 409),
             QuizOutcome.STALE: ("gone", 409), QuizOutcome.FORGED: ("gone", 404),
             QuizOutcome.NO_QUIZ: ("gone", 409)}


def add_routes(app: web.Application, on_quiz: QuizHook | None) -> None:
    app[QUIZ_HOOK] = on_quiz
    app.router.add_get(_PATH, page)
    app.router.add_get(_PATH + "/task", task)
    app.router.add_get(_PATH + "/image", image)
    app.router.add_post(_PATH + "/answer", answer)


def _where(request: web.Request) -> tuple[int, int]:
    return int(request.match_info["attempt"]), int(request.match_info["position"])


async def page(request: web.Request) -> web.Response:
    attempt, position = _where(request)
    return web.Response(text=render_page(f"/app/quiz/{attempt}/{position}",
                                         reader(request)),
                        content_type="text/html", headers=HEADERS)


async def _question(request: web.Request) -> Question | None:
    user = who(request)
    attempt, position = _where(request)
    return await request.app[SERVICES].quizzes.drawing_question(user.id, attempt, position)


async def task(request: web.Request) -> web.Response:
    found = await _question(request)
    if found is None:
        return answer_json({"ok": False, "outcome": "gone"}, 404)
    return answer_json(calls.describe(found.project, reader(request)))


async def image(request: web.Request) -> web.Response:
    found = await _question(request)
    return await calls.picture(request, found.media if found else None)


async def answer(request: web.Request) -> web.Response:
    user = who(request)
    services = request.app[SERVICES]
    _ = reader(request)
    attempt, position = _where(request)
    try:
        drawing = await calls.drawing(request)
    except ShapeError as problem:
        return calls.refused_drawing(problem, _)
    try:
        step = await services.quizzes.answer(user.id, attempt, position, drawing=drawing)
    except DatabaseBusy:
        return calls.refused("busy", 503, _)
    if step.outcome is QuizOutcome.INVALID:
        return calls.refused_drawing(step.problem, _)
    if step.outcome not in (QuizOutcome.NEXT, QuizOutcome.TRAINING_DONE,
                            QuizOutcome.FINISHED):
        return calls.refused(*_REFUSALS.get(step.outcome, ("failed", 400)), _)
    await calls.tell_chat(request.app[QUIZ_HOOK], user.id, step, _)
    return answer_json({"ok": True, "outcome": "accepted", "message": _(SAVED)})
