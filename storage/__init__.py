"""Everything that speaks SQL. Functions take a connection and plain values."""

from storage.db import Database

__all__ = ["Database"]
