"""How PostgreSQL's values and rows look to the storage functions: as SQLite's do.

- Rows read by column name and by position, like ``sqlite3.Row`` (psycopg's dict and
  namedtuple row factories give one or the other, and a namedtuple cannot name a
  column ``count``): ``PgRow``, made by ``pg_row``.
- ``numeric`` (what ``sum()`` of a BIGINT column is) comes back as ``int`` when whole
  and ``float`` otherwise, as SQLite gives its sums and averages; money sums are then
  exact Python integers, never ``Decimal``.
- A Python ``bool`` parameter is written as 1 or 0: the schema keeps flags in integer
  columns on both backends, as SQLite does.
- A ``str`` parameter goes as psycopg sends it by default, of type "unknown", so
  PostgreSQL infers its type from where it is used, as SQLite does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from psycopg import BaseConnection
from psycopg.abc import Buffer
from psycopg.adapt import Dumper, Loader
from psycopg.postgres import types as pg_types
from psycopg.rows import RowMaker


class PgRow:
    """One result row: ``row["column"]``, ``row[0]``, unpacking, ``keys()``."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PgRow):
            return self._values == other._values
        return self._values == other

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"PgRow{self._values!r}"

    def keys(self) -> list[str]:
        return list(self._index)


def pg_row(cursor: Any) -> RowMaker[PgRow]:
    """psycopg row factory (sync and async cursors alike) making ``PgRow``."""
    description = cursor.description
    index = {} if description is None else {c.name: i for i, c in enumerate(description)}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, index)

    return make


class _WholeNumeric(Loader):
    """``numeric`` text as ``int`` when it has no fraction, else ``float``."""

    def load(self, data: Buffer) -> int | float:
        text = bytes(data)
        if b"." in text or b"n" in text or b"N" in text:  # 2.5, NaN, Infinity
            return float(text)
        return int(text)


class _BoolAsInt(Dumper):
    oid = pg_types["int8"].oid

    def dump(self, obj: Any) -> Buffer:
        return b"1" if obj else b"0"


def adapt(conn: BaseConnection[Any]) -> None:
    """Register the loaders and dumpers above on one connection."""
    conn.adapters.register_loader("numeric", _WholeNumeric)
    conn.adapters.register_dumper(bool, _BoolAsInt)
