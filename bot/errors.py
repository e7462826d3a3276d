"""Errors the domain raises for people to read.

They carry a translatable message id and its arguments rather than finished text, so the
CLI prints English and the bot answers in the worker's language from the same error.
"""

from __future__ import annotations


class TapworkError(Exception):
    """A problem a person can fix; ``str()`` gives one clear English line."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message.format(**params) if params else message)


class ConfigError(TapworkError):
    """The config file is missing, unreadable or has a bad value."""


class ProjectError(TapworkError):
    """A project definition is invalid."""


class NotFound(TapworkError, LookupError):
    """A named thing (project, worker) does not exist."""


class BotApiError(TapworkError):
    """At start-up Telegram refused the token, or the Bot API could not be reached."""


class MissingDatabase(NotFound):
    """A command that only uses what exists was pointed at a database file that does not."""


class TextTooLong(TapworkError):
    """Words that will not fit the message they are meant for; refused when written."""

    def __init__(self, message: str, *, length: int, limit: int, **params: object) -> None:
        super().__init__(message, length=length, limit=limit, **params)
        self.length = length
        self.limit = limit
