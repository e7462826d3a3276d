"""python-telegram-bot's HTTP requests on aiohttp instead of httpx.

Why: on this project's 2-core machine an httpx request cost about 2 ms of CPU with 8 in
flight and an aiohttp one about 0.4 ms, and Bot API calls were most of what an answer
cost (README, "The work loop"). PTB takes any ``BaseRequest``; this is one, chosen with
``telegram.http`` in the config (``bot/app.py`` builds it).

What it keeps from ``HTTPXRequest``, so nothing above it can tell the difference:

- the body: a form (``json_parameters``, each value already JSON text) or, with files,
  ``multipart/form-data`` with each ``InputFile``'s filename and MIME type;
- the answer: ``(status, body)`` for every HTTP response, errors included: PTB itself
  turns 400/403/429/5xx into its exceptions;
- no answer in time raises ``TimedOut``, no connection ``NetworkError`` (text
  ``aiohttp.<Class>: <why>``, like httpx's), each with the aiohttp error as its cause,
  which ``never_left`` reads to tell "certainly not sent" from "maybe delivered";
- the timeouts. aiohttp names them differently: ``connect`` is waiting for a free
  connection *and* making a new one, so it is pool + connect; ``sock_connect`` is
  connect alone; ``sock_read`` is read (per chunk, as httpx's). aiohttp has no write
  timeout, so ``total`` caps the whole call at pool + connect + write + read: a peer that
  stops reading an upload is given up on as httpx would, a little later at most;
- the pool: at most ``connection_pool_size`` connections (the connector's ``limit``);
- proxies: ``proxy`` (an ``http://`` URL), else ``HTTPS_PROXY``/``HTTP_PROXY`` and
  ``NO_PROXY`` from the environment as httpx reads them, looked up once per host rather
  than per request (aiohttp's ``trust_env`` reads the environment on every call).
  SOCKS proxies and ``ALL_PROXY`` are httpx-only: use ``telegram.http = "httpx"``.
"""

from __future__ import annotations

import logging
import urllib.request
from typing import IO
from urllib.parse import urlencode, urlsplit

import aiohttp
import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

#: causes of a failed request that prove it never reached the server: no connection was
#: made (refused, DNS, TLS or proxy handshake), or none came free in time
NEVER_SENT: tuple[type[BaseException], ...] = (
    httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
    aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError,
)
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _seconds(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _sum(*parts: float | None) -> float | None:
    """None (no limit) when any part is unlimited."""
    return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` on one ``aiohttp.ClientSession``; the arguments and their
    defaults are ``HTTPXRequest``'s."""

    __slots__ = ("_connect", "_limit", "_media_write", "_pool", "_proxies", "_proxy",
                 "_read", "_session", "_timeouts", "_write")

    def __init__(self, connection_pool_size: int = 256, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0,
                 proxy: str | None = None) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        if proxy is not None and urlsplit(proxy).scheme not in ("http", "https"):
            raise ValueError(f"aiohttp speaks to http:// proxies only, not {proxy!r} "
                             "(use telegram.http = \"httpx\" for SOCKS)")
        self._limit = connection_pool_size
        self._read, self._write = read_timeout, write_timeout
        self._connect, self._pool = connect_timeout, pool_timeout
        self._media_write = media_write_timeout
        self._proxy = proxy or None
        #: the proxy per scheme and host, from the environment (None: go direct)
        self._proxies: dict[tuple[str, str], str | None] = {}
        #: one ClientTimeout per combination of timeouts asked for (a handful in all)
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """PTB adds a long poll's own timeout to this for ``getUpdates``."""
        return self._read

    async def initialize(self) -> None:
        """The session is made here, not in ``__init__``: it belongs to the running loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                headers={"User-Agent": self.USER_AGENT},
                # the proxy is looked up by _proxy_for, once per host
                trust_env=False,
                # PTB reads the status and the body itself
                raise_for_status=False,
            )

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _timeout(self, read: float | None, write: float | None, connect: float | None,
                 pool: float | None) -> aiohttp.ClientTimeout:
        key = (read, write, connect, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                total=_sum(pool, connect, write, read), connect=_sum(pool, connect),
                sock_connect=connect, sock_read=read)
        return timeout

    def _proxy_for(self, url: str) -> str | None:
        if self._proxy is not None:
            return self._proxy
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            found = urllib.request.getproxies_environment().get(parts.scheme)
            # NO_PROXY, as urllib (and httpx) match it: on Linux this reads the environment
            bypass = bool(found) and bool(urllib.request.proxy_bypass(parts.netloc))
            self._proxies[key] = None if bypass or not found else found
        return self._proxies[key]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        body: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if files:
            body = _multipart(request_data.json_parameters if request_data else {}, files)
        elif request_data is not None and (fields := request_data.json_parameters):
            body, headers = urlencode(fields).encode(), _FORM
        timeout = self._timeout(
            _seconds(read_timeout, self._read),
            _seconds(write_timeout, self._media_write if files else self._write),
            _seconds(connect_timeout, self._connect), _seconds(pool_timeout, self._pool))
        try:
            async with session.request(method, url, data=body, headers=headers,
                                       timeout=timeout, proxy=self._proxy_for(url)) as response:
                content = await response.read()
                status = response.status
        except aiohttp.ConnectionTimeoutError as err:
            raise TimedOut(
                "No connection to the Bot API came free or could be made in time; the "
                "request was *not* sent. Consider a larger connection pool or pool "
                "timeout.") from err
        except TimeoutError as err:  # sock_read, total (asyncio's is the builtin)
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
        if log.isEnabledFor(logging.INFO):
            log.info('HTTP Request: %s %s "%d"', method, url, status)
        return status, content


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes | IO[bytes], str]]
               ) -> aiohttp.FormData:
    """Parameters as text parts, then every file with its name and MIME type, as httpx
    lays out ``data=`` with ``files=``."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
