"""The TOML config file as frozen dataclasses.

Every problem becomes one ``ConfigError`` line naming the file and key, because an
operator reading a traceback at 2 a.m. should not have to guess which key is wrong.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

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


@dataclass(frozen=True)
class StorageConfig:
    path: str = "tapwork.db"
    #: run SQLite on aiosqlite's thread instead of inline on the event loop
    threaded: bool = False


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
class Config:
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    operators: OperatorsConfig = field(default_factory=OperatorsConfig)
    work: WorkConfig = field(default_factory=WorkConfig)
    payouts: PayoutsConfig = field(default_factory=PayoutsConfig)
    broadcast: BroadcastConfig = field(default_factory=BroadcastConfig)
    source: str = "<defaults>"

    def with_token(self, token: str) -> Config:
        return replace(self, telegram=replace(self.telegram, token=token))

    def with_storage(self, path: str) -> Config:
        return replace(self, storage=replace(self.storage, path=path))


def _table(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError("{where}: [{name}] must be a table", where=where, name=name)
    return value


def _get(table: dict[str, Any], section: str, key: str, kind: type | tuple[type, ...],
         default: Any, where: str) -> Any:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        value = None  # TOML true is an int to Python; never accept it as a number
    if not isinstance(value, kind):
        raise ConfigError("{where}: {section}.{key} has the wrong type", where=where,
                          section=section, key=key)
    return value


def _known(table: dict[str, Any], section: str, keys: set[str], where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise ConfigError("{where}: unknown key {section}.{key}", where=where,
                          section=section, key=unknown[0])


def parse_config(data: dict[str, Any], where: str = "<config>") -> Config:
    """Validate a parsed TOML document; the token may come from ``TAPWORK_TOKEN``."""
    _known(data, "", {"telegram", "storage", "operators", "work", "payouts", "broadcast"},
           where)
    tg = _table(data, "telegram", where)
    _known(tg, "telegram", {"token", "api_base_url", "file_base_url", "max_rate",
                            "max_retries"}, where)
    st = _table(data, "storage", where)
    _known(st, "storage", {"path", "threaded"}, where)
    ops = _table(data, "operators", where)
    _known(ops, "operators", {"ids"}, where)
    work = _table(data, "work", where)
    _known(work, "work", {"lease_check_seconds", "settle_check_seconds"}, where)
    pay = _table(data, "payouts", where)
    _known(pay, "payouts", {"min_payout", "default_min_payout"}, where)
    bc = _table(data, "broadcast", where)
    _known(bc, "broadcast", {"broadcast_rate", "allow_paid_broadcast", "paid_rate",
                             "notify_every_hours"}, where)
    d_bc = BroadcastConfig()
    broadcast = BroadcastConfig(
        broadcast_rate=float(_get(bc, "broadcast", "broadcast_rate", (int, float),
                                  d_bc.broadcast_rate, where)),
        allow_paid_broadcast=_get(bc, "broadcast", "allow_paid_broadcast", bool,
                                  d_bc.allow_paid_broadcast, where),
        paid_rate=float(_get(bc, "broadcast", "paid_rate", (int, float), d_bc.paid_rate,
                             where)),
        notify_every_hours=float(_get(bc, "broadcast", "notify_every_hours", (int, float),
                                      d_bc.notify_every_hours, where)))
    if broadcast.broadcast_rate <= 0 or broadcast.paid_rate <= 0 \
            or broadcast.notify_every_hours < 0:
        raise ConfigError("{where}: broadcast rates must be positive", where=where)

    d = TelegramConfig()
    token = os.environ.get(TOKEN_ENV) or _get(tg, "telegram", "token", str, "", where)
    telegram = TelegramConfig(
        token=token.strip(),
        api_base_url=_get(tg, "telegram", "api_base_url", str, d.api_base_url, where),
        file_base_url=_get(tg, "telegram", "file_base_url", str, d.file_base_url, where),
        max_rate=float(_get(tg, "telegram", "max_rate", (int, float), d.max_rate, where)),
        max_retries=_get(tg, "telegram", "max_retries", int, d.max_retries, where),
    )
    if telegram.max_rate < 0 or telegram.max_retries < 0:
        raise ConfigError("{where}: telegram.max_rate and max_retries cannot be negative",
                          where=where)
    path = _get(st, "storage", "path", str, StorageConfig.path, where)
    if not path.strip():
        raise ConfigError("{where}: storage.path is empty", where=where)
    ids = _get(ops, "operators", "ids", list, [], where)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ConfigError("{where}: operators.ids must be a list of Telegram user ids",
                          where=where)
    lease_check = float(_get(work, "work", "lease_check_seconds", (int, float),
                             WorkConfig.lease_check_seconds, where))
    settle_check = float(_get(work, "work", "settle_check_seconds", (int, float),
                              WorkConfig.settle_check_seconds, where))
    if lease_check <= 0 or settle_check <= 0:
        raise ConfigError("{where}: work.*_seconds must be positive", where=where)
    threaded = _get(st, "storage", "threaded", bool, False, where)
    return Config(telegram=telegram, storage=StorageConfig(path=path, threaded=threaded),
                  operators=OperatorsConfig(ids=tuple(ids)),
                  work=WorkConfig(lease_check_seconds=lease_check,
                                  settle_check_seconds=settle_check),
                  payouts=_payouts(pay, where), broadcast=broadcast, source=where)


def _payouts(table: dict[str, Any], where: str) -> PayoutsConfig:
    """Minimum payouts as exact decimal strings per currency: ``USD = "5.00"``."""
    from bot.money import is_currency, parse_amount

    minimums = _get(table, "payouts", "min_payout", dict, {}, where)
    parsed: dict[str, int] = {}
    for currency, text in minimums.items():
        if not is_currency(currency) or not isinstance(text, str):
            raise ConfigError('{where}: payouts.min_payout.{code} must be an ISO 4217 code '
                              'with a decimal string, e.g. USD = "5.00"', where=where,
                              code=currency)
        try:
            parsed[currency] = parse_amount(text)
        except ValueError as exc:
            raise ConfigError("{where}: payouts.min_payout.{code}: {why}", where=where,
                              code=currency, why=str(exc)) from None
    default_text = _get(table, "payouts", "default_min_payout", str, "1.00", where)
    try:
        default = parse_amount(default_text)
    except ValueError as exc:
        raise ConfigError("{where}: payouts.default_min_payout: {why}", where=where,
                          why=str(exc)) from None
    return PayoutsConfig(min_payout=parsed, default_min_payout=default)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read a config file. A relative ``storage.path`` is taken from the file's folder."""
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
    if not db.is_absolute():
        config = config.with_storage(str(file.resolve().parent / db))
    return config
