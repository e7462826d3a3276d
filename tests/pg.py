"""The PostgreSQL server the tests run against, and a fresh database for each test.

``TAPWORK_TEST_POSTGRES`` names a database on the server to connect to for setting up
(default ``postgresql://postgres@127.0.0.1:5432/test``); the role must be allowed to
create databases. The session creates a template database of its own
(``tapwork_test_<pid>_<random>``: C collation, from template0) and migrates it once;
each test gets a copy (``CREATE DATABASE … TEMPLATE``: about 20 ms, and 30-60 ms to
drop, measured on the CI machine) and it is dropped after the test. Every database the
session made is dropped when it ends.

When the server does not answer: with ``CI`` set, the PostgreSQL tests fail with one
line saying so (a CI run without its database must not pass); otherwise they are
skipped with one line.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from storage.postgres import PostgresDatabase

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
ENV = "TAPWORK_TEST_POSTGRES"


def admin_url() -> str:
    return os.environ.get(ENV) or DEFAULT_URL


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class Server:
    """The session's template database, and fresh copies of it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"tapwork_test_{os.getpid()}_{secrets.token_hex(3)}"
        self.template = f"{self.prefix}_tpl"
        self._numbers = itertools.count(1)
        self._admin = psycopg.connect(url, autocommit=True, connect_timeout=5)

    def start(self) -> None:
        self._admin.execute(
            f"CREATE DATABASE {self.template} TEMPLATE template0 ENCODING 'UTF8'"
            " LC_COLLATE 'C' LC_CTYPE 'C'")
        asyncio.run(_migrate(with_database(self.url, self.template)))

    def create(self) -> str:
        """A new database, migrated; returns its URL."""
        name = f"{self.prefix}_{next(self._numbers)}"
        self._admin.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return with_database(self.url, name)

    def create_empty(self) -> str:
        """A new database with no tables at all (for ``tapwork db copy``)."""
        name = f"{self.prefix}_{next(self._numbers)}"
        self._admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
                            " LC_COLLATE 'C' LC_CTYPE 'C'")
        return with_database(self.url, name)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.strip("/")
        self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        rows = self._admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            (f"{self.prefix}%",)).fetchall()
        for (name,) in rows:
            self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._admin.close()


async def _migrate(url: str) -> None:
    db = await PostgresDatabase.open(url)
    await db.close()


def unavailable(why: str) -> None:
    """Fail (CI) or skip (elsewhere) with one line."""
    line = (f"PostgreSQL tests: no server at {ENV}={admin_url()} ({why}); "
            "start one, or set the variable")
    if os.environ.get("CI"):
        pytest.fail(line, pytrace=False)
    pytest.skip(line)
