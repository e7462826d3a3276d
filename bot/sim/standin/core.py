"""The stand-in's foundation: state, lifecycle, HTTP plumbing, faults and the update queue.

Split from the Bot API methods so each part of the stand-in can be read on its own; the
chain runs one way, core <- chats <- methods, so no two modules import each other.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, deque
from types import TracebackType
from typing import Self

from aiohttp import web

from bot.clock import Clock
from bot.sim.phone import JSON, Phone, Signal
from bot.sim.standin.webhook import WebhookDelivery
from bot.sim.standin.wire import (
    _T,
    MAX_UPLOAD,
    ApiError,
    Call,
    Handler,
    StoredFile,
    _Delay,
    _error_response,
    _Fault,
    _fault_error,
    _ok_response,
    _read_params,
    _Upload,
)

log = logging.getLogger(__name__)


class _Core:
    """State, the HTTP server, faults and the update queue: what every Bot API method
    stands on. The methods themselves live in subclasses so no module holds it all."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_id: int = 123456,
        bot_username: str = "tapwork_test_bot",
        bot_name: str = "Tapwork",
        clock: Clock | None = None,
        history_limit: int | None = None,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        #: message dates; a test's fake clock, else the wall clock
        self.clock = clock or Clock()
        self.history_limit = history_limit
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.record_calls = True
        self.calls: list[Call] = []
        self.uploads = 0
        self.reuses = 0
        #: uploads above this many bytes are refused as Telegram refuses them (tests lower it)
        self.max_upload = MAX_UPLOAD
        self.internal_errors: list[BaseException] = []
        self._counts: Counter[str] = Counter()
        self._phones: dict[int, Phone] = {}
        self._updates: deque[tuple[int, str, bytes]] = deque()
        self._last_update_id = 10_000
        self._allowed: frozenset[str] | None = None
        self._updates_signal = Signal()
        self._drained_signal = Signal()
        self._poll_generation = 0
        self._webhook_url = ""
        #: posting updates while a webhook is set (``bot/sim/standin/webhook.py``)
        self.webhook: WebhookDelivery | None = None
        #: replicas' URLs the posts go to in turn (the load balancer); empty: the
        #: webhook's own URL
        self.webhook_targets: list[str] = []
        self._callbacks: dict[str, int] = {}
        self._callback_seq = 0
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._file_seq = 0
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name in dir(self):
            if name.startswith("_api_"):
                api_name = name.removeprefix("_api_")
                self._methods[api_name.lower()] = (api_name, getattr(self, name))

    # ---------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # handler_cancellation: a long poll whose client went away must stop waiting.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        # A deep backlog: a bot opening 200+ pooled connections at once must not see
        # SYN retries, which would show up as one-second stalls in benchmarks.
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        """Answer pending long polls, close connections and stop listening."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._updates_signal.notify()
        await self._stop_webhook()
        await runner.cleanup()

    async def _stop_webhook(self) -> None:
        delivery, self.webhook = self.webhook, None
        if delivery is not None:
            await delivery.stop()

    async def _start_webhook(self, url: str, secret: str, allowed: frozenset[str] | None,
                             connections: int) -> None:
        """Post updates to ``url`` (or ``webhook_targets``) from now on; setting it again
        replaces the delivery, keeping what is queued (Telegram's pending updates)."""
        await self._stop_webhook()
        delivery = WebhookDelivery(self._updates, self._drained_signal.notify, url, secret,
                                   allowed, connections)
        delivery.targets = self.webhook_targets
        self.webhook = delivery
        delivery.start()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_base_url(self) -> str:
        """For ``ApplicationBuilder.base_url``; PTB appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        """For ``ApplicationBuilder.base_file_url``; PTB appends the token."""
        return f"http://{self.host}:{self.port}/file/bot"

    # ------------------------------------------------------------- faults and records

    def inject(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int = 1,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Fail the next ``times`` calls of ``method`` (only for ``chat_id`` if given).

        ``method`` is case-insensitive; "*" matches every method except getUpdates.
        Failed calls change nothing, like a rejected request on Telegram's side.
        """
        self._faults.append(_Fault(method.lower(), status, retry_after, times, chat_id))

    def delay(
        self,
        method: str,
        seconds: float,
        times: int = 1,
        *,
        chat_id: int | None = None,
        before: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` only after ``seconds``.

        By default the call takes effect at once and only the answer is late, which is what
        a read timeout against Telegram usually means (the message *was* sent). With
        ``before=True`` the server waits first, and if the client gives up meanwhile the
        call never happens.
        """
        self._delays.append(_Delay(method.lower(), seconds, times, chat_id, before))

    def count(self, method: str | None = None) -> int:
        """Calls of ``method`` (case-insensitive), or all calls, including failed ones."""
        if method is None:
            return sum(self._counts.values())
        wanted = method.lower()
        return sum(n for name, n in self._counts.items() if name.lower() == wanted)

    def reset_calls(self) -> None:
        """Forget recorded calls and counters (not chats, files or updates)."""
        self.calls.clear()
        self._counts.clear()

    # ------------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        requested = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self._record(requested, {}, None, started, 401)
            return _error_response(ApiError(401, "Unauthorized"))
        entry = self._methods.get(requested.lower())
        if entry is None:
            self._record(requested, {}, None, started, 404)
            return _error_response(ApiError(404, "Not Found"))
        name, handler = entry
        params: JSON = {}
        files: dict[str, _Upload] = {}
        chat_id: int | None = None
        delay: _Delay | None = None
        refusal = ""
        try:
            params, files = await _read_params(request)
            raw_chat = params.get("chat_id")
            chat_id = raw_chat if isinstance(raw_chat, int) else None
            fault = self._take(self._faults, name, chat_id)
            if fault is not None:
                raise _fault_error(fault)
            delay = self._take(self._delays, name, chat_id)
            if delay is not None and delay.before:
                await asyncio.sleep(delay.seconds)
            result = await handler(params, files)
            response = _ok_response(result)
        except ApiError as error:
            refusal = error.description
            response = _error_response(error)
        except Exception as error:  # a stand-in bug: report it loudly, answer like a 500
            log.exception("stand-in failed on %s", name)
            self.internal_errors.append(error)
            response = _error_response(ApiError(500, f"Internal Server Error: {error!r}"))
        if self.record_calls:
            for part, upload in files.items():
                params[part] = f"<upload {upload.filename} {len(upload.data)} bytes>"
        self._record(name, params, chat_id, started, response.status, refusal)
        if delay is not None and not delay.before:
            await asyncio.sleep(delay.seconds)
        return response

    def _record(
        self, method: str, params: JSON, chat_id: int | None, started: float, status: int,
        error: str = "",
    ) -> None:
        self._counts[method] += 1
        if self.record_calls:
            self.calls.append(Call(method, params, chat_id, started, status, error))

    def refusals(self) -> list[Call]:
        """Calls Telegram would have refused for what they sent: text it cannot parse or
        that is too long (not "message is not modified", which a bot may meet in passing,
        nor injected faults)."""
        return [c for c in self.calls if c.status == 400 and (
            "can't parse" in c.error or "too long" in c.error)]

    def _take(self, queue: list[_T], method: str, chat_id: int | None) -> _T | None:
        """Consume one matching fault or delay, if any."""
        lowered = method.lower()
        for item in queue:
            if item.method not in (lowered, "*") or (
                item.method == "*" and lowered == "getupdates"
            ):
                continue
            if item.chat_id is not None and item.chat_id != chat_id:
                continue
            item.times -= 1
            if item.times <= 0:
                queue.remove(item)
            return item
        return None

    async def _download(self, request: web.Request) -> web.StreamResponse:
        stored = self._paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return _error_response(ApiError(404, "Not Found"))
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # ------------------------------------------------------------------------ updates

    def _now(self) -> int:
        """Message dates: integer seconds, from the clock the stand-in was given."""
        return int(self.clock.now().timestamp())

    def _enqueue(self, payload: JSON, kind: str) -> JSON:
        """Queue an update, serialised now so later edits don't change what the bot gets."""
        self._last_update_id += 1
        update: JSON = {"update_id": self._last_update_id, **payload}
        raw = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
        self._updates.append((self._last_update_id, kind, raw))
        self._updates_signal.notify()
        if self.webhook is not None:
            self.webhook.kick()
        return update

    def _confirm(self, offset: int) -> None:
        """An offset confirms (drops) every earlier update; a negative one keeps the last N."""
        updates = self._updates
        if offset > 0:
            while updates and updates[0][0] < offset:
                updates.popleft()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()
        if not updates:
            self._drained_signal.notify()

    def _batch(self, limit: int) -> list[bytes]:
        allowed = self._allowed
        batch: list[bytes] = []
        for _, kind, raw in self._updates:
            if allowed is None or kind in allowed:
                batch.append(raw)
                if len(batch) >= limit:
                    break
        return batch

    def _member_update(self, phone: Phone, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            extra: JSON = {"until_date": 0} if status == "kicked" else {}
            return {"user": self.bot_user, "status": status, **extra}

        self._enqueue(
            {
                "my_chat_member": {
                    "chat": phone.chat,
                    "from": phone.user,
                    "date": self._now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            },
            "my_chat_member",
        )

    def _new_callback_id(self, user_id: int) -> str:
        self._callback_seq += 1
        query_id = str(5_000_000_000_000_000 + self._callback_seq)
        self._callbacks[query_id] = user_id
        return query_id

    # ---------------------------------------------------------------- shared pieces

    def _existing_phone(self, user_id: int) -> Phone:
        phone = self._phones.get(user_id)
        if phone is None:
            raise KeyError(f"no simulated user {user_id}; create one with server.phone()")
        return phone
