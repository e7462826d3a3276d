"""``[webhook]``: each key refused with one line naming it, and the keys that go together."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.domain.errors import ConfigError

GOOD = ('[webhook]\nlisten = "0.0.0.0:8080"\nurl = "https://bot.example.org/telegram"\n'
        'secret_token = "s3cret_-X"\n')


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    file = tmp_path / "c.toml"
    file.write_text(text)
    return load_config(file)


def test_webhook_mode_reads_its_keys(tmp_path: Path) -> None:
    hook = _load(tmp_path, GOOD).webhook
    assert hook.enabled
    assert hook.address == ("0.0.0.0", 8080)
    assert hook.path == "/telegram"
    assert hook.secret_token == "s3cret_-X"


def test_no_section_is_long_polling_without_a_server(tmp_path: Path) -> None:
    hook = _load(tmp_path, "").webhook
    assert not hook.enabled and hook.address is None


def test_listen_alone_is_polling_with_health_and_metrics(tmp_path: Path) -> None:
    hook = _load(tmp_path, '[webhook]\nlisten = "[::1]:9000"\n').webhook
    assert not hook.enabled and hook.address == ("::1", 9000)


def test_the_server_address_is_web_listen_and_its_first_name_still_works(
        tmp_path: Path) -> None:
    """``web.listen`` is the one web server's address (webhook posts, health, metrics,
    dashboard, Mini App); ``webhook.listen``, its name before the dashboard, is still
    read, alone or beside the same address."""
    moved = GOOD.replace('listen = "0.0.0.0:8080"\n', "")
    for text in ('[web]\nlisten = "0.0.0.0:8080"\n' + moved, GOOD,
                 '[web]\nlisten = "0.0.0.0:8080"\n' + GOOD):
        hook = _load(tmp_path, text).webhook
        assert hook.enabled and hook.address == ("0.0.0.0", 8080), text
    assert _load(tmp_path, '[web]\nlisten = "[::1]:9000"\n').webhook.address == ("::1", 9000)


def test_http_is_allowed_only_to_this_machine(tmp_path: Path) -> None:
    text = GOOD.replace("https://bot.example.org", "http://127.0.0.1:8080")
    assert _load(tmp_path, text).webhook.enabled


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace('"0.0.0.0:8080"', '"8080"'), "webhook.listen must be host:port"),
    (GOOD.replace('"0.0.0.0:8080"', '"h:99999"'), "webhook.listen must be host:port"),
    (GOOD.replace("https://", "http://"), "webhook.url must be an https:// address"),
    (GOOD.replace("https://bot.example.org/telegram", "telegram"),
     "webhook.url must be an https:// address"),
    (GOOD.replace('secret_token = "s3cret_-X"\n', ""), "webhook.url needs webhook.secret"),
    (GOOD.replace("/telegram", "/healthz"), "path /healthz is the web server's own page"),
    (GOOD.replace('listen = "0.0.0.0:8080"\n', ""), "webhook.url needs web.listen"),
    ('[web]\nlisten = "8080"\n', "web.listen must be host:port"),
    ('[web]\nlisten = "127.0.0.1:8080"\n' + GOOD,
     r"web.listen \('127.0.0.1:8080'\) and webhook.listen \('0.0.0.0:8080'\) name two"),
    (GOOD.replace("s3cret_-X", "has space"), "secret_token must be 1 to 256 letters"),
    (GOOD.replace("s3cret_-X", "x" * 257), "secret_token must be 1 to 256 letters"),
    ('[webhook]\nsecret_token = "abc"\n', "secret_token is set but webhook.url is not"),
    ("[webhook]\nurl = 3\n", "webhook.url must be text, not 3"),
    ("[webhook]\nlistn = 'x'\n", r"unknown key listn in \[webhook\] \(did you mean listen"),
])
def test_a_bad_webhook_key_is_one_line_naming_it(tmp_path: Path, text: str,
                                                  expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        _load(tmp_path, text)
    assert "\n" not in str(caught.value)
