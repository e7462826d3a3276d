"""Consent: nobody works before they have read what is kept and agreed to it."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.i18n import Gettext
from handlers import say
from handlers.callbacks import Consent
from handlers.keyboards import button, column


def consent_text(_: Gettext) -> str:
    return "\n".join([
        _("Before you start, please read this:"),
        _("• We keep your Telegram id, your name, your language and your answers."),
        _("• Your answers become training data for the people who run each project."),
        _("• We keep a record of what you earn and what is paid out."),
        _("• You can stop at any time."),
    ])


async def ask_consent(update: Update, _: Gettext, project_id: int | None,
                      greeting: str = "") -> None:
    """Show the notice with one button; the button remembers a deep-linked project."""
    message = update.effective_message
    if message is None:
        return
    project = project_id or None
    text = f"{greeting}\n\n{consent_text(_)}" if greeting else consent_text(_)
    # one tap agrees; the second button also turns on bigger text (senior mode)
    await say.reply(message, text, reply_markup=InlineKeyboardMarkup(column([
        button(_("✅ I agree"), Consent(project)),
        button(_("✅ I agree, with bigger text"), Consent(project, big=True))])))
