"""How a simulated worker behaves: join a project, answer until the work runs out.

Shared by ``tapwork demo``, the end-to-end tests and the benchmarks so that all three
exercise the bot the way a person on a phone does: through buttons and messages only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.sim.phone import JSON, Phone
from handlers.callbacks import Answer, ReadsLanguage, Skip, Stop, Unreadable, parse_any

#: the buttons of an open task: each carries its assignment id (read with the bot's own
#: codec, so a simulated worker reads exactly what the bot writes)
_TASK_BUTTONS = (Answer, Unreadable, Skip, Stop)

#: picks the button to tap (by its text) for a task, given the task's text and buttons;
#: return None to type an answer instead (transcription), via ``type_answer``
Chooser = Callable[[str, list[str]], str | None]


def task_id(message: JSON | None) -> int | None:
    """The assignment shown in a message, or None when it is not an open task."""
    if not message:
        return None
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            tapped = parse_any(button.get("callback_data"), _TASK_BUTTONS)
            if isinstance(tapped, Answer | Unreadable | Skip | Stop):
                return tapped.assignment
    return None


def open_task(phone: Phone) -> JSON | None:
    """The newest message, if it is a task waiting for an answer."""
    last = phone.last
    return last if task_id(last) is not None else None


async def join(phone: Phone, project: str, timeout: float = 10.0, *,
               reads_it: bool = True) -> JSON:
    """``/start PROJECT`` through the deep link, agree to the notice, get the first task.

    Returns the bot's first message after consent: a task, or why there is none. When the
    bot asks whether they read the project's language, a person who ``reads_it`` says yes
    (the first language offered); otherwise that question is returned.
    """
    await phone.send(f"/start {project}")
    # wait_for returns whatever its predicate does: here always a message
    notice: JSON = await phone.wait_for(lambda p: p.last, timeout)
    if task_id(notice) is not None:
        return notice  # consent was given before
    if not _asks_language(notice):
        await phone.tap(phone.buttons(notice)[0][0], notice)
        notice = await phone.wait_for(
            lambda p: p.last if p.last and p.last["message_id"] != notice["message_id"]
            else None, timeout)
    if not reads_it or not _asks_language(notice):
        return notice
    version = phone.version
    await phone.tap(phone.buttons(notice)[0][0], notice)
    await phone.wait_change(version, timeout)
    first: JSON = await phone.wait_for(
        lambda p: p.last if not _asks_language(p.last) else None, timeout)
    return first


def _asks_language(message: JSON | None) -> bool:
    """ "Can you read English?": the bot's question when every item left is in a language
    the worker has not declared."""
    for row in ((message or {}).get("reply_markup") or {}).get("inline_keyboard", []):
        if any(ReadsLanguage.parse(b.get("callback_data")) for b in row):
            return True
    return False


async def answer_tasks(phone: Phone, choose: Chooser,
                       type_answer: Callable[[str], str] | None = None, *,
                       limit: int = 10_000, timeout: float = 10.0,
                       on_answer: Callable[[Phone, Any], None] | None = None,
                       think: Callable[[], float] | None = None) -> int:
    """Answer tasks until none is left (or ``limit``); returns how many were answered.

    ``think`` gives the seconds a person takes to read each task; without it answers come
    as fast as the bot allows (benchmarks), which the too-fast rule would flag in a
    project with enough answers.
    """
    answered = 0
    while answered < limit:
        message = open_task(phone)
        if message is None:
            return answered
        if think is not None:
            await asyncio.sleep(think())
        current = task_id(message)
        text = phone.text(message) or ""
        label = choose(text, [b for row in phone.buttons(message) for b in row])
        if label is None:
            assert type_answer is not None, "a typed task needs type_answer"
            await phone.send(type_answer(text))
        else:
            await phone.tap(label, message)

        def moved_on(p: Phone, shown: int | None = current) -> bool:
            return task_id(p.last) != shown

        await phone.wait_for(moved_on, timeout)
        answered += 1
        if on_answer is not None:
            on_answer(phone, current)
    return answered
