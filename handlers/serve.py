"""Starting work in a project: the consent check, then the next task or why there is none.

Its own module because the work loop, the quiz (after passing) and a /quick burst all
start work here; in ``handlers.work`` it made those three import each other.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update

from bot.i18n import Gettext, language_name, language_names
from bot.services.leasing import Empty, Served
from handlers.callbacks import Notify, ReadsLanguage, Tasks
from handlers.common import Context
from handlers.consent import ask_consent
from handlers.keyboards import button, column, other_projects
from handlers.quiz_text import gate_text
from handlers.render import show_task, show_text


async def begin(update: Update, context: Context, project_name: str) -> None:
    """Deep link ``/start NAME``: straight into the project."""
    user = update.effective_user
    if user is None or not await consented(update, context, None):
        return
    served = await context.services.work.start(user.id, project_name)
    await present(update, context, served, await context.gettext())


async def begin_by_id(update: Update, context: Context, project_id: int,
                      replace: Message | None = None, note: str = "") -> None:
    """A project button, a passed quiz or a /quick burst: the project by its id."""
    user = update.effective_user
    if user is None or not await consented(update, context, project_id):
        return
    served = await context.services.work.start_by_id(user.id, project_id)
    await present(update, context, served, await context.gettext(), replace,
                  note)


async def consented(update: Update, context: Context, project_id: int | None) -> bool:
    """No work before consent: asks for it (remembering the project) when missing."""
    user = update.effective_user
    assert user is not None
    worker = await context.worker()
    if worker is not None and worker.consent_at is not None:
        return True
    if worker is None:
        context.remember(await context.services.workers.seen(
            user.id, user.first_name or "", user.language_code))
    await ask_consent(update, await context.gettext(), project_id)
    return False


async def present(update: Update, context: Context, served: Served, _: Gettext,
                  replace: Message | None = None, note: str = "",
                  senior: bool | None = None, answered: bool = False) -> None:
    """The next task, or a plain sentence saying why there is none. ``answered``: this
    follows an answer (else the worker is starting)."""
    chat = update.effective_chat
    assert chat is not None
    if served.task is not None:
        await show_task(context, chat.id, served.task, _, replace, note, senior)
        return
    if served.empty is Empty.GATED and served.project and served.access:
        text, gate_markup = gate_text(served.project, served.access, _)
        await show_text(context, chat.id, f"{note}\n\n{text}" if note else text, gate_markup,
                        replace)
        return
    if served.empty is Empty.LANGUAGE and served.project:
        await ask_language(context, chat.id, served, _, replace)
        return
    rows = []
    if served.empty is Empty.NO_PROJECT:
        text = _("Sorry, there is no such project.")
    elif served.empty is Empty.PAUSED:
        text = _("This project is paused right now. Please look again later.")
    elif answered or served.project is None:
        # right after an answer: the worker has done what was there for them
        text = _("You have done every task in this project for now. Thank you!")
    else:
        # nobody is sent into practice or an exam for a project with nothing for them
        text = _("There are no tasks for you in this project right now.")
        rows.append([button(_("🔔 Tell me when there are"), Notify(served.project.id))])
    if note:
        text = f"{note}\n\n{text}"
    rows.append([other_projects(_)])
    await show_text(context, chat.id, text, InlineKeyboardMarkup(rows), replace)


async def ask_language(context: Context, chat_id: int, served: Served, _: Gettext,
                       replace: Message | None) -> None:
    """Asked once, when every item left is in a language the worker has not declared."""
    assert served.project is not None
    text = _("This project's texts are in {languages}. Can you read them?",
             languages=language_names(served.languages, _.language))
    project_id = served.project.id
    rows = column([*(button(_("✅ Yes, I read {language}",
                              language=language_name(lang, _.language)),
                            ReadsLanguage(project_id, lang)) for lang in served.languages),
                   button(_("✗ No"), Tasks())])
    await show_text(context, chat_id, text, InlineKeyboardMarkup(rows), replace)
