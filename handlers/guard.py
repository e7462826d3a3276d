"""Checks every update passes before any handler sees it (a ``TypeHandler`` in group -1).

Two rules hold for a whole class of input, so they live here once rather than in each
handler: an edited message never runs a command or counts as an answer (Telegram sends
the edit as a new update, and an operator fixing a typo in ``/broadcast`` must not send
it twice), and nothing that leads to work or a quiz reaches anyone who has not agreed to
the consent notice, whatever callback data a custom client sends.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers import say
from handlers.common import Context, gettext_of, services_of
from handlers.consent import ask_consent

#: callback data that leads to a task or a quiz: task buttons, project picks, the list,
#: quiz starts and answers, "I read it", "tell me", "1 more minute", payouts
_WORK_DATA = re.compile(r"^(?:[apusxt]|qs?|rl|nt|qk|po)(?::|$)")
#: a project picked from a list or a quiz start: agreeing goes straight on to it
_PROJECT = re.compile(r"^(?:p|qs):([0-9]{1,12})$")
#: commands that lead to work or money; /start, /help, /settings and the operators' own
#: commands are open to anyone (the operators' check their own rights)
_WORK_COMMANDS = ("/tasks", "/quick", "/wallet", "/history", "/payout", "/top")


def _leads_to_work(update: Update) -> bool:
    if update.callback_query is not None:
        return bool(_WORK_DATA.match(update.callback_query.data or ""))
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
            _ = await gettext_of(update, context)
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
    services = services_of(context)
    if user.id in services.config.operators.ids:
        return  # an operator's typing (/newproject) is not work
    worker = await services.workers.get(user.id)
    if worker is not None and worker.consent_at is not None:
        consented.add(user.id)
        return
    if worker is None:
        await services.workers.seen(user.id, user.first_name or "", user.language_code)
    _ = await gettext_of(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    picked = _PROJECT.match(update.callback_query.data or "") if update.callback_query else None
    await ask_consent(update, _, int(picked.group(1)) if picked else None)
    raise ApplicationHandlerStop
