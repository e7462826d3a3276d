"""The baseline for ``bench/loop.py``: a bare python-telegram-bot app that does no work.

    python -m bench.bare_app --token T --api-base-url URL --file-base-url URL
                             [--http aiohttp|httpx]

It answers every callback query and edits the tapped message into the "next task" with a
fresh inline keyboard, the same two Bot API calls tapwork makes per answer, but with no
database, no translations and no domain logic. Its throughput on the same stand-in and
the same machine is what PTB + HTTP alone can do, so tapwork's throughput divided by it
says how much tapwork itself costs.

The builder settings that matter for speed are tapwork's: concurrent updates (imported from
``bot.app``), ``AIORateLimiter`` with throttling off (tapwork runs with ``max_rate = 0`` in
the benchmark), the same HTTP client and connection pools (``bot.app.http_requests``;
``--http httpx`` is PTB as it ships), and the same 10 s long poll. Logging stays
at WARNING: a minimal bot logs nothing per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import logging
import os
import re
import signal

os.environ.setdefault("PTB_TIMEDELTA", "true")  # as bot.app does: PTB 22's opt-in

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

import bot.app as tapwork_app

#: the callback data tapwork puts on a label button: ``a:<assignment>:<label>``
_DATA = re.compile(r"^a:(\d+):(\d+)$")
LABELS = ("😊 Positive", "😐 Neutral", "🙁 Negative")
#: a long-poll timeout equal to ``bot.app.running``'s default
POLL_TIMEOUT = 10


def keyboard(task: int) -> InlineKeyboardMarkup:
    """Tapwork's task layout: one button per label, then Skip and Stop on one row."""
    rows = [[InlineKeyboardButton(label, callback_data=f"a:{task}:{i}")]
            for i, label in enumerate(LABELS)]
    rows.append([InlineKeyboardButton("⏭ Skip", callback_data=f"s:{task}"),
                 InlineKeyboardButton("⏹ Stop", callback_data=f"x:{task}")])
    return InlineKeyboardMarkup(rows)


def task_text(task: int) -> str:
    """About as long as a tapwork sentiment task, in HTML like tapwork's."""
    return (f"<b>{html.escape('Reviews · $0.02 per task')}</b>\n"
            "Read the review and tap how the writer feels: positive, neutral or negative."
            f"\n\nReview {task}: the coffee was fine and the staff were friendly enough.")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/start``: the first task, as a new message."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(task_text(1), parse_mode=ParseMode.HTML,
                                                  reply_markup=keyboard(1))


async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A label button: answer the query, then turn the message into the next task."""
    query = update.callback_query
    if query is None:
        return
    match = _DATA.match(query.data or "")
    if match is None:
        await query.answer("Sorry, this button does not work any more.")
        return
    task = int(match.group(1)) + 1
    await query.answer("✓ Saved")
    await query.edit_message_text(task_text(task), parse_mode=ParseMode.HTML,
                                  reply_markup=keyboard(task))


def build(token: str, api_base_url: str, file_base_url: str, http: str = "httpx"
          ) -> Application:
    """The same builder chain as ``bot.app.build_application``, minus tapwork."""
    # Keep in step with bot.app.build_application: if it ever sets connection pools or
    # timeouts, set the same here, or the comparison stops being fair.
    calls, polls = tapwork_app.http_requests(http)
    application = (
        Application.builder()
        .token(token)
        .base_url(api_base_url)
        .base_file_url(file_base_url)
        .rate_limiter(AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3))
        .concurrent_updates(tapwork_app.CONCURRENT_UPDATES)
        .request(calls)
        .get_updates_request(polls)
        .build()
    )
    application.add_handler(CommandHandler("start", start, filters=filters.ChatType.PRIVATE))
    application.add_handler(CallbackQueryHandler(tapped))
    return application


async def serve(token: str, api_base_url: str, file_base_url: str, http: str) -> None:
    """Poll until SIGINT or SIGTERM, starting and stopping like ``bot.app.running``."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    application = build(token, api_base_url, file_base_url, http)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0, timeout=POLL_TIMEOUT, allowed_updates=Update.ALL_TYPES)
        try:
            await stop.wait()
        finally:
            await application.updater.stop()
            await application.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-base-url", required=True)
    parser.add_argument("--file-base-url", required=True)
    parser.add_argument("--http", choices=("aiohttp", "httpx"), default="httpx",
                        help="the HTTP client (default httpx: PTB as it ships)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args.token, args.api_base_url, args.file_base_url, args.http))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
