"""A token bucket as integer arithmetic: the pace every replica of one bot shares.

Why integers: the bucket lives in a database row that several processes read and write
in turn (``bot/services/pacing.py``); tokens in millionths and time in microseconds keep
every refill exact, so no replica's rounding can mint a token another did not see.
Refills round down: the shared rate can only come out a hair slower than configured,
never faster.
"""

from __future__ import annotations

from dataclasses import dataclass

#: one whole token, in the bucket's unit
TOKEN = 1_000_000
#: microseconds in a second
SECOND_US = 1_000_000


@dataclass(frozen=True)
class Bucket:
    """``tokens`` in millionths (negative while everyone waits out a pause), as of
    ``updated_us`` microseconds since the epoch."""

    tokens: int
    updated_us: int


@dataclass(frozen=True)
class Rate:
    """``per_second`` tokens a second, at most ``capacity`` saved up (both in millionths)."""

    per_second: int
    capacity: int

    @classmethod
    def of(cls, per_second: float, burst_seconds: float = 1.0) -> Rate:
        """A rate in messages a second that may save up ``burst_seconds`` of them (at
        least one message)."""
        micro = max(1, round(per_second * TOKEN))
        return cls(micro, max(TOKEN, round(per_second * burst_seconds * TOKEN)))


def full(rate: Rate, now_us: int) -> Bucket:
    """A bucket nobody has drawn from yet."""
    return Bucket(rate.capacity, now_us)


def refill(bucket: Bucket, rate: Rate, now_us: int) -> Bucket:
    """The bucket at ``now_us``. A clock behind the row's (another replica's clock runs
    ahead) adds nothing and never moves the row back."""
    elapsed = max(0, now_us - bucket.updated_us)
    tokens = min(rate.capacity, bucket.tokens + elapsed * rate.per_second // SECOND_US)
    return Bucket(tokens, max(bucket.updated_us, now_us))


def take(bucket: Bucket, rate: Rate, now_us: int, want: int = 1
         ) -> tuple[Bucket, int, int]:
    """Take up to ``want`` whole tokens: (the bucket after, tokens granted, microseconds
    until the next whole token when none was granted, else 0)."""
    now = refill(bucket, rate, now_us)
    granted = min(want, max(0, now.tokens // TOKEN))
    if granted:
        return Bucket(now.tokens - granted * TOKEN, now.updated_us), granted, 0
    missing = TOKEN - now.tokens
    wait = -(-missing * SECOND_US // rate.per_second)  # rounded up
    return now, 0, max(1, wait)


def pause(bucket: Bucket, rate: Rate, now_us: int, seconds: float) -> Bucket:
    """Telegram asked the bot to wait ``seconds`` (a 429): the bucket goes into debt by
    that many seconds of tokens, so no replica sends before it has passed."""
    now = refill(bucket, rate, now_us)
    debt = -round(seconds * rate.per_second)
    return Bucket(min(now.tokens, debt), now.updated_us)
