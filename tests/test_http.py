"""The aiohttp request (handlers/http.py) against PTB's request contract, beside httpx.

Every case runs on both clients through a real ``telegram.Bot`` and the Bot API
stand-in, so "aiohttp behaves as httpx does" is checked, not assumed: bodies (form and
multipart), long polls, downloads, PTB's error classes, timeouts, refused connections,
the pool, proxies from the environment, and which failures ``never_left`` may retry.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.app import http_requests
from bot.config import parse_config
from bot.domain.errors import ConfigError
from bot.sim.phone import JSON
from bot.sim.standin import BotApiStandIn
from bot.sim.standin.wire import _Upload
from handlers.common import never_left
from handlers.http import AiohttpRequest

os.environ.setdefault("PTB_TIMEDELTA", "true")

CLIENTS = ("aiohttp", "httpx")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")
CHAT = 4242


def make(kind: str, **settings: Any) -> BaseRequest:
    """One request of ``kind`` with the same settings on either client."""
    if kind == "aiohttp":
        return AiohttpRequest(**settings)
    return HTTPXRequest(**settings)


class UploadsSeen(BotApiStandIn):
    """The stand-in, keeping what each photo upload carried (name, type, bytes)."""

    def __init__(self) -> None:
        super().__init__()
        self.photos: list[_Upload] = []

    async def _api_sendPhoto(self, params: JSON, files: dict[str, _Upload]) -> Any:
        self.photos.extend(files.values())
        return await super()._api_sendPhoto(params, files)


@pytest.fixture
async def server() -> AsyncIterator[UploadsSeen]:
    async with UploadsSeen() as stand_in:
        stand_in.phone(CHAT, "Ann")
        yield stand_in
    assert not stand_in.internal_errors


@pytest.fixture(params=CLIENTS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def bot_on(server: BotApiStandIn, kind: str, **settings: Any) -> Bot:
    return Bot(server.token, base_url=server.api_base_url,
               base_file_url=server.file_base_url, request=make(kind, **settings),
               get_updates_request=make(kind, connection_pool_size=1))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_builder_gets_the_configured_client() -> None:
    calls, polls = http_requests("aiohttp")
    assert isinstance(calls, AiohttpRequest) and isinstance(polls, AiohttpRequest)
    calls, polls = http_requests("httpx")
    assert isinstance(calls, HTTPXRequest) and isinstance(polls, HTTPXRequest)


async def test_html_message_reaches_the_chat(server: UploadsSeen, kind: str) -> None:
    async with bot_on(server, kind) as bot:
        sent = await bot.send_message(CHAT, "<b>Ready</b> to work &amp; earn? 한국어 中文",
                                      parse_mode=ParseMode.HTML)
    last = server.phone(CHAT).last
    assert last is not None and last["text"] == "Ready to work & earn? 한국어 中文"
    assert last["entities"][0]["type"] == "bold"
    assert sent.message_id == last["message_id"]
    call = next(c for c in server.calls if c.method == "sendMessage")
    assert call.params["parse_mode"] == "HTML"


async def test_photo_upload_is_multipart_with_name_and_type(server: UploadsSeen,
                                                            kind: str) -> None:
    async with bot_on(server, kind) as bot:
        message = await bot.send_photo(
            CHAT, InputFile(PNG, filename="cat.png"), caption="<i>a cat</i>",
            parse_mode=ParseMode.HTML, reply_markup=None)
        assert message.photo
        # and back again: a file download is a GET through the same request
        file = await bot.get_file(message.photo[-1].file_id)
        downloaded = await file.download_as_bytearray()
    [upload] = server.photos
    assert (upload.filename, upload.content_type, upload.data) == ("cat.png", "image/png", PNG)
    assert server.phone(CHAT).last is not None
    assert server.phone(CHAT).last["caption"] == "a cat"  # type: ignore[index]
    assert bytes(downloaded) == PNG


async def test_long_poll_waits_past_the_read_timeout_and_returns_the_update(
        server: UploadsSeen, kind: str) -> None:
    # a read timeout shorter than the poll: PTB adds the poll's own timeout to it
    async with Bot(server.token, base_url=server.api_base_url,
                   get_updates_request=make(kind, connection_pool_size=1, read_timeout=0.2),
                   request=make(kind)) as bot:
        assert await bot.get_updates(timeout=1) == ()  # nothing came: empty, not TimedOut
        polling = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.3)
        await server.phone(CHAT).send("/start")
        updates = await polling
    assert [u.message.text for u in updates if u.message] == ["/start"]


async def test_no_answer_in_time_is_timed_out_and_maybe_delivered(server: UploadsSeen,
                                                                  kind: str) -> None:
    server.delay("sendMessage", 2.0)  # Telegram got it; only the answer is late
    async with bot_on(server, kind, read_timeout=0.3) as bot:
        with pytest.raises(TimedOut) as caught:
            await bot.send_message(CHAT, "slow")
    assert not never_left(caught.value)


async def test_a_refused_connection_is_a_network_error_never_sent(kind: str) -> None:
    async with make(kind) as request:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{closed_port()}/bot1:X/sendMessage")
    assert not isinstance(caught.value, TimedOut)
    assert caught.value.message.startswith(f"{kind}.")
    assert never_left(caught.value)


async def test_too_many_requests_surfaces_as_retry_after(server: UploadsSeen,
                                                         kind: str) -> None:
    server.inject("sendMessage", 429, retry_after=7)
    async with bot_on(server, kind) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT, "now?")
        await bot.send_message(CHAT, "now.")  # the next one goes through
    assert caught.value.retry_after == timedelta(seconds=7)
    assert never_left(caught.value)
    assert server.phone(CHAT).last["text"] == "now."  # type: ignore[index]


async def test_a_full_pool_times_out_without_sending(server: UploadsSeen, kind: str) -> None:
    server.delay("sendMessage", 1.5, before=True)
    async with bot_on(server, kind, connection_pool_size=1, pool_timeout=0.1,
                      connect_timeout=0.1) as bot:
        first = asyncio.create_task(bot.send_message(CHAT, "first"))
        await asyncio.sleep(0.2)  # the one connection is taken
        with pytest.raises(TimedOut) as caught:
            await bot.send_message(CHAT, "second")
        await first
    assert never_left(caught.value)
    assert [m["text"] for m in server.phone(CHAT).messages] == ["first"]


async def test_a_proxy_from_the_environment_is_used_unless_no_proxy_says_otherwise(
        server: UploadsSeen, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with make(kind) as request:
        with pytest.raises(NetworkError):  # through the proxy, which is not there
            await request.post(f"{server.api_base_url}{server.token}/getMe")
    assert server.count("getMe") == 0
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with bot_on(server, kind) as bot:
        await bot.send_message(CHAT, "direct")
    assert server.phone(CHAT).last["text"] == "direct"  # type: ignore[index]


async def test_lifecycle_as_ptb_drives_it(server: UploadsSeen) -> None:
    request = AiohttpRequest(read_timeout=3.5)
    assert request.read_timeout == 3.5
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{server.api_base_url}{server.token}/getMe", "POST")
    for _ in range(2):  # PTB may initialize again after a shutdown
        async with request:
            status, body = await request.do_request(
                f"{server.api_base_url}{server.token}/getMe", "POST")
            assert status == 200 and b'"is_bot":true' in body.replace(b" ", b"")
    await request.shutdown()  # twice is harmless


def test_refuses_a_proxy_aiohttp_cannot_speak() -> None:
    with pytest.raises(ValueError, match="SOCKS"):
        AiohttpRequest(proxy="socks5://127.0.0.1:1080")



def test_the_config_names_the_client_or_refuses_it() -> None:
    assert parse_config({}).telegram.http == "aiohttp"
    assert parse_config({"telegram": {"http": "httpx"}}).telegram.http == "httpx"
    with pytest.raises(ConfigError, match=r"c.toml: telegram.http must be one of aiohttp, "
                                          r"httpx, not 'curl'"):
        parse_config({"telegram": {"http": "curl"}}, "c.toml")
