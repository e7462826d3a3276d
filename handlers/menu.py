"""The commands a person has, said once: Telegram's command menu, /help and /whoami.

The menu a phone shows comes from ``setMyCommands``: one list per interface language for
everybody, and for each operator a list of their own (worker and operator commands) in
that chat's scope. Telegram refuses a chat scope for someone who has never written to the
bot, so an operator's menu is set again when they send /start or /help.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError

from bot.i18n import LANGUAGES, N_, Gettext, gettext_for
from bot.wiring import Services
from handlers import say
from handlers.common import Context

log = logging.getLogger(__name__)

#: every command a worker has, in the order the menu and /help show them
WORKER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("tasks", N_("Find a task")),
    ("quick", N_("Tasks for a few minutes, then a summary")),
    ("wallet", N_("Your money and the payout minimum")),
    ("history", N_("Latest changes to your money")),
    ("payout", N_("Ask to be paid out")),
    ("top", N_("This week's top earners")),
    ("settings", N_("Language, bigger text, time zone, notifications")),
    ("help", N_("How it works")),
    ("whoami", N_("Your Telegram id")),
)
#: what only ``[operators] ids`` may do; added to an operator's own menu and /help
OPERATOR_COMMANDS: tuple[tuple[str, str], ...] = (
    ("dashboard", N_("A sign-in link to the web dashboard")),
    ("projects", N_("Every project at a glance")),
    ("project", N_("One project in detail: /project NAME")),
    ("newproject", N_("Make a new project step by step")),
    ("pause", N_("Stop handing out a project: /pause NAME")),
    ("resume", N_("Open a paused project again: /resume NAME")),
    ("export", N_("Download a project's answers: /export NAME")),
    ("worker", N_("One worker's standing: /worker ID")),
    ("broadcast", N_("Tell workers that tasks wait: /broadcast NAME")),
    ("payouts", N_("Payout requests waiting for you")),
    ("reject", N_("Refuse a payout: /reject ID reason")),
)


def commands(_: Gettext, operator: bool = False) -> list[BotCommand]:
    listed = WORKER_COMMANDS + (OPERATOR_COMMANDS if operator else ())
    return [BotCommand(name, _(description)) for name, description in listed]


async def set_menus(bot: Bot, services: Services) -> None:
    """At start-up: the menu in every language, then each operator's own.

    A menu is a convenience: a failure is logged and the bot starts anyway.
    """
    for language in LANGUAGES:
        try:
            await bot.set_my_commands(commands(gettext_for(language)),
                                      language_code=None if language == "en" else language)
        except TelegramError:
            log.warning("could not set the command menu for %s", language, exc_info=True)
    for operator_id in services.config.operators.ids:
        worker = await services.workers.get(operator_id)
        await set_operator_menu(bot, operator_id, gettext_for(worker.language if worker
                                                              else "en"))


async def set_operator_menu(bot: Bot, operator_id: int, _: Gettext) -> bool:
    """Worker and operator commands in the operator's private chat, in their language."""
    try:
        return await bot.set_my_commands(commands(_, operator=True),
                                         scope=BotCommandScopeChat(operator_id))
    except TelegramError as exc:  # "chat not found" until they write to the bot
        log.info("no operator menu for %s yet (%s); it is set at their /start", operator_id,
                 exc)
        return False


def is_operator(update: Update, context: Context) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.services.config.operators.ids


async def refresh_operator_menu(update: Update, context: Context, _: Gettext) -> None:
    """An operator who writes to the bot gets their menu (again, in their language now)."""
    user = update.effective_user
    if user is not None and is_operator(update, context):
        await set_operator_menu(context.bot, user.id, _)


def command_lines(_: Gettext, listed: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"/{name} — {_(description)}" for name, description in listed)


async def help_command(update: Update, context: Context) -> None:
    """/help: what tapwork is, every command in plain words, and how to get bigger text."""
    message = update.effective_message
    if message is None:
        return
    _ = await context.gettext()
    parts = [
        _("tapwork gives you small tasks: read a sentence, look at a picture or listen to a "
          "short recording, then tap the answer that fits."),
        _("Tap /tasks to see the projects open to you. Each task shows its pay."),
        _("Not sure? Tap Skip and you will get another task. Tap Stop to take a break; "
          "nothing is lost."),
        _("For recordings, type what you hear and send it. If you cannot make it out, tap "
          "the button that says so."),
        _("Text too small? Tap /settings, then “Bigger text”: tasks come as large print "
          "with one big button per line."),
        _("Your commands:") + "\n" + command_lines(_, WORKER_COMMANDS),
    ]
    if is_operator(update, context):
        parts.append(_("Operator commands:") + "\n" + command_lines(_, OPERATOR_COMMANDS))
        await refresh_operator_menu(update, context, _)
    await say.reply(message, "\n\n".join(parts))


async def whoami(update: Update, context: Context) -> None:
    """/whoami: the number an operator puts in ``[operators] ids``."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    _ = await context.gettext()
    lines = [_("Your Telegram id: {id}", id=user.id)]
    if is_operator(update, context):
        lines.append(_("You are an operator of this bot."))
    await say.reply(message, "\n".join(lines))
