"""Operator commands in chat. Only ``[operators] ids`` may use them; anyone else is told
so and nothing happens."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import wraps

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.errors import TapworkError
from bot.money import format_money
from handlers.common import Context, gettext_of, services_of

Handler = Callable[[Update, Context], Awaitable[None]]
_APPROVE = re.compile(r"^pa:(\d{1,12})$")


def operators_only(handler: Handler) -> Handler:
    """Refuse anyone not in ``[operators] ids`` before the handler runs at all."""

    @wraps(handler)
    async def guarded(update: Update, context: Context) -> None:
        user = update.effective_user
        if user is not None and user.id in services_of(context).config.operators.ids:
            await handler(update, context)
            return
        _ = await gettext_of(update, context)
        text = _("Sorry, only operators may do that.")
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)

    return guarded


@operators_only
async def payouts(update: Update, context: Context) -> None:
    """/payouts: the open requests, each with an approve button; /reject ID REASON."""
    message = update.effective_message
    if message is None:
        return
    _ = await gettext_of(update, context)
    open_requests = await services_of(context).payroll.payouts("requested")
    if not open_requests:
        await message.reply_text(_("No payout requests are waiting."))
        return
    lines = [_("Payout requests waiting (reject with /reject ID reason):")]
    rows = []
    for p in open_requests:
        amount = format_money(p.amount, p.currency, _.language)
        lines.append(f"#{p.id} · {p.worker_id} · {amount} · {p.requested_at[:16]}")
        rows.append([InlineKeyboardButton(_("✅ Approve #{id} ({amount})", id=p.id,
                                            amount=amount), callback_data=f"pa:{p.id}")])
    await message.reply_text("\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


@operators_only
async def approve(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    _ = await gettext_of(update, context)
    match = _APPROVE.match(query.data or "")
    if match is None:
        await query.answer(_("Sorry, this button does not work any more."))
        return
    try:
        payout = await services_of(context).payroll.decide_payout(int(match.group(1)), True)
    except TapworkError:
        await query.answer(_("This payout was already decided."))
        return
    await query.answer(_("Payout #{id} approved.", id=payout.id))


@operators_only
async def reject(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    _ = await gettext_of(update, context)
    args = context.args or []
    if len(args) < 2 or not args[0].isdigit():
        await message.reply_text(_("Use: /reject ID reason"))
        return
    try:
        payout = await services_of(context).payroll.decide_payout(
            int(args[0]), False, " ".join(args[1:]))
    except TapworkError:
        await message.reply_text(_("No open payout request #{id}.", id=args[0]))
        return
    await message.reply_text(_("Payout #{id} rejected; the money went back to the worker "
                               "with your reason.", id=payout.id))
