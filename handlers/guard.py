"""Checks every update passes before any handler sees it (a ``TypeHandler`` in group -1).

Two rules hold for a whole class of input, so they live here once rather than in each
handler: an edited message never runs a command or counts as an answer (Telegram sends
the edit as a new update, and an operator fixing a typo in ``/broadcast`` must not send
it twice), and nothing that leads to work or a quiz reaches anyone who has not agreed to
the consent notice, whatever callback data a custom client sends.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers import say
from handlers.callbacks import (
    Answer,
    MoreMinute,
    Notify,
    Payout,
    Pick,
    QuizAnswer,
    QuizStart,
    ReadsLanguage,
    Skip,
    Stop,
    Tasks,
    Unreadable,
    parse_any,
)
from handlers.common import Context
from handlers.consent import ask_consent

#: buttons that lead to a task or a quiz: task buttons, project picks, the list, quiz
#: starts and answers, "I read it", "tell me", "1 more minute", payouts (anything
#: malformed reaches no handler but the "does not work any more" answer)
_WORK_BUTTONS = (Answer, Unreadable, Skip, Stop, Pick, Tasks, QuizStart, QuizAnswer,
                 ReadsLanguage, Notify, MoreMinute, Payout)
#: commands that lead to work or money; /start, /help, /settings and the operators' own
#: commands are open to anyone (the operators' check their own rights)
_WORK_COMMANDS = ("/tasks", "/quick", "/wallet", "/history", "/payout", "/top")


def _leads_to_work(update: Update) -> bool:
    if update.callback_query is not None:
        return parse_any(update.callback_query.data, _WORK_BUTTONS) is not None
    message = update.message
    if message is None or message.chat.type != "private":
        return False
    text = message.text or ""
    if text.startswith("/"):
        return text.split()[0].split("@")[0] in _WORK_COMMANDS
    return bool(text)  # a typed answer


async def check(update: object, context: Context) -> None:
    """Stop edited messages, and ask for consent before anything leads to work."""
    if not isinstance(update, Update):
        return
    if update.edited_message is not None:
        if update.edited_message.chat.type == "private" and update.effective_user:
            _ = await context.gettext()
            await say.reply(
                update.edited_message,
                _("Edited messages are not read. Please send a new message instead."))
        raise ApplicationHandlerStop
    user = update.effective_user
    if user is None or not _leads_to_work(update):
        return
    consented: set[int] = context.bot_data.setdefault("consented", set())
    if user.id in consented:  # consent is never withdrawn: no read on every tap
        return
    services = context.services
    if user.id in services.config.operators.ids:
        return  # an operator's typing (/newproject) is not work
    worker = await context.worker()  # kept on the context: the handler reads it no more
    if worker is not None and worker.consent_at is not None:
        consented.add(user.id)
        return
    if worker is None:
        context.remember(await services.workers.seen(user.id, user.first_name or "",
                                                     user.language_code))
    _ = await context.gettext()
    query = update.callback_query
    if query is not None:
        await query.answer()
    picked = parse_any(query.data, (Pick, QuizStart)) if query is not None else None
    await ask_consent(update, _, picked.project if isinstance(picked, Pick | QuizStart)
                      else None)
    raise ApplicationHandlerStop
