"""First contact: greeting and consent."""

from __future__ import annotations

from telegram import Update

from handlers import say, serve, work
from handlers.callbacks import Consent
from handlers.common import Context
from handlers.consent import ask_consent
from handlers.keyboards import read_tap
from handlers.menu import refresh_operator_menu


async def start(update: Update, context: Context) -> None:
    """``/start`` or the deep link ``/start NAME``: record the worker, ask consent once."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    services = context.services
    worker = await services.workers.seen(user.id, user.first_name or "", user.language_code)
    context.remember(worker)
    _ = await context.gettext()
    await refresh_operator_menu(update, context, _)
    project_name = context.args[0] if context.args else None
    if worker.consent_at is None:
        project_id = await _project_id(context, project_name) if project_name else None
        greeting = _("Hello, {name}! tapwork pays you for small tasks you can do in a spare "
                     "minute.", name=user.first_name or "")
        await ask_consent(update, _, project_id, greeting)
        return
    if project_name:
        await serve.begin(update, context, project_name)
        return
    await say.reply(message, _("Welcome back, {name}!", name=user.first_name or ""))
    await work.tasks(update, context)


async def consent(update: Update, context: Context) -> None:
    """The "I agree" button; a second tap is harmless."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    tapped = await read_tap(query, Consent, await context.gettext())
    if tapped is None:
        return
    services = context.services
    await services.workers.seen(user.id, user.first_name or "", user.language_code)
    await services.workers.consent(user.id)
    if tapped.big:
        context.remember(await services.workers.update(user.id, senior=1))
    else:
        context.forget()  # consent changed it: the work that follows reads it once
    _ = await context.gettext()
    await query.answer(_("Thank you!"))
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    if tapped.project is not None:
        await serve.begin_by_id(update, context, tapped.project)
    else:
        await work.tasks(update, context)


async def _project_id(context: Context, name: str) -> int | None:
    try:
        return (await context.services.catalog.get(name)).id
    except LookupError:
        return None
