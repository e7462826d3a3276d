"""Everything that speaks SQL. Functions take a connection (``storage.connection.Connection``,
the backend seam) and plain values, and return plain values or ``bot.domain.records`` types.
Two backends: SQLite (``storage.db``) and PostgreSQL (``storage.postgres``), opened by
``open_database`` from the configured URL."""

from storage.backend import Database, open_database

__all__ = ["Database", "open_database"]
