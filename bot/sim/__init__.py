"""A local Telegram Bot API stand-in and simulated phone users.

The real python-telegram-bot ``Application`` talks to :class:`BotApiStandIn` over HTTP
exactly as it would to api.telegram.org, so the end-to-end tests, ``tapwork demo`` and the
benchmarks exercise the same code paths as production without any network access.
"""

from bot.sim.phone import Phone
from bot.sim.standin import ApiError, BotApiStandIn, Call

__all__ = ["ApiError", "BotApiStandIn", "Call", "Phone"]
