"""The context every handler gets: the services, typed, and the worker of this update
read once.

PTB makes one context per update (and per job run) and hands the same one to every
handler group, the guard in group -1 included. So the worker's row and their language,
which nearly every handler needs, are read on first use and kept on the context: a tap
that goes through the guard, the work loop and the rendering of the next task reads the
worker once, where each of those used to read it again. The next update gets a fresh
context, so a language chosen in /settings counts from the very next tap.

A handler that changes the worker (``workers.update``, an answer that returns the row
from its own transaction) hands the new row to :meth:`TapworkContext.remember`, so the
rest of the update sees the change without another read.
"""

from __future__ import annotations

from typing import Any

from telegram import Update, User
from telegram.ext import Application, CallbackContext, ExtBot

from bot.domain.records import Worker
from bot.i18n import Gettext, gettext_for, language_for
from bot.wiring import Services


class TapworkContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any],
                                     dict[Any, Any]]):
    """``context.services``; ``await context.worker()`` and ``await context.gettext()``
    read at most once per update."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self._user: User | None = None
        self._worker: Worker | None = None
        self._loaded = False

    @classmethod
    def from_update(cls, update: object,
                    application: Application[Any, Any, Any, Any, Any, Any]
                    ) -> TapworkContext:
        context: TapworkContext = super().from_update(update, application)
        if isinstance(update, Update):
            context._user = update.effective_user
        return context

    @property
    def services(self) -> Services:
        services: Services = self.bot_data["services"]
        return services

    async def worker(self) -> Worker | None:
        """The row of the person this update is from (None before their first /start,
        and in jobs); read on the first call of the update, kept for the rest."""
        if not self._loaded and self._user is not None:
            self.remember(await self.services.workers.get(self._user.id))
        return self._worker

    def remember(self, worker: Worker | None) -> None:
        """The worker's row as a change of this update left it."""
        self._worker, self._loaded = worker, True

    def forget(self) -> None:
        """The row changed and the handler has no copy of it: read it again if needed."""
        self._worker, self._loaded = None, False

    async def gettext(self) -> Gettext:
        """The worker's chosen language if we know them, else Telegram's setting, else
        English."""
        if self._user is None:
            return gettext_for("en")
        worker = await self.worker()
        return gettext_for(worker.language if worker else
                           language_for(self._user.language_code))
