"""The seam between the application's delivery rules and a chat service.

The outbox and broadcasts decide who is told what, when, how fast and what a failed
send means; a ``Sender`` only sends one message and says what came of it. Telegram's
(``handlers/sending.py``) goes through ``handlers/say.py``; tests use a fake one, so
pacing, retries and in-doubt bookkeeping are tested without a bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """A rendered message: its text and the chat side's buttons under it.

    ``buttons`` is whatever the chat side drew (a Telegram keyboard); the application
    never looks inside, it only carries it from the renderer to the sender."""

    text: str
    buttons: object | None = None
    #: send as a paid broadcast (Telegram's higher rate, billed to the bot's owner)
    paid: bool = False


@dataclass(frozen=True)
class Sent:
    message_id: int


@dataclass(frozen=True)
class Blocked:
    """The user blocked the bot (or deleted their account): stop writing to them."""


@dataclass(frozen=True)
class RetryAfter:
    """Too many messages: nothing was sent, and nothing should be for ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Failed:
    """The message certainly did not arrive: the service refused it (``transient``
    False: sending it again gets the same answer), or the request never left (no
    connection: ``transient`` True, worth another try soon)."""

    reason: str
    transient: bool = False


@dataclass(frozen=True)
class Unconfirmed:
    """No answer came (a timeout, a dropped connection, a 5xx): it may have arrived, so
    it must never be sent again (in doubt)."""

    reason: str


SendResult = Sent | Blocked | RetryAfter | Failed | Unconfirmed


class Sender(Protocol):
    async def send(self, chat_id: int, message: Outgoing) -> SendResult: ...

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> SendResult:
        """Replace the text of a message sent before (a live progress report)."""
        ...
