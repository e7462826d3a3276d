"""python-telegram-bot's rate limiter, counting 429s, and sharing its rate across replicas.

``AIORateLimiter`` keeps ``telegram.max_rate`` for one process and retries a call after
Telegram's 429. Several replicas of one bot each keeping the full rate would send
several times what Telegram allows the bot, so in webhook mode every message to a chat
(the calls PTB's overall limit applies to) first takes a token from the bucket all
replicas share (``bot/services/pacing.py``), and a 429 puts that bucket in debt for its
``retry_after`` so every replica waits it out. Paid broadcasts keep PTB's own limiter,
as they do in one process. Each 429 is counted for ``/metrics`` either way.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot.services.pacing import SharedBucket

Result = bool | dict[str, Any] | list[dict[str, Any]]
Call = Callable[..., Coroutine[Any, Any, Result]]


class TapworkRateLimiter(AIORateLimiter):
    def __init__(self, *, max_rate: float, max_retries: int,
                 shared: SharedBucket | None = None,
                 on_429: Callable[[], None] = lambda: None) -> None:
        """``shared``: the bucket of ``max_rate`` all replicas take from (PTB's own overall
        limit is off then); None keeps PTB's limiter in this process alone."""
        super().__init__(overall_max_rate=0 if shared is not None else max_rate,
                         group_max_rate=0, max_retries=max_retries)
        self.shared = shared
        self.on_429 = on_429

    async def process_request(self, callback: Call, args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Result:
        paced = (self.shared is not None and data.get("chat_id") is not None
                 and not data.get("allow_paid_broadcast"))

        async def call(*call_args: Any, **call_kwargs: Any) -> Result:
            # every try takes a token: a retried message is one more on the wire
            if paced and self.shared is not None:
                await self.shared.take()
            try:
                return await callback(*call_args, **call_kwargs)
            except RetryAfter as exc:
                self.on_429()
                if self.shared is not None:
                    await self.shared.pause(_seconds(exc))
                raise

        return await super().process_request(call, args, kwargs, endpoint, data,
                                             rate_limit_args)


def _seconds(exc: RetryAfter) -> float:
    delay: Any = exc.retry_after
    return float(delay.total_seconds() if hasattr(delay, "total_seconds") else delay)
