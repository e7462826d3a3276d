"""Operator commands in chat. Only ``[operators] ids`` may use them; anyone else is told
so and nothing happens."""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from functools import wraps
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest

from bot.domain.errors import TapworkError, TextTooLong
from bot.domain.inventory import describe, languages_text
from bot.domain.money import format_money, format_rate
from bot.domain.projects import Project, parse_project, toml_problem
from bot.domain.qualify import GOLD, OPERATOR, TOO_FAST
from bot.domain.wording import shown_in
from bot.i18n import N_, Gettext, language_name
from bot.intake.importer import format_report
from bot.intake.loader import ImportFailed
from bot.render.charts import bar_chart
from handlers import say
from handlers.callbacks import Approve, PayoutsPage, Reinstate, Suspend, any_of, parse_any
from handlers.common import Context, Handler
from handlers.inputs import whole_number
from handlers.keyboards import button, read_tap, stale
from handlers.quiz_text import quiz_cost

#: the Bot API's getFile limit
MAX_DOWNLOAD = 20 * 1024 * 1024
#: the buttons under /worker ID: one handler
WORKER_BUTTONS = (Suspend, Reinstate)
WORKER_PATTERN = any_of(*WORKER_BUTTONS)
#: payout requests on one page of /payouts: ten lines and ten buttons stay readable, and
#: far inside Telegram's 4096 characters and 100 buttons
PAYOUTS_PAGE = 10
#: stored codes an operator reads in their own language, not as the code
STATUS_NAMES = {"open": N_("open"), "paused": N_("paused")}
SUSPENSION_REASONS = {GOLD: N_("too few check questions right"),
                      TOO_FAST: N_("answers too fast"), OPERATOR: N_("by an operator")}


def status_name(status: str, _: Gettext) -> str:
    return _(STATUS_NAMES[status]) if status in STATUS_NAMES else status


def suspension_reason(reason: str, _: Gettext) -> str:
    return _(SUSPENSION_REASONS[reason]) if reason in SUSPENSION_REASONS else reason


def operators_only(handler: Handler) -> Handler:
    """Refuse anyone not in ``[operators] ids`` before the handler runs at all."""

    @wraps(handler)
    async def guarded(update: Update, context: Context) -> Any:
        user = update.effective_user
        if user is not None and user.id in context.services.config.operators.ids:
            return await handler(update, context)
        _ = await context.gettext()
        text = _("Sorry, only operators may do that.")
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_message is not None:
            await say.reply(update.effective_message, text)
        return None

    return guarded


@operators_only
async def payouts(update: Update, context: Context) -> None:
    """/payouts: the open requests, ten at a time, each with an approve button; /reject
    ID REASON refuses one."""
    message = update.effective_message
    if message is None:
        return
    _ = await context.gettext()
    text, markup = await _payouts_page(context, _, 0)
    await say.reply(message, text, reply_markup=markup)


@operators_only
async def payouts_page(update: Update, context: Context) -> None:
    """The ◀️ and ▶️ buttons under /payouts: another page, in the same message."""
    query = update.callback_query
    if query is None:
        return
    _ = await context.gettext()
    tapped = await read_tap(query, PayoutsPage, _)
    if tapped is None:
        return
    await query.answer()
    text, markup = await _payouts_page(context, _, tapped.page)
    await say.edit_query(query, text, reply_markup=markup)


async def _payouts_page(context: Context, _: Gettext, page: int
                        ) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the waiting requests; a page past the end (requests were decided
    since the button was made) shows the last one."""
    waiting = await context.services.payroll.payouts("requested")
    if not waiting:
        return _("No payout requests are waiting."), None
    pages = -(-len(waiting) // PAYOUTS_PAGE)
    page = min(page, pages - 1)
    lines = [_("Payout requests waiting (reject with /reject ID reason):")]
    if pages > 1:
        lines.append(_("Page {page} of {pages}, {count} requests in all.", page=page + 1,
                       pages=pages, count=len(waiting)))
    rows = []
    for p in waiting[page * PAYOUTS_PAGE:(page + 1) * PAYOUTS_PAGE]:
        amount = format_money(p.amount, p.currency, _.language)
        lines.append(f"#{p.id} · {p.worker_id} · {amount} · {p.requested_at[:16]}")
        rows.append([button(_("✅ Approve #{id} ({amount})", id=p.id, amount=amount),
                             Approve(p.id))])
    turn = []
    if page > 0:
        turn.append(button(_("◀️ Previous {count}", count=PAYOUTS_PAGE),
                           PayoutsPage(page - 1)))
    if page < pages - 1:
        turn.append(button(_("Next {count} ▶️", count=PAYOUTS_PAGE), PayoutsPage(page + 1)))
    if turn:
        rows.append(turn)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


@operators_only
async def approve(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    _ = await context.gettext()
    tapped = await read_tap(query, Approve, _)
    if tapped is None:
        return
    try:
        payout = await context.services.payroll.decide_payout(tapped.payout, True)
    except TapworkError:
        await query.answer(_("This payout was already decided."))
        return
    await query.answer(_("Payout #{id} approved.", id=payout.id))


@operators_only
async def reject(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    _ = await context.gettext()
    args = context.args or []
    payout_id = whole_number(args[0]) if args else None
    if len(args) < 2 or payout_id is None:
        await say.reply(message, _("Use: /reject ID reason"))
        return
    try:
        payout = await context.services.payroll.decide_payout(
            payout_id, False, " ".join(args[1:]))
    except TapworkError:
        await say.reply(message, _("No open payout request #{id}.", id=args[0]))
        return
    await say.reply(message, _("Payout #{id} rejected; the money went back to the worker "
                                 "with your reason.", id=payout.id))


async def _project_arg(update: Update, context: Context, usage: str
                       ) -> tuple[Message, Gettext, Project] | None:
    """The project named in ``/command NAME``, or None after telling the operator why."""
    message = update.effective_message
    if message is None:
        return None
    _ = await context.gettext()
    if not context.args:
        await say.reply(message, usage)
        return None
    try:
        return message, _, await context.services.catalog.get(context.args[0])
    except LookupError:
        await say.reply(message, _("No project named {name}.", name=context.args[0]))
        return None


@operators_only
async def projects(update: Update, context: Context) -> None:
    """/projects: every project with its progress, one line each."""
    message = update.effective_message
    if message is None:
        return
    _ = await context.gettext()
    stats = await context.services.reports.stats()
    if not stats:
        await say.reply(message, _("No projects yet. Send a project TOML file, or /newproject."))
        return
    blocks = []
    for s in stats:
        lines = [f"{s.name} · {status_name(s.status, _)}",
                 describe(s.contents, _)]  # the words and counts of an import's report
        if s.contents.by_language:
            lines.append(_("By language: {languages}",
                           languages=languages_text(s.contents.by_language, _)))
        lines.append(_("{done} of {tasks} tasks done, {answers} answers, {workers} active "
                       "workers", done=s.done, tasks=s.contents.tasks, answers=s.answers,
                       workers=s.active_workers))
        blocks.append("\n".join(lines))
    # many projects make several messages, split between projects (handlers.say)
    await say.reply(message, "\n\n".join(blocks))


@operators_only
async def project(update: Update, context: Context) -> None:
    """/project NAME: progress, pace, quality, money, with a chart of answers per hour."""
    _ = await context.gettext()
    found = await _project_arg(update, context, _("Use: /project NAME"))
    if found is None:
        return
    message, _, chosen = found
    name = chosen.spec.name
    services = context.services
    stats = next(s for s in await services.reports.stats() if s.name == name)
    activity, values, hours = await services.reports.activity(chosen)
    c = chosen.spec.currency
    gold = (_("{share}% right", share=round(100 * activity.gold_correct / activity.gold_answers))
            if activity.gold_answers else _("no gold answers yet"))
    lines = [
        f"{chosen.spec.title.get(_.language)} ({name}, {status_name(stats.status, _)})",
        _("Progress: {done} of {tasks} tasks done, {open} in progress.", done=stats.done,
          tasks=stats.items, open=stats.in_progress),
        _("Answers: {answers} in all, {hour} in the last hour; {workers} active workers.",
          answers=stats.answers, hour=activity.answers_last_hour, workers=stats.active_workers),
        _("Gold accuracy: {gold}.", gold=gold),
        _("Median time per task: {seconds} s.",
          seconds=round(activity.median_seconds, 1) if activity.median_seconds else "-"),
        _("Money: {spent} spent, {committed} committed.",
          spent=format_money(stats.spent, c, _.language),
          committed=format_money(stats.committed, c, _.language)),
    ]
    if chosen.spec.quiz is not None:
        lines.append(quiz_cost(stats, chosen.spec.quiz.paid, _))
    if stats.median_hourly is not None:
        lines.append(_("Median real hourly rate of its workers: {rate}.",
                       rate=format_rate(stats.median_hourly, c, _.language)))
    if stats.below_min_hourly:
        lines.append(_("⚠️ That is below this project's minimum hourly rate."))
    await say.reply(message, "\n".join(lines))
    png = bar_chart(values, [h if i % 3 == 0 else "" for i, h in enumerate(hours)],
                    str(max(values)) if any(values) else "")
    await say.reply_media(message, "photo", InputFile(png, filename="progress.png"),
                          caption=_("Answers per hour, last 24 hours (UTC)"))


async def _set_status(update: Update, context: Context, status: str) -> None:
    _ = await context.gettext()
    found = await _project_arg(update, context, _("Use: /pause NAME or /resume NAME"))
    if found is None:
        return
    message, _, chosen = found
    name = chosen.spec.name
    changed = await context.services.catalog.set_status(name, status)
    if status == "paused":
        text = _("{name} is paused.", name=name) if changed else \
            _("{name} was already paused.", name=name)
    else:
        text = _("{name} is open; workers who can take it will hear about it.", name=name) \
            if changed else _("{name} was already open.", name=name)
    await say.reply(message, text)


@operators_only
async def pause(update: Update, context: Context) -> None:
    await _set_status(update, context, "paused")


@operators_only
async def resume(update: Update, context: Context) -> None:
    await _set_status(update, context, "open")


@operators_only
async def export(update: Update, context: Context) -> None:
    """/export NAME: the JSONL export as a document (gzipped when only that fits)."""
    _ = await context.gettext()
    found = await _project_arg(update, context, _("Use: /export NAME"))
    if found is None:
        return
    message, _, chosen = found
    name = chosen.spec.name
    result = await context.services.reports.export_for_chat(name)
    if result.data is None:
        await say.reply(message, _("The export of {name} is over Telegram's 50 MB limit "
                                   "even compressed: run tapwork export --project {name} "
                                   "on the server instead.", name=name))
        return
    caption = (_("{count} items, compressed with gzip to fit Telegram's 50 MB limit",
                 count=result.items) if result.compressed
               else _("{count} items", count=result.items))
    await say.reply_media(message, "document",
                          InputFile(result.data, filename=result.filename), caption=caption)


@operators_only
async def worker(update: Update, context: Context) -> None:
    """/worker ID: a worker's standing per project, with suspend and reinstate buttons."""
    message = update.effective_message
    if message is None:
        return
    _ = await context.gettext()
    args = context.args or []
    worker_id = whole_number(args[0]) if args else None
    if worker_id is None:
        await say.reply(message, _("Use: /worker ID"))
        return
    await _show_worker(update, context, worker_id)


async def _show_worker(update: Update, context: Context, worker_id: int,
                       edit: bool = False) -> None:
    services = context.services
    _ = await context.gettext()
    person = await services.workers.get(worker_id)
    chat = update.effective_chat
    if person is None or chat is None:
        if update.effective_message is not None:
            await say.reply(update.effective_message, _("No worker with id {id}.", id=worker_id))
        return
    standing = await services.workers.standing(worker_id)
    lines = [_("Worker {id} ({name}), {state}.", id=worker_id, name=person.first_name,
               state=_("active") if person.active else _("blocked the bot"))]
    rows = []
    for item in standing:
        gold = (f"{item.gold_correct}/{item.gold_total}" if item.gold_total else "-")
        state = (_("suspended ({reason})", reason=suspension_reason(item.suspended, _))
                 if item.suspended else _("working"))
        lines.append(_("{project}: {answers} answers, gold {gold}, {state}",
                       project=item.project, answers=item.answers, gold=gold, state=state))
        if item.suspended:
            rows.append([button(_("▶️ Reinstate in {project}", project=item.project),
                                Reinstate(worker_id, item.project_id))])
        else:
            rows.append([button(_("⏸ Suspend in {project}", project=item.project),
                                Suspend(worker_id, item.project_id))])
    markup = InlineKeyboardMarkup(rows) if rows else None
    if edit and update.callback_query is not None:
        await say.edit_query(update.callback_query, "\n".join(lines), reply_markup=markup)
    else:
        await say.send(context.bot, chat.id, "\n".join(lines), reply_markup=markup)


@operators_only
async def worker_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    _ = await context.gettext()
    tapped = parse_any(query.data, WORKER_BUTTONS)
    services = context.services
    assert tapped is None or isinstance(tapped, Suspend | Reinstate)
    chosen = await services.catalog.get_by_id(tapped.project) if tapped else None
    if tapped is None or chosen is None:
        await stale(query, _)
        return
    changed = await services.work.set_suspended(tapped.worker, chosen,
                                                isinstance(tapped, Suspend), OPERATOR)
    await query.answer(_("Done.") if changed else _("Nothing to change."))
    await _show_worker(update, context, tapped.worker, edit=True)


@operators_only
async def broadcast(update: Update, context: Context) -> None:
    """/broadcast NAME [text]: tell everyone who can take NAME that tasks wait."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    _ = await context.gettext()
    args = context.args or []
    if not args:
        await say.reply(message, _("Use: /broadcast NAME [text]"))
        return
    text = message.text.split(maxsplit=2)[2] if message.text and len(args) > 1 else None
    services = context.services
    try:
        started, audience = await services.broadcasts.start(args[0], text,
                                                            operator_chat=chat.id)
    except LookupError:
        await say.reply(message, _("No project named {name}.", name=args[0]))
        return
    except TextTooLong as exc:
        await say.reply(message, _("That text is {length} characters long, and a message "
                                     "holds at most {limit}. Nothing was sent: please "
                                     "shorten it and send the broadcast again.",
                                     length=exc.length, limit=exc.limit))
        return
    lines = [_("Broadcast #{id} to {count} workers started.", id=started.id,
               count=audience.total)]
    lines += [_("Reading {language}: {count}", language=language_name(lang, _.language),
                count=n) for lang, n in audience.by_language.items()]
    await say.reply(message, "\n".join(lines))
    context.bot_data["broadcasts"].launch(started)


@operators_only
async def document(update: Update, context: Context) -> None:
    """A document: items with caption ``/import NAME``, or a project ``.toml``."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    _ = await context.gettext()
    doc = message.document
    if doc.file_size and doc.file_size > MAX_DOWNLOAD:
        await say.reply(message, _("That file is larger than 20 MB, the most a bot can "
                                     "download. Split it, or use tapwork import."))
        return
    caption = (message.caption or "").split()
    name = (doc.file_name or "").lower()
    if caption[:1] == ["/import"] and len(caption) == 2:
        await _import(update, context, caption[1])
    elif name.endswith(".toml") or caption[:1] == ["/newproject"]:
        await _project_file(update, context)
    else:
        await say.reply(message, _("Send items with the caption /import NAME, or a project "
                                     "file ending in .toml."))


async def _download(update: Update, context: Context) -> bytes:
    assert update.effective_message is not None and update.effective_message.document
    file = await update.effective_message.document.get_file()
    return bytes(await file.download_as_bytearray())


async def _import(update: Update, context: Context, project_name: str) -> None:
    """Import in chat: a progress message edited as lines are checked, then the report."""
    message = update.effective_message
    assert message is not None and message.document is not None
    _ = await context.gettext()
    services = context.services
    try:
        await services.catalog.get(project_name)
    except LookupError:
        await say.reply(message, _("No project named {name}.", name=project_name))
        return
    status = await say.reply(message, _("Checking {file}…", file=message.document.file_name))
    data = await _download(update, context)
    done = {"lines": 0}
    loop = asyncio.get_running_loop()

    def progress(lines: int) -> None:  # called from the import's worker thread
        loop.call_soon_threadsafe(done.__setitem__, "lines", lines)

    task = asyncio.create_task(services.catalog.import_bytes(
        project_name, data, message.document.file_name or "items", progress))
    shown = 0
    while not task.done():
        await asyncio.wait({task}, timeout=1.5)
        if not task.done() and done["lines"] != shown:
            shown = done["lines"]
            with contextlib.suppress(BadRequest):
                await say.edit(status, _("Checking {file}… {lines} lines so far",
                                        file=message.document.file_name, lines=shown))
    try:
        result = task.result()
    except ImportFailed as exc:  # not the file's lines: busy, or the database is full
        await say.edit(status, _("{file}: the import stopped.",
                                 file=message.document.file_name)
                       + "\n  " + _(exc.message, **exc.params))
        return
    # a report of many problems lists the first ones: one message, cut with "…"
    await say.edit(status, say.clip(format_report(result, reader=_), say.TEXT_LIMIT))


async def _project_file(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    _ = await context.gettext()
    data = await _download(update, context)
    try:
        spec = parse_project(tomllib.loads(data.decode("utf-8")))
        saved, created = await context.services.catalog.save(spec)
    except tomllib.TOMLDecodeError as exc:
        await say.reply(message, _("That is not a valid TOML file: {why}",
                                   why=shown_in(toml_problem(exc), _)))
        return
    except UnicodeDecodeError as exc:
        await say.reply(message, _("That is not a valid TOML file: {why}", why=str(exc)))
        return
    except TapworkError as exc:
        await say.reply(message, _("The project was not saved: {why}", why=exc.render(_)))
        return
    await say.reply(
        message,
        (_("Project {name} created.", name=spec.name) if created
         else _("Project {name} updated.", name=spec.name)) + "\n"
        + _("Add items: send a JSONL, CSV or ZIP file with the caption /import {name}.",
            name=saved.spec.name))
