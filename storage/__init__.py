"""Everything that speaks SQL. Functions take a connection and plain values."""

from storage.db import Database, DatabaseBusy

__all__ = ["Database", "DatabaseBusy"]
