"""Keep the bot token out of every log line and every message the command line prints.

Whoever holds the token controls the bot, and log files get pasted into issues and chat.
httpx logs each request's URL, python-telegram-bot puts the token into some exception
texts (``The token `…` was rejected``), and a traceback can carry either: so the command
line installs ``Redactor`` on the root logging handlers and passes its own messages
through ``redact``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
#: the token inside a Bot API URL (``…/bot123456:ABC…/getMe``), even a token not
#: registered here, e.g. one a library read from elsewhere
_URL_TOKEN = re.compile(r"(?<=bot)\d+:[A-Za-z0-9_-]+")
#: shorter strings are not masked: they would blank out ordinary words, and Telegram
#: refuses such a token anyway (a real one is ~46 characters)
MIN_SECRET = 4


class Redactor(logging.Filter):
    """A handler filter that rewrites a record's message and traceback with the token
    masked; it never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        secret = (secret or "").strip()
        if len(secret) >= MIN_SECRET and secret not in self.secrets:
            self.secrets.append(secret)
            self.secrets.sort(key=len, reverse=True)  # a longer secret first

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return _URL_TOKEN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call; let the handler report it as usual
            return True
        masked = self.redact(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install(redactor: Redactor, logger: logging.Logger | None = None) -> None:
    """Put ``redactor`` on every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if redactor not in handler.filters:
            handler.addFilter(redactor)
