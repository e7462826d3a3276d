"""Telegram adapters: parse the update, make one domain call, render the reply."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import (
    bursts,
    callbacks,
    dashboard,
    errors,
    guard,
    menu,
    newproject,
    operator,
    quiz,
    settings,
    start,
    timezone,
    wallet,
    work,
)
from handlers.common import App


def register(application: App) -> None:
    # first, for every update: no edited message runs anything; no work before consent
    application.add_handler(TypeHandler(Update, guard.check), group=-1)
    private = filters.ChatType.PRIVATE
    # task buttons are nearly every update, so they are matched first; every pattern
    # comes from its kind in handlers/callbacks.py, and none overlaps another
    # (tests/test_callbacks.py), so the order below is for speed, never for meaning
    application.add_handler(CallbackQueryHandler(work.callback, pattern=work.TASK_PATTERN))
    # then: while an operator is in /newproject, their texts belong to it
    application.add_handler(newproject.conversation())
    application.add_handler(CommandHandler("start", start.start, filters=private))
    application.add_handler(CommandHandler("help", menu.help_command, filters=private))
    application.add_handler(CommandHandler("whoami", menu.whoami, filters=private))
    application.add_handler(CommandHandler("tasks", work.tasks, filters=private))
    application.add_handler(CommandHandler("wallet", wallet.wallet, filters=private))
    application.add_handler(CommandHandler("history", wallet.history, filters=private))
    application.add_handler(CommandHandler("payout", wallet.payout, filters=private))
    application.add_handler(CommandHandler("top", wallet.top, filters=private))
    application.add_handler(CommandHandler("settings", settings.settings, filters=private))
    application.add_handler(CommandHandler("quick", bursts.quick, filters=private))
    application.add_handler(CallbackQueryHandler(bursts.more,
                                                 pattern=callbacks.MoreMinute.pattern))
    application.add_handler(CallbackQueryHandler(settings.reads,
                                                 pattern=settings.READS_PATTERN))
    application.add_handler(CallbackQueryHandler(timezone.callback,
                                                 pattern=callbacks.TimeZone.pattern))
    application.add_handler(CallbackQueryHandler(settings.change,
                                                 pattern=settings.CHANGE_PATTERN))
    application.add_handler(CallbackQueryHandler(wallet.confirm_payout,
                                                 pattern=callbacks.Payout.pattern))
    application.add_handler(CallbackQueryHandler(wallet.top_choice,
                                                 pattern=callbacks.TopName.pattern))
    application.add_handler(CommandHandler("dashboard", dashboard.dashboard, filters=private))
    application.add_handler(CommandHandler("payouts", operator.payouts, filters=private))
    application.add_handler(CommandHandler("reject", operator.reject, filters=private))
    application.add_handler(CallbackQueryHandler(operator.approve,
                                                 pattern=callbacks.Approve.pattern))
    application.add_handler(CallbackQueryHandler(operator.payouts_page,
                                                 pattern=callbacks.PayoutsPage.pattern))
    for name, handler in (("projects", operator.projects), ("project", operator.project),
                          ("pause", operator.pause), ("resume", operator.resume),
                          ("export", operator.export), ("worker", operator.worker),
                          ("broadcast", operator.broadcast)):
        application.add_handler(CommandHandler(name, handler, filters=private))
    application.add_handler(CallbackQueryHandler(operator.worker_button,
                                                 pattern=operator.WORKER_PATTERN))
    application.add_handler(MessageHandler(private & filters.Document.ALL, operator.document))
    application.add_handler(CallbackQueryHandler(start.consent,
                                                 pattern=callbacks.Consent.pattern))
    application.add_handler(CallbackQueryHandler(quiz.callback, pattern=quiz.QUIZ_PATTERN))
    application.add_handler(CallbackQueryHandler(work.reads_button,
                                                 pattern=callbacks.ReadsLanguage.pattern))
    application.add_handler(CallbackQueryHandler(work.notify_button,
                                                 pattern=callbacks.Notify.pattern))
    application.add_handler(CallbackQueryHandler(work.unknown_button))
    application.add_handler(MessageHandler(
        private & filters.TEXT & ~filters.COMMAND, work.typed_answer))
    application.add_handler(MessageHandler(
        private & (filters.VOICE | filters.AUDIO | filters.PHOTO | filters.VIDEO
                   | filters.Sticker.ALL), work.not_text))
    application.add_error_handler(errors.on_error)
