"""``tapwork db copy -c CONFIG --to postgresql://…``: move a bot from SQLite to PostgreSQL.

The config's SQLite file (``storage.path`` or a ``sqlite:///`` URL) is brought to this
version's schema, the target is created to the same schema, then ``storage.copy`` copies
every table into it and checks the copy (row counts, every ledger sum) before it commits.
The bot must be stopped: its run lock is taken for the copy, so a running bot (which
would go on writing to the file) makes the command refuse. Afterwards, point
``storage.url`` at the PostgreSQL database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from bot.config import Config
from bot.domain.errors import ConfigError, MissingDatabase
from bot.runlock import RunLock
from storage.backend import is_postgres_url, open_database
from storage.copy import Copied, copy_database
from storage.pgconnect import redacted


async def _migrate(where: str) -> None:
    db = await open_database(where)
    await db.close()


def copy_to_postgres(config: Config, url: str, say: Callable[[str], None]) -> Copied:
    """Run the copy; ``say`` hears a line per table and the summary."""
    if config.storage.postgres:
        raise ConfigError("{where}: storage.url is already PostgreSQL; `tapwork db copy` "
                          "reads the SQLite file of a config that still uses one",
                          where=config.source)
    if not is_postgres_url(url):
        raise ConfigError("--to must be a postgresql:// URL, such as "
                          "postgresql://tapwork:PASSWORD@localhost:5432/tapwork")
    path = config.storage.path
    if path == ":memory:" or not Path(path).is_file():
        raise MissingDatabase("there is no database at {path} to copy (check storage.path "
                              "in {where})", path=path, where=config.source)
    with RunLock(path):
        asyncio.run(_migrate(path))
        asyncio.run(_migrate(url))
        copied = copy_database(
            path, url, progress=lambda table, rows: say(f"{table}: {rows} rows"))
    total = sum(rows for _, rows in copied.tables)
    say(f"copied {total} rows in {len(copied.tables)} tables from {path} to "
        f"{redacted(url)}; row counts and {copied.balances} ledger balances (worker, "
        f"currency, bucket) agree")
    say(f'now set storage.url = "{redacted(url)}" in {config.source} (with the password)')
    return copied
