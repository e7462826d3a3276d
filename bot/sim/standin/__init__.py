"""A local stand-in for the Telegram Bot API, served over HTTP on 127.0.0.1.

Why a server and not a mocked ``Bot``: the bot under test should be the real
python-telegram-bot ``Application`` with its real HTTP client, request encoding, rate
limiter, retries and error mapping. Pointing ``base_url``/``base_file_url`` here exercises
all of that, so a bug that would only show against api.telegram.org (a missing
``bot_command`` entity, an unescaped "<" in HTML, a 64-byte callback_data, "message is not
modified", a 429 that must be honoured) shows up in the tests too.

What it models, and only that: private chats with simulated users (:class:`Phone`),
long-polled updates, text/photo/voice/audio/document messages, edits, deletions, callback
answers, file uploads and downloads with ``file_id`` reuse, bot commands, and the error
answers Telegram gives for the mistakes a bot can make. Faults (429, 403, 5xx, slow
answers) can be injected per method and per chat. Everything runs in one asyncio loop.

The package splits it by part, each importing only the ones before it:
``wire`` (limits, errors, request decoding) <- ``formatting`` (HTML/Markdown parsing)
<- ``core`` (lifecycle, HTTP, faults, updates) <- ``chats`` (users, files, sending)
<- ``methods`` (the Bot API methods, and :class:`BotApiStandIn` itself).
"""

from bot.sim.standin.methods import BotApiStandIn as BotApiStandIn
from bot.sim.standin.wire import ApiError as ApiError
from bot.sim.standin.wire import Call as Call
from bot.sim.standin.wire import StoredFile as StoredFile
