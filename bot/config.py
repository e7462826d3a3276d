"""The TOML config file as frozen dataclasses.

Every problem becomes one ``ConfigError`` line naming the file and key, because an
operator reading a traceback at 2 a.m. should not have to guess which key is wrong.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.domain.errors import ConfigError
from bot.domain.limits import Choice, Invalid, Money, Number, Rule, Whole, shown

TOKEN_ENV = "TAPWORK_TOKEN"


@dataclass(frozen=True)
class TelegramConfig:
    token: str = ""
    api_base_url: str = "https://api.telegram.org/bot"
    file_base_url: str = "https://api.telegram.org/file/bot"
    #: overall outgoing messages per second (Telegram allows about 30); 0 turns throttling off
    max_rate: float = 30.0
    #: how many times one call is retried after a 429 ``RetryAfter``
    max_retries: int = 5
    #: the HTTP client under python-telegram-bot: "aiohttp" (handlers/http.py) or PTB's
    #: own "httpx"; aiohttp costs a fifth of the CPU per call (README, "The work loop")
    http: str = "aiohttp"


@dataclass(frozen=True)
class StorageConfig:
    #: the SQLite file (``storage.path``, or the path of a ``sqlite:///`` URL)
    path: str = "tapwork.db"
    #: run SQLite on aiosqlite's thread instead of inline on the event loop
    threaded: bool = False
    #: a ``postgresql://`` URL, or "" for the SQLite file at ``path``
    url: str = ""

    @property
    def target(self) -> str:
        """What ``storage.open_database`` opens: the PostgreSQL URL or the SQLite file."""
        return self.url or self.path

    @property
    def postgres(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class OperatorsConfig:
    ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class WorkConfig:
    #: how often expired leases are returned to the pool
    lease_check_seconds: float = 30.0
    #: how often resolved settlement units are paid (pay lands within this, plus a beat)
    settle_check_seconds: float = 20.0


@dataclass(frozen=True)
class BroadcastConfig:
    #: messages per second for a broadcast (under Telegram's ~30/s for the whole bot)
    broadcast_rate: float = 25.0
    #: operators may use Telegram's paid broadcasts (Stars), which allow a higher rate
    allow_paid_broadcast: bool = False
    paid_rate: float = 1000.0
    #: a worker hears about one project at most once per this many hours
    notify_every_hours: float = 12.0


@dataclass(frozen=True)
class PayoutsConfig:
    #: the smallest payout a worker may request, per currency, in micros
    min_payout: dict[str, int] = field(default_factory=dict)
    #: where no minimum is configured for a currency
    default_min_payout: int = 1_000_000


@dataclass(frozen=True)
class WebConfig:
    #: the address phones and operators' browsers reach the bot's web server at, e.g.
    #: "https://tapwork.example.org" (no trailing slash): Mini App buttons open pages
    #: under it and /dashboard sends sign-in links under it. Telegram opens only https
    #: pages; "" means no Mini App (boxes and points tasks say so) and no dashboard links
    public_url: str = ""
    #: how long a dashboard sign-in lasts before the operator asks for a new link
    session_hours: float = 12.0

    @property
    def secure(self) -> bool:
        """Cookies only over HTTPS when the public address is HTTPS."""
        return self.public_url.startswith("https://")


@dataclass(frozen=True)
class WebhookConfig:
    """The web server's address, and updates by webhook instead of long polling (``url``
    set: several replicas may share one database; ``listen`` alone: a polling bot that
    still serves ``/healthz``, ``/metrics``, the dashboard and the Mini App)."""

    #: "host:port" the web server listens on ("" for none): ``web.listen`` in the file
    listen: str = ""
    #: the public https URL Telegram posts updates to ("" for long polling)
    url: str = ""
    #: Telegram's X-Telegram-Bot-Api-Secret-Token, required with ``url``
    secret_token: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) to listen on, or None for no web server."""
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def path(self) -> str:
        """The path of ``url``: where the web server takes Telegram's posts."""
        return urlsplit(self.url).path or "/"


@dataclass(frozen=True)
class Config:
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    operators: OperatorsConfig = field(default_factory=OperatorsConfig)
    work: WorkConfig = field(default_factory=WorkConfig)
    payouts: PayoutsConfig = field(default_factory=PayoutsConfig)
    broadcast: BroadcastConfig = field(default_factory=BroadcastConfig)
    web: WebConfig = field(default_factory=WebConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    source: str = "<defaults>"

    def with_token(self, token: str) -> Config:
        return replace(self, telegram=replace(self.telegram, token=token))

    def with_storage(self, path: str) -> Config:
        return replace(self, storage=replace(self.storage, path=path))


#: the sections of config.toml and the keys each one takes
SECTIONS: dict[str, tuple[str, ...]] = {
    "telegram": ("token", "api_base_url", "file_base_url", "max_rate", "max_retries",
                 "http"),
    "storage": ("url", "path", "threaded"),
    "operators": ("ids",),
    "work": ("lease_check_seconds", "settle_check_seconds"),
    "payouts": ("min_payout", "default_min_payout"),
    "broadcast": ("broadcast_rate", "allow_paid_broadcast", "paid_rate",
                  "notify_every_hours"),
    "web": ("listen", "public_url", "session_hours"),
    "webhook": ("listen", "url", "secret_token"),
}
#: the numbers and amounts of config.toml and what each may be (``bot.limits``); the
#: README's configuration table shows the same ranges (tests/test_project_keys.py)
#: the HTTP clients python-telegram-bot can run on (``telegram.http``)
HTTP_CLIENTS = ("aiohttp", "httpx")
TELEGRAM_ID = Whole(1, 2**53 - 1)  # Telegram: user ids have at most 52 significant bits
RULES: dict[str, Rule] = {
    "telegram.max_rate": Number(0, 1000),
    "telegram.max_retries": Whole(0, 100),
    "telegram.http": Choice(HTTP_CLIENTS),
    "operators.ids": TELEGRAM_ID,  # each of them
    "work.lease_check_seconds": Number(0.01, 3600, "seconds"),
    "work.settle_check_seconds": Number(0.01, 3600, "seconds"),
    "payouts.min_payout": Money(),
    "payouts.default_min_payout": Money(),
    "broadcast.broadcast_rate": Number(0.01, 1000),
    "broadcast.paid_rate": Number(0.01, 1000),
    "broadcast.notify_every_hours": Number(0, 8760, "hours"),
    "web.session_hours": Number(0.1, 720, "hours"),
}
_KIND_NAMES: dict[type, str] = {str: "text", int: "a whole number", float: "a number",
                                bool: "true or false", list: "a list", dict: "a table"}


def kind_name(kind: type | tuple[type, ...]) -> str:
    """What a key expects, in words: ``(int, float)`` -> "a number"."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if set(kinds) == {int, float}:
        return "a number"
    return " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)


def value_name(value: Any) -> str:
    """What was written instead, in words: "text", "true", "a table" ..."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    for kind, name in _KIND_NAMES.items():
        if isinstance(value, kind):
            return name
    return "a date" if hasattr(value, "isoformat") else type(value).__name__


def _suggest(name: str, known: Iterable[str], shape: str = "{}") -> str:
    """" (did you mean token?)" for a likely typo, else nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {shape.format(close[0])}?)" if close else ""


def _table(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError("{where}: {name} must be a section ([{name}] with its keys below "
                          "it), not {got}", where=where, name=name, got=value_name(value))
    return value


def _get(table: dict[str, Any], section: str, key: str, kind: type | tuple[type, ...],
         default: Any, where: str) -> Any:
    if key not in table:
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # TOML true is an int to Python: never accept it as a number
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        raise ConfigError("{where}: {section}.{key} must be {kind}, not {got}", where=where,
                          section=section, key=key, kind=kind_name(kind),
                          got=value_name(value))
    return value


def _known_sections(data: dict[str, Any], where: str) -> None:
    for name, value in data.items():
        if name in SECTIONS:
            continue
        if isinstance(value, dict):
            raise ConfigError("{where}: unknown section [{name}]{hint}", where=where,
                              name=name, hint=_suggest(name, SECTIONS, "[{}]"))
        owner = next((s for s, keys in SECTIONS.items() if name in keys), None)
        if owner:
            raise ConfigError("{where}: {name} belongs in the [{owner}] section: write it "
                              "below a [{owner}] line", where=where, name=name, owner=owner)
        raise ConfigError("{where}: unknown key {name} outside any section", where=where,
                          name=name)


def _known(table: dict[str, Any], section: str, where: str) -> None:
    unknown = sorted(set(table) - set(SECTIONS[section]))
    if unknown:
        raise ConfigError("{where}: unknown key {key} in [{section}]{hint}", where=where,
                          key=unknown[0], section=section,
                          hint=_suggest(unknown[0], SECTIONS[section]))


def _ruled(table: dict[str, Any], section: str, key: str, default: Any, where: str,
           *, value: Any = None, name: str = "") -> Any:
    """A key read through its rule in ``RULES``; one line naming the key if refused."""
    rule = RULES[f"{section}.{key}"]
    if value is None:
        if key not in table:
            return default
        value = table[key]
    try:
        return rule.check(value)
    except Invalid as exc:
        raise ConfigError("{where}: {key} {why}", where=where,
                          key=name or f"{section}.{key}", why=str(exc)) from None


def parse_config(data: dict[str, Any], where: str = "<config>") -> Config:
    """Validate a parsed TOML document; the token may come from ``TAPWORK_TOKEN``."""
    _known_sections(data, where)
    tables = {name: _table(data, name, where) for name in SECTIONS}
    for name, table in tables.items():
        _known(table, name, where)
    tg, st, ops, work, pay, bc, web, hook = (tables[name] for name in SECTIONS)

    def number(table: dict[str, Any], section: str, key: str, default: float) -> float:
        return float(_ruled(table, section, key, default, where))

    d_bc = BroadcastConfig()
    broadcast = BroadcastConfig(
        broadcast_rate=number(bc, "broadcast", "broadcast_rate", d_bc.broadcast_rate),
        allow_paid_broadcast=_get(bc, "broadcast", "allow_paid_broadcast", bool,
                                  d_bc.allow_paid_broadcast, where),
        paid_rate=number(bc, "broadcast", "paid_rate", d_bc.paid_rate),
        notify_every_hours=number(bc, "broadcast", "notify_every_hours",
                                  d_bc.notify_every_hours))

    d = TelegramConfig()
    token = os.environ.get(TOKEN_ENV) or _get(tg, "telegram", "token", str, "", where)
    telegram = TelegramConfig(
        token=token.strip(),
        api_base_url=_get(tg, "telegram", "api_base_url", str, d.api_base_url, where),
        file_base_url=_get(tg, "telegram", "file_base_url", str, d.file_base_url, where),
        max_rate=number(tg, "telegram", "max_rate", d.max_rate),
        max_retries=_ruled(tg, "telegram", "max_retries", d.max_retries, where),
        http=_ruled(tg, "telegram", "http", d.http, where),
    )
    path, url = _storage(st, where)
    ids = _get(ops, "operators", "ids", list, [], where)
    for user in ids:
        try:
            TELEGRAM_ID.check(user)
        except Invalid:
            raise ConfigError("{where}: operators.ids must be a list of Telegram user ids, "
                              "whole numbers from 1 to {high}, not {got}", where=where,
                              high=TELEGRAM_ID.high, got=shown(user)) from None
    lease_check = number(work, "work", "lease_check_seconds", WorkConfig.lease_check_seconds)
    settle_check = number(work, "work", "settle_check_seconds",
                          WorkConfig.settle_check_seconds)
    threaded = _get(st, "storage", "threaded", bool, False, where)
    return Config(telegram=telegram,
                  storage=StorageConfig(path=path, threaded=threaded, url=url),
                  operators=OperatorsConfig(ids=tuple(ids)),
                  work=WorkConfig(lease_check_seconds=lease_check,
                                  settle_check_seconds=settle_check),
                  payouts=_payouts(pay, where), broadcast=broadcast,
                  web=_web(web, where), webhook=_webhook(hook, web, where),
                  source=where)


def _web(table: dict[str, Any], where: str) -> WebConfig:
    hours = float(_ruled(table, "web", "session_hours", WebConfig.session_hours, where))
    return WebConfig(public_url=_public_url(table, where), session_hours=hours)


def _public_url(table: dict[str, Any], where: str) -> str:
    """An https address with a host and nothing after the path, so links are built by
    appending to it (http only for this machine, in tests: Telegram opens Mini Apps over
    https alone, and a dashboard cookie must not travel in clear)."""
    url = str(_get(table, "web", "public_url", str, "", where)).strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or parts.query or parts.fragment or parts.username \
            or parts.password or not (parts.scheme == "https"
                                      or (parts.scheme == "http" and local)):
        raise ConfigError("{where}: web.public_url must be an https:// address such as "
                          "https://tapwork.example.org, without query, fragment or "
                          "password (Telegram opens Mini Apps over https only), not {got}",
                          where=where, got=repr(url[:60]))
    return url


#: the schemes ``storage.url`` takes, and the one meaning SQLite
SQLITE_SCHEME, POSTGRES_SCHEMES = "sqlite:///", ("postgresql://", "postgres://")


def _storage(table: dict[str, Any], where: str) -> tuple[str, str]:
    """(the SQLite file, the PostgreSQL URL or ""): from ``storage.url`` or, as before
    URLs, ``storage.path``; not both."""
    if "url" in table and "path" in table:
        raise ConfigError("{where}: storage.url and storage.path both name the database; "
                          "keep one (storage.url = \"sqlite:///FILE\" is storage.path = "
                          "\"FILE\")", where=where)
    if "url" not in table:
        path = _get(table, "storage", "path", str, StorageConfig.path, where)
        if not path.strip():
            raise ConfigError("{where}: storage.path is empty", where=where)
        return path, ""
    url = _get(table, "storage", "url", str, "", where).strip()
    if url.startswith(SQLITE_SCHEME):
        path = url.removeprefix(SQLITE_SCHEME)
        if not path:
            raise ConfigError("{where}: storage.url {url} names no file (sqlite:///"
                              "tapwork.db, or sqlite:////var/lib/tapwork.db for an "
                              "absolute path)", where=where, url=url)
        return path, ""
    if url.startswith("sqlite:"):
        raise ConfigError("{where}: storage.url {url}: a SQLite URL has three slashes "
                          "then the file, as in sqlite:///tapwork.db", where=where, url=url)
    if url.startswith(POSTGRES_SCHEMES):
        _check_postgres_url(url, where)
        return StorageConfig.path, url
    shown_url = url.split("://")[0] + "://…" if "://" in url else url
    raise ConfigError("{where}: storage.url {url} is neither sqlite:///FILE nor "
                      "postgresql://USER:PASSWORD@HOST:5432/DATABASE",
                      where=where, url=shown_url or '""')


def _check_postgres_url(url: str, where: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise ConfigError("{where}: storage.url: the port after {host}: is not a number "
                          "from 1 to 65535", where=where, host=parts.hostname or "the host"
                          ) from None
    if not parts.path.strip("/"):
        raise ConfigError("{where}: storage.url names no database: add /DATABASE after "
                          "the host, as in postgresql://tapwork@localhost:5432/tapwork",
                          where=where)


def _payouts(table: dict[str, Any], where: str) -> PayoutsConfig:
    """Minimum payouts as exact decimal strings per currency: ``USD = "5.00"``."""
    from bot.domain.money import is_currency

    minimums = _get(table, "payouts", "min_payout", dict, {}, where)
    parsed: dict[str, int] = {}
    for currency, text in minimums.items():
        if not is_currency(currency):
            raise ConfigError("{where}: payouts.min_payout: {code} is not an ISO 4217 "
                              "currency code such as USD", where=where, code=currency)
        parsed[currency] = _ruled(minimums, "payouts", "min_payout", None, where, value=text,
                                  name=f"payouts.min_payout.{currency}")
    default = _ruled(table, "payouts", "default_min_payout", None, where, value=table.get(
        "default_min_payout", "1.00"))
    return PayoutsConfig(min_payout=parsed, default_min_payout=default)


#: what Telegram accepts as a webhook's secret token
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _listen(web: dict[str, Any], hook: dict[str, Any], where: str) -> str:
    """``web.listen``, or ``webhook.listen``, its first name (old files keep working; two
    addresses are refused: the bot has one web server)."""
    given = {f"{section}.listen": value for section, table in (("web", web), ("webhook", hook))
             if (value := _get(table, section, "listen", str, "", where).strip())}
    if len(set(given.values())) > 1:
        raise ConfigError("{where}: web.listen ({web}) and webhook.listen ({hook}) name two "
                          "addresses; the bot has one web server: keep web.listen", where=where,
                          web=repr(given["web.listen"]), hook=repr(given["webhook.listen"]))
    for key, listen in given.items():
        host, colon, port = listen.rpartition(":")
        if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ConfigError("{where}: {key} must be host:port, such as \"0.0.0.0:8080\", "
                              "not {got}", where=where, key=key, got=repr(listen))
    return next(iter(given.values()), "")


def _webhook(table: dict[str, Any], web: dict[str, Any], where: str) -> WebhookConfig:
    """``[webhook]`` and ``web.listen``: each key checked on its own, then together."""
    listen = _listen(web, table, where)
    url, secret = (_get(table, "webhook", key, str, "", where).strip()
                   for key in ("url", "secret_token"))
    if url:
        parts = urlsplit(url)
        local = parts.scheme == "http" and parts.hostname in LOOPBACK
        if (parts.scheme != "https" and not local) or not parts.hostname:
            raise ConfigError("{where}: webhook.url must be an https:// address Telegram "
                              "can reach, not {got}", where=where, got=repr(url))
        if (parts.path or "/") in ("/healthz", "/metrics"):
            raise ConfigError("{where}: webhook.url's path {path} is the web server's own "
                              "page; use another, such as /telegram", where=where,
                              path=parts.path)
        if not listen:
            raise ConfigError("{where}: webhook.url needs web.listen, the host:port "
                              "this replica takes the posts on (such as \"0.0.0.0:8080\")",
                              where=where)
        if not secret:
            raise ConfigError("{where}: webhook.url needs webhook.secret_token, so that "
                              "only Telegram's posts are taken", where=where)
    if secret and not SECRET_TOKEN.fullmatch(secret):
        raise ConfigError("{where}: webhook.secret_token must be 1 to 256 letters A-Z, "
                          "a-z, digits, _ or -", where=where)
    if secret and not url:
        raise ConfigError("{where}: webhook.secret_token is set but webhook.url is not "
                          "(set both for webhook mode, neither for long polling)",
                          where=where)
    return WebhookConfig(listen=listen, url=url, secret_token=secret)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read a config file. A relative SQLite file is taken from the file's folder."""
    file = Path(path)
    where = str(file)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config file {where} not found (copy config.example.toml to start)",
                          where=where) from None
    except OSError as exc:
        raise ConfigError("cannot read config file {where}: {why}", where=where,
                          why=exc.strerror or str(exc)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("{where} is not UTF-8 text", where=where) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("{where} is not valid TOML: {why}", where=where, why=str(exc)) from None
    config = parse_config(data, where)
    db = Path(config.storage.path)
    if not config.storage.postgres and not db.is_absolute():
        config = config.with_storage(str(file.resolve().parent / db))
    return config
