"""Webhook delivery, as Telegram does it: each update POSTed to the bot's URL with the
secret header, posted again after any answer but 2xx, one update per chat at a time.

For replicas behind a load balancer the stand-in plays the balancer too: ``targets``
lists the replicas' own URLs and posts go round-robin over them (a retry goes to the
next one, as a balancer moves on from a dead backend). ``duplicate(n)`` posts the next
``n`` updates a second time after they were acknowledged, the way Telegram repeats an
update whose 200 it did not see. Every post is kept in ``posts`` for the tests, and
``in_flight`` shows which updates each target holds unanswered right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

import aiohttp

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: the pause before posting an update again, doubled per failure up to MAX_BACKOFF
FIRST_BACKOFF = 0.05
MAX_BACKOFF = 1.0
#: how long one post may take before it counts as failed
POST_TIMEOUT = 30.0


class Post(NamedTuple):
    """One POST the stand-in made: which update, where, and the answer's status (0 when
    no answer came: refused connection, reset, timeout)."""

    update_id: int
    url: str
    status: int
    duplicate: bool


Entry = tuple[int, str, bytes]


def chat_of(raw: bytes) -> int | None:
    """The chat (or user) an update belongs to: updates of one chat go one at a time."""
    update = json.loads(raw)
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value.get("chat"), value.get("from")):
            if isinstance(holder, dict) and isinstance(holder.get("id"), int):
                return int(holder["id"])
    return None


class WebhookDelivery:
    """Posts the stand-in's queued updates while a webhook is set."""

    def __init__(self, updates: deque[Entry], drained: Callable[[], None],
                 url: str, secret: str, allowed: frozenset[str] | None,
                 connections: int) -> None:
        self.updates = updates
        #: set when an update is queued or a post finished: look for what may go now
        self._wake = asyncio.Event()
        self.drained = drained
        self.url = url
        self.secret = secret
        self.allowed = allowed
        self.connections = connections
        #: the replicas to post to in turn (empty: ``url`` itself)
        self.targets: list[str] = []
        self.posts: list[Post] = []
        #: url -> update ids posted there and not yet answered (a test kills a replica
        #: while it holds one)
        self.in_flight: dict[str, set[int]] = {}
        self.last_error = ""
        self._turn = 0
        self._duplicates = 0
        self._together = 0
        self._busy_chats: set[int | None] = set()
        self._in_flight: set[int] = set()
        self._session: aiohttp.ClientSession | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._active: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT))
        self._dispatcher = asyncio.create_task(self._dispatch(), name="webhook")

    async def stop(self) -> None:
        tasks = [t for t in (self._dispatcher, *self._active) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._dispatcher, self._active = None, set()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def kick(self) -> None:
        """An update was queued (the stand-in calls it), or a post finished."""
        self._wake.set()

    def duplicate(self, times: int = 1, *, together: bool = False) -> None:
        """Post each of the next ``times`` updates twice: a second time after its 2xx,
        or (``together``) two posts at once, to two replicas, racing for its claim."""
        if together:
            self._together += times
        else:
            self._duplicates += times

    def _next(self) -> Entry | None:
        for entry in self.updates:
            update_id, kind, raw = entry
            if update_id in self._in_flight:
                continue
            if self.allowed is not None and kind not in self.allowed:
                continue
            if chat_of(raw) in self._busy_chats:
                continue
            return entry
        return None

    async def _dispatch(self) -> None:
        """Start a post for every update that may go now (its chat has none in flight),
        up to ``connections`` at once; wait for the next update or a finished post."""
        while True:
            while len(self._active) < self.connections and (entry := self._next()):
                self._in_flight.add(entry[0])
                self._busy_chats.add(chat_of(entry[2]))
                task = asyncio.create_task(self._one(entry))
                self._active.add(task)
                task.add_done_callback(self._active.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.5)
            self._wake.clear()

    async def _one(self, entry: Entry) -> None:
        update_id, _kind, raw = entry
        chat = chat_of(raw)
        try:
            if self._together > 0:
                self._together -= 1
                await asyncio.gather(self._deliver(update_id, raw, duplicate=False),
                                     self._deliver(update_id, raw, duplicate=True))
            else:
                await self._deliver(update_id, raw, duplicate=False)
            with contextlib.suppress(ValueError):
                self.updates.remove(entry)
            if not self.updates:
                self.drained()
        finally:
            self._in_flight.discard(update_id)
            self._busy_chats.discard(chat)
            self.kick()  # the chat's next update may go now
        if self._duplicates > 0:
            self._duplicates -= 1
            await self._deliver(update_id, raw, duplicate=True)

    def _target(self) -> str:
        targets = self.targets or [self.url]
        url = targets[self._turn % len(targets)]
        self._turn += 1
        return url

    async def _deliver(self, update_id: int, raw: bytes, *, duplicate: bool) -> None:
        """Post until some target answers 2xx, moving on to the next after each failure."""
        backoff = FIRST_BACKOFF
        while True:
            url = self._target()
            held = self.in_flight.setdefault(url, set())
            held.add(update_id)
            try:
                status = await self._post(url, raw)
            finally:
                held.discard(update_id)
            self.posts.append(Post(update_id, url, status, duplicate))
            if 200 <= status < 300:
                return
            self.last_error = f"Wrong response from the webhook: {status}" if status \
                else "Connection refused"
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _post(self, url: str, raw: bytes) -> int:
        assert self._session is not None
        try:
            async with self._session.post(
                    url, data=raw, headers={"Content-Type": "application/json",
                                            SECRET_HEADER: self.secret}) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.debug("webhook post to %s failed: %s", url, exc)
            return 0
