"""Money on the phone: /wallet, /history, /payout, /top, and notices about pay."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.domain.money import currency_name, format_money, format_rate
from bot.domain.notice_kinds import (
    BonusGiven,
    PayoutApproved,
    PayoutRejected,
    UnitSettled,
)
from bot.domain.records import LedgerEntry
from bot.i18n import Gettext, gettext_for
from bot.render.charts import bar_chart
from bot.services.ledger import AUTO, DISCOUNTED, EXAM
from handlers import say
from handlers.callbacks import Payout, TopName
from handlers.common import Context
from handlers.keyboards import button, read_tap

log = logging.getLogger(__name__)
#: the notices about money this module words
MoneyNotice = UnitSettled | BonusGiven | PayoutApproved | PayoutRejected


def money(amount: int, currency: str, _: Gettext) -> str:
    return format_money(amount, currency, _.language)


async def wallet(update: Update, context: Context) -> None:
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    _ = await context.gettext()
    w = await context.services.payroll.wallet(user.id)
    if not w.balances:
        await say.reply(message, _("Nothing earned yet. Tap /tasks to start."))
        return
    lines: list[say.Text] = [say.html("<b>{}</b>", _("Your wallet"))]
    for b in w.balances:
        c = b.currency
        minimum = w.minimum.get(c, 0)
        ready = (_("Ready to pay out: {amount}", amount=money(b.available, c, _))
                 if b.available >= minimum else
                 _("Ready to pay out: {amount} of the {minimum} minimum",
                   amount=money(b.available, c, _), minimum=money(minimum, c, _)))
        lines += ["", say.html("<b>{}</b>", currency_name(c, _.language)),
                  _("Waiting for checks: {amount}", amount=money(b.pending, c, _)),
                  ready,
                  _("Payout requested: {amount}", amount=money(b.reserved, c, _)),
                  _("Paid out: {amount}", amount=money(b.paid, c, _)),
                  _("Earned today: {amount} · this week: {week}",
                    amount=money(w.earned_today.get(c, 0), c, _),
                    week=money(w.earned_week.get(c, 0), c, _))]
        rate = w.hourly.get(c)
        if rate is not None:
            lines.append(_("Your real hourly rate: {amount} per hour of tasks",
                           amount=format_rate(rate, c, _.language)))
        if w.bonuses.get(c):
            lines.append(_("Bonuses so far: {amount} (on top of the hourly rate)",
                           amount=money(w.bonuses[c], c, _)))
    # the button only when a payout can be made: no confirm-then-refuse
    markup = InlineKeyboardMarkup([[button(_("💸 Request a payout"),
                                           Payout(message.message_id))]]
                                  ) if w.payable() else None
    await say.reply(message, say.join(lines), reply_markup=markup)
    if w.chart_currency is not None:
        top = max(v for _day, v in w.chart)
        png = bar_chart([v for _day, v in w.chart], [d[8:] for d, _v in w.chart],
                        money(top, w.chart_currency, gettext_for("en")) if top else "")
        await say.reply_media(message, "photo", InputFile(png, filename="earnings.png"),
                              caption=_("Earned in the last 14 days ({currency})",
                                        currency=currency_name(w.chart_currency,
                                                               _.language)))


def entry_text(entry: LedgerEntry, _: Gettext) -> str:
    """One line of /history: what happened and why."""
    amount = money(entry.amount, entry.currency, _)
    detail = entry.detail
    if entry.kind == "earning":
        return _("{amount} for an answer (waiting for checks)", amount=amount)
    if entry.kind == "release":
        if entry.reason == AUTO:
            return _("{amount} paid: checks took too long, so it was paid in full",
                     amount=amount)
        return _("{amount} checked and ready to pay out", amount=amount)
    if entry.kind == "discount":
        wrong = len(detail.get("wrong", []))
        return _("{amount}: {wrong} of {count} answers did not match the accepted answer",
                 amount=amount, wrong=wrong, count=detail.get("answers", 0))
    if entry.kind == "bonus":
        if entry.reason == "skill":
            return _("{amount} skill bonus for accurate work", amount=amount)
        if entry.reason == EXAM:
            return _("{amount} for {count} answers of a passed exam", amount=amount,
                     count=detail.get("answers", 0))
        return _("{amount} bonus: {reason}", amount=amount, reason=detail.get("text", ""))
    if entry.kind == "payout":
        if entry.bucket == "paid":
            return _("{amount} paid out", amount=amount)
        return _("{amount} requested for payout", amount=amount)
    return _("{amount} returned: payout refused ({reason})", amount=amount,
             reason=detail.get("text", ""))


async def history(update: Update, context: Context) -> None:
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    _ = await context.gettext()
    entries = await context.services.payroll.history(user.id)
    if not entries:
        await say.reply(message, _("Nothing earned yet. Tap /tasks to start."))
        return
    lines = [_("Latest changes to your money:")]
    lines += [f"{e.created_at[:10]} · {entry_text(e, _)}" for e in entries]
    await say.reply(message, "\n".join(lines))


async def payout(update: Update, context: Context) -> None:
    """/payout shows the amount and asks to confirm; the button carries this message's id
    so a double tap makes one request. Below the minimum it says how far, and asks
    nothing."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    _ = await context.gettext()
    w = await context.services.payroll.wallet(user.id)
    payable = w.payable()
    short = [_("{amount} is ready; payouts start at {minimum}, so {missing} more to go.",
               amount=money(b.available, b.currency, _),
               minimum=money(w.minimum[b.currency], b.currency, _),
               missing=money(w.minimum[b.currency] - b.available, b.currency, _))
             for b in w.balances if b.available > 0 and b not in payable]
    if not payable:
        # below the minimum there is nothing to confirm: say how far, offer no button
        await say.reply(message, "\n".join(short)
                                 or _("There is nothing ready to pay out yet."))
        return
    amounts = ", ".join(money(b.available, b.currency, _) for b in payable)
    await say.reply(
        message,
        "\n".join([_("Request a payout of {amounts}?", amounts=amounts), *short]),
        reply_markup=InlineKeyboardMarkup([[button(_("✅ Yes, pay me out"),
                                                    Payout(message.message_id))]]))


async def confirm_payout(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _ = await context.gettext()
    tapped = await read_tap(query, Payout, _)
    if tapped is None:
        return
    payroll = context.services.payroll
    results = await payroll.request_payout(user.id, f"req:{user.id}:{tapped.message}")
    lines = []
    for r in results:
        if r.payout is not None:
            lines.append(_("Payout requested: {amount}. An operator will check it; you will "
                           "get a message when it is paid.",
                           amount=money(r.payout.amount, r.payout.currency, _)))
        elif r.refused == "below_minimum":
            lines.append(_("{amount} is below the smallest payout of {minimum}.",
                           amount=money(r.available, r.currency, _),
                           minimum=money(r.minimum, r.currency, _)))
        else:
            lines.append(_("There is nothing ready to pay out yet."))
    await query.answer()
    await say.edit_query(query, "\n".join(lines))


async def top(update: Update, context: Context) -> None:
    """/top: this week's and this month's top earners of each open project.

    Nobody's name appears unless they opted in; others show as "Worker #1234".
    """
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    _ = await context.gettext()
    services = context.services
    now = services.clock.now()
    week = now - timedelta(days=7)
    month = now - timedelta(days=30)
    lines: list[say.Text] = []
    for project, _waiting in await services.catalog.open_projects():
        for title, since in ((_("This week"), week), (_("This month"), month)):
            rows = await services.payroll.top(project, since, 5)
            if not rows:
                continue
            lines.append(say.html("<b>{project}</b> · {title}",
                                  project=project.spec.title.get(_.language), title=title))
            for rank, (worker_id, name, earned) in enumerate(rows, start=1):
                label = name or _("Worker #{number}", number=worker_id % 10000)
                lines.append(f"{rank}. {label} · {money(earned, project.spec.currency, _)}")
            lines.append("")
    worker = await context.worker()
    shown = worker is not None and worker.display_name is not None
    toggle = (button(_("🙈 Hide my name"), TopName("hide")) if shown
              else button(_("🙋 Show my name"), TopName("show")))
    await say.reply(message, say.join(lines).strip() or _("No earnings yet this month."),
                    reply_markup=InlineKeyboardMarkup([[toggle]]))


async def top_choice(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _ = await context.gettext()
    tapped = await read_tap(query, TopName, _)
    if tapped is None:
        return
    show = tapped.choice == "show"
    await context.services.workers.set_display_name(
        user.id, (user.first_name or "").strip()[:32] if show else None)
    await query.answer(_("Your name is shown on /top now.") if show
                       else _("Your name is hidden on /top now."))


def notice_text(body: MoneyNotice, _: Gettext,
                name: Callable[[str], str] = lambda value: value,
                title: str | None = None) -> str:
    """The message for one notice about money; ``name`` shows a stored answer as its
    label, ``title`` is the project's title in the reader's language.

    Plain text (``handlers.notices`` delivers it as it is), within one message: an item is
    recalled by its first words, and a reason too long to fit ends in "…"."""
    return say.shorten(_notice_text(body, _, name, title), say.TEXT_LIMIT)


def _notice_text(body: MoneyNotice, _: Gettext, name: Callable[[str], str],
                 title: str | None) -> str:
    if isinstance(body, UnitSettled):
        return _settled_text(body, _, name, title or body.project_slug or "—")
    c = body.currency
    if isinstance(body, BonusGiven):
        return _("You got a bonus of {amount}: {reason}", amount=money(body.amount, c, _),
                 reason=body.reason)
    if isinstance(body, PayoutApproved):
        return _("Your payout of {amount} was approved and paid.",
                 amount=money(body.amount, c, _))
    return "\n".join([_("Your payout of {amount} was not made. The money is back in your "
                         "wallet.", amount=money(body.amount, c, _)),
                       _("Reason: {reason}", reason=body.reason)])


def _settled_text(p: UnitSettled, _: Gettext, name: Callable[[str], str],
                  project: str) -> str:
    c = p.currency
    if p.outcome == DISCOUNTED:
        lines = [project,
                 _("Your last {count} answers here were checked: {right} matched the "
                   "accepted answer, {needed}% were needed for full pay. You were paid "
                   "{paid} of {value}.", count=p.answers,
                   right=p.answers - len(p.wrong),
                   needed=round(p.needed * 100), paid=money(p.paid, c, _),
                   value=money(p.value, c, _)),
                 _("Judged wrong:")]
        for w in p.wrong:
            lines.append(_("• {text} — you said {answer}; accepted: {accepted}",
                           text=say.shorten(w.text or w.item, say.RECALL),
                           answer=name(w.answer), accepted=name(w.accepted)))
        return "\n".join(lines)
    if p.outcome == AUTO:
        return _("{amount} from {project} is ready to pay out: the checks took too long, "
                 "so it was paid in full.", amount=money(p.paid, c, _), project=project)
    text = _("{amount} from {project} is ready to pay out: your answers passed the "
             "checks.", amount=money(p.paid, c, _), project=project)
    if p.bonus:
        text += "\n" + _("Skill bonus: {amount}", amount=money(p.bonus, c, _))
    return text
