"""Everything that speaks SQL. Functions take a connection (``storage.connection.Connection``,
the backend seam) and plain values, and return plain values or ``bot.domain.records`` types."""

from storage.db import Database

__all__ = ["Database"]
