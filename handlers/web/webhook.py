"""Telegram's webhook posts: checked, claimed once across replicas, handled, answered.

The order is the promise. The secret header is compared in constant time, and a post
without it is refused before anything is read (401 without the header, 403 with a wrong
one). A body that is not an update is 400 (Telegram would only repeat it). Then the
update's id is claimed in the database (``bot/services/updates.py``) and the claim
committed; a database that cannot be reached or fails is 503, so Telegram keeps the
update and posts it again. A duplicate of an update already handled is 200 without
handling it; one another replica is handling right now is 503 (Telegram retries, and by
then it is done, or its claim has aged and this replica takes it over). A claimed update
is handled in this request, and 200 goes back only after: a replica that dies half way
never said 200, so Telegram posts the update again.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from telegram import Update

from bot.services.updates import Claim, Found, UpdateClaims
from handlers.common import App
from handlers.web.metrics import Metrics

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: the most a post may hold: Telegram's updates are a few kilobytes
MAX_BODY = 1024 * 1024


def _refused(request: web.Request, secret: str) -> web.Response | None:
    given = request.headers.get(SECRET_HEADER)
    if given is None:
        return web.Response(status=401, text="missing secret token")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return web.Response(status=403, text="wrong secret token")
    return None


def _update(body: bytes, application: App) -> Update | None:
    """The update in a post, or None for anything that is not one."""
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        return None
    try:
        return Update.de_json(data, application.bot)
    except Exception:  # PTB's parsing of a malformed update raises whatever it meets
        return None


def receiver(application: App, claims: UpdateClaims, metrics: Metrics,
             secret: str) -> Route:
    """The aiohttp handler for the webhook's path."""

    async def receive(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        refused = _refused(request, secret)
        if refused is not None:
            metrics.update("refused")
            return refused
        update = _update(await request.read(), application)
        if update is None:
            metrics.update("malformed")
            return web.Response(status=400, text="not a Telegram update")
        try:
            claim = await claims.claim(update.update_id)
        except Exception as exc:  # unreachable, busy past its wait, any driver error
            log.warning("update %s not claimed, Telegram will retry: %s", update.update_id,
                        exc)
            metrics.update("unavailable")
            return web.Response(status=503, text="database unavailable")
        if claim is Found.DONE:
            metrics.update("deduplicated")
            return web.Response(text="already handled")
        if claim is Found.BUSY:
            metrics.update("busy")
            return web.Response(status=503, text="being handled by another replica")
        assert isinstance(claim, Claim)
        await _handle(application, claims, update, claim)
        metrics.update("handled", time.perf_counter() - started)
        return web.Response(text="ok")

    return receive


async def _handle(application: App, claims: UpdateClaims, update: Update,
                  claim: Claim) -> None:
    """Through PTB's update processor (its concurrency limit), then finish the claim.

    A handler's error is PTB's error handler's business (the worker is told, as under
    long polling); the update counts as handled either way, as a polled one does."""
    try:
        await application.update_processor.process_update(
            update, application.process_update(update))
    except Exception:
        log.exception("update %s failed in its handler", update.update_id)
    try:
        if not await claims.finish(claim):
            log.warning("update %s was taken over by another replica while handled here",
                        update.update_id)
    except Exception as exc:  # handled already: Telegram must not post it again
        log.warning("update %s handled, but its claim was not finished: %s",
                    update.update_id, exc)
