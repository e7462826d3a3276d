"""``/dashboard`` in chat: an operator's single-use sign-in link to the web dashboard.

Anyone not in ``[operators] ids`` gets what any unknown command gets: nothing, so the
command does not even tell a stranger that a dashboard exists. The link is sent with
link previews off, since a preview would be fetched by Telegram's servers and spend it.
"""

from __future__ import annotations

from telegram import LinkPreviewOptions, Update

from bot.services.signin import LINK_MINUTES
from handlers import say
from handlers.common import Context

#: the path under ``web.public_url`` that redeems a link (handlers/web/dashboard)
LOGIN_PATH = "/dashboard/login"


async def dashboard(update: Update, context: Context) -> None:
    user, chat = update.effective_user, update.effective_chat
    services = context.services
    if user is None or chat is None or not services.signin.is_operator(user.id):
        return
    _ = await context.gettext()
    base = services.config.web.public_url
    if not base:
        await say.send(context.bot, chat.id, _(
            "The dashboard is not set up yet: put its address in {key} in the config file "
            "and restart the bot.", key="web.public_url"))
        return
    link = await services.signin.issue(user.id)
    url = f"{base}{LOGIN_PATH}?token={link.token}"
    text = say.join([_("Your dashboard link. It works once, within {minutes} minutes, and "
                       "signs in whoever opens it: do not forward it.", minutes=LINK_MINUTES),
                     url])
    await say.send(context.bot, chat.id, text,
                   link_preview_options=LinkPreviewOptions(is_disabled=True))
