"""The errors either backend's driver raises, for code that catches "the database failed"
without knowing which one it has (``except StorageError``)."""

from __future__ import annotations

import sqlite3

import psycopg

StorageError: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
