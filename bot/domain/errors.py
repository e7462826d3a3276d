"""Errors the domain raises for people to read.

They carry a translatable message id and its arguments rather than finished text, so the
CLI prints English and the bot answers in the worker's language from the same error.
"""

from __future__ import annotations

from bot.domain.wording import Translate, english, render


class TapworkError(Exception):
    """A problem a person can fix; ``str()`` gives one clear English line."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message.format(**params) if params else message)

    def render(self, _: Translate = english) -> str:
        """The problem in ``_``'s language (``str()`` is the English)."""
        return render(self.message, self.params, _)


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


class AlreadyRunning(TapworkError):
    """Another ``tapwork run`` (or demo, or test bot) holds the database's run lock."""


class DatabaseUnreachable(TapworkError):
    """The database server did not answer, or refused the connection (PostgreSQL)."""


class DatabaseBusy(Exception):
    """Another program kept the database locked too long; the change wrote nothing and
    may simply be tried again.

    Why here and not in ``storage/``: the handlers answer it ("the bot is busy") and the
    CLI prints it, and neither may know which backend is underneath; each backend
    translates its own lock timeout into this one error.
    """

    def __init__(self, tries: int = 0, waited: float = 0.0) -> None:
        """``tries``: how often the backend tried to take the write lock, over ``waited``
        seconds; 0 when it answered busy later, inside the transaction or a read."""
        held = (f"held its write lock for over {waited:g} s ({tries} tries)" if tries
                else "holds a lock on it")
        super().__init__(f"the database is busy: another program {held}; nothing was "
                         f"changed, try again in a moment")
        self.tries = tries
