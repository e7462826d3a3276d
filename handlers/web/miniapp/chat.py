"""After a drawing is saved in the Mini App, the chat moves on: the next task (or why
there is none) arrives as a new message, with "✓ Saved" and any gold feedback above it.

A tap edits the next task into the message it came from; a Mini App closes, and the
answer reached the web server, not the chat, so there is no message to edit. The old
task's button is taken away (its page would only say the task is answered).
"""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest

from bot.domain.money import format_money
from bot.i18n import Gettext
from bot.services.work import AnswerResult
from handlers import say
from handlers.common import App
from handlers.context import TapworkContext
from handlers.keyboards import other_projects
from handlers.quiz_text import feedback_note
from handlers.render import show_task, show_text
from handlers.web.miniapp import AnswerHook


def next_task_in_chat(application: App) -> AnswerHook:
    """The Mini App's ``on_answered`` for a running bot (``handlers.web.miniapp``)."""

    async def show(worker_id: int, result: AnswerResult, _: Gettext) -> None:
        served = result.served
        if served is None:
            return
        context = TapworkContext(application, chat_id=worker_id, user_id=worker_id)
        context.remember(result.worker)
        notes = []
        if served.project is not None:
            spec = served.project.spec
            notes.append(_("✓ Saved · +{amount} · {count} today",
                           amount=format_money(spec.reward_micros, spec.currency,
                                               _.language), count=result.today))
        if result.feedback is not None and served.project is not None:
            picture = None if result.feedback.correct else \
                await context.services.work.drawn_feedback(served.project, result.feedback)
            if picture is None:
                notes.append(feedback_note(served.project, result.feedback, _))
            else:  # where the boxes should have been, drawn: a photo of its own
                caption = "\n".join((feedback_note(served.project, result.feedback, _),
                                      _("Green: the right answer. Red, dashed: yours.")))
                await say.send_media(application.bot, worker_id, "photo",
                                     InputFile(picture, filename="right.jpg"), caption, None)
        note = "\n".join(notes)
        if result.answered_in is not None:
            chat_id, message_id = result.answered_in
            with contextlib.suppress(BadRequest):
                await application.bot.edit_message_reply_markup(chat_id, message_id,
                                                                reply_markup=None)
        if served.task is not None:
            senior = result.worker is not None and result.worker.senior
            await show_task(context, worker_id, served.task, _, note=note, senior=senior)
            return
        text = _("You have done every task in this project for now. Thank you!")
        await show_text(context, worker_id, f"{note}\n\n{text}" if note else text,
                        InlineKeyboardMarkup([[other_projects(_)]]))

    return show
