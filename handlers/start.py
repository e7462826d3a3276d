"""First contact: greeting and consent."""

from __future__ import annotations

from telegram import Update

from handlers import say, serve, work
from handlers.common import Context, gettext_of, services_of
from handlers.consent import ask_consent
from handlers.inputs import whole_number
from handlers.menu import refresh_operator_menu


async def start(update: Update, context: Context) -> None:
    """``/start`` or the deep link ``/start NAME``: record the worker, ask consent once."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    services = services_of(context)
    worker = await services.workers.seen(user.id, user.first_name or "", user.language_code)
    _ = await gettext_of(update, context)
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
    services = services_of(context)
    await services.workers.seen(user.id, user.first_name or "", user.language_code)
    await services.workers.consent(user.id)
    data = query.data or ""
    if data.endswith(":big"):
        await services.workers.update(user.id, senior=1)
        data = data.removesuffix(":big")
    _ = await gettext_of(update, context)
    await query.answer(_("Thank you!"))
    tail = data.partition(":")[2]
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    project_id = whole_number(tail)
    if project_id is not None:
        await serve.begin_by_id(update, context, project_id)
    else:
        await work.tasks(update, context)


async def _project_id(context: Context, name: str) -> int | None:
    try:
        return (await services_of(context).catalog.get(name)).id
    except LookupError:
        return None
