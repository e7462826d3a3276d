"""An import's own statements: ids seen, items and media staged, then published.

Unlike the rest of ``storage/`` these take a blocking connection (``SideConnection``:
``sqlite3``'s, or ``storage.pgside``'s shaped like it): an import runs in a worker thread
on a connection of its own (``Database.open_side``), so that checking and writing a
million lines never runs on the event loop. Each write is a short transaction
(``write``); the caller decides when it may take one (``bot/intake/loader.py``). On
PostgreSQL a write takes the writer lock every transaction takes
(``storage.postgres.WRITER_LOCK``), and staged items go in with COPY.

Staged rows are invisible to everything else: nothing reads ``import_items`` or
``import_media`` but publishing, which moves them into ``items`` and ``media``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from storage.connection import Connection, SideConnection
from storage.dialect import is_postgres
from storage.postgres import WRITER_LOCK

STAGING, PUBLISHING = "staging", "publishing"
#: staged media files deleted per transaction (each up to 20 MB of pages to free)
MEDIA_PER_DISCARD = 10


@dataclass(frozen=True)
class StagedMedia:
    sha256: str
    kind: str
    mime: str
    filename: str
    width: int | None
    height: int | None
    duration: int | None
    data: bytes


@dataclass(frozen=True)
class StagedItem:
    ext_id: str
    text: str | None
    media_sha256: str | None
    gold: str | None
    quiz: bool
    explain: dict[str, str] | None
    prelabel: str | None
    lang: str


@dataclass(frozen=True)
class Unfinished:
    """An import whose process stopped before it ended."""

    id: int
    project_id: int
    state: str
    new_tasks: bool


#: a PostgreSQL write takes the writer lock every transaction takes (one writer at a time)
_PG_BEGIN = f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})"


def _values(conn: SideConnection, cast: str = "") -> str:
    """A subquery of the values of one JSON array parameter (SQLite's ``json_each``,
    PostgreSQL's ``json_array_elements_text``), cast as ``cast`` when given."""
    if is_postgres(conn):
        value = f"CAST(value AS {cast})" if cast else "value"
        return f"SELECT {value} FROM json_array_elements_text(CAST(? AS json))"
    return "SELECT value FROM json_each(?)"


@contextmanager
def write(conn: SideConnection) -> Iterator[SideConnection]:
    """One short write transaction. After some errors (a full disk) SQLite has already
    rolled back: the ROLLBACK is then skipped, so the real cause is what propagates."""
    conn.execute(_PG_BEGIN if is_postgres(conn) else "BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# --------------------------------------------------------------------------- ids


def _seen(conn: SideConnection) -> str:
    return "pg_temp.import_ids" if is_postgres(conn) else "temp.import_ids"


def create_seen_ids(conn: SideConnection) -> None:
    """The ids of the file being checked, in a temporary table: on disk, per connection,
    so a million ids cost pages of SQLite's cache, not memory."""
    if is_postgres(conn):
        conn.execute('CREATE TEMP TABLE IF NOT EXISTS import_ids '
                     '(ext_id TEXT COLLATE "C" PRIMARY KEY, line BIGINT NOT NULL)')
    else:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_ids "
                     "(ext_id TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID")
    conn.execute(f"DELETE FROM {_seen(conn)}")


def register_ids(conn: SideConnection, project_id: int,
                 ids: Sequence[tuple[str, int]]) -> dict[str, int | None]:
    """Remember ``(ext_id, line)`` pairs (distinct ids); returns the ones met before: the
    line an id was first used on in this file, or None when the project already has it.
    An id the file repeats is not checked against the project again."""
    if not ids:
        return {}
    wanted = json.dumps([ext_id for ext_id, _ in ids], ensure_ascii=False)
    clashes: dict[str, int | None] = dict(conn.execute(
        f"SELECT ext_id, line FROM {_seen(conn)}"
        f" WHERE ext_id IN ({_values(conn)})", (wanted,)).fetchall())
    fresh = [(ext_id, line) for ext_id, line in ids if ext_id not in clashes]
    if fresh:
        wanted = json.dumps([ext_id for ext_id, _ in fresh], ensure_ascii=False)
        for (ext_id,) in conn.execute(
                "SELECT ext_id FROM items WHERE project_id = ?"
                f" AND ext_id IN ({_values(conn)})", (project_id, wanted)):
            clashes[ext_id] = None
        # a deferred transaction writing a temporary table locks only that: the work
        # loop's writers never wait for it (BEGIN IMMEDIATE would lock the database file)
        conn.execute("BEGIN")
        try:
            conn.executemany(f"INSERT INTO {_seen(conn)} (ext_id, line) VALUES (?, ?)",
                             fresh)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return clashes


# --------------------------------------------------------------------------- staging


def begin(conn: SideConnection, project_id: int, now: str) -> int:
    with write(conn):
        row = conn.execute("INSERT INTO imports (project_id, state, created_at)"
                           " VALUES (?, ?, ?) RETURNING id",
                           (project_id, STAGING, now)).fetchone()
    return int(row[0])


#: the staged items' columns, in the order ``stage`` writes them
_ITEM_COLUMNS = ("import_id", "ext_id", "text", "media_sha256", "gold", "quiz", "explain",
                 "prelabel", "lang")


def stage(conn: SideConnection, import_id: int, media: Sequence[StagedMedia],
          items: Sequence[StagedItem]) -> None:
    """One batch, hidden: call inside ``write``. Media are kept once per content hash."""
    conn.executemany(
        "INSERT INTO import_media (import_id, sha256, kind, mime, filename, width, height,"
        " duration, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (import_id, sha256) DO NOTHING",
        [(import_id, m.sha256, m.kind, m.mime, m.filename, m.width, m.height, m.duration,
          m.data) for m in media])
    rows = [(import_id, it.ext_id, it.text, it.media_sha256, it.gold, int(it.quiz),
             json.dumps(it.explain, ensure_ascii=False) if it.explain else None, it.prelabel,
             it.lang) for it in items]
    copy_rows = getattr(conn, "copy_rows", None)
    if copy_rows is not None:  # PostgreSQL: COPY, a few times faster than INSERTs
        copy_rows("import_items", _ITEM_COLUMNS, rows)
        return
    conn.executemany(
        f"INSERT INTO import_items ({', '.join(_ITEM_COLUMNS)})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def discard_some(conn: SideConnection, import_id: int, limit: int) -> int:
    """Delete up to ``limit`` staged rows of an import that will not be published; 0 once
    none is left (then the import's own row goes too). Call inside ``write``."""
    gone = conn.execute(
        "DELETE FROM import_items WHERE id IN (SELECT id FROM import_items"
        " WHERE import_id = ? LIMIT ?)", (import_id, limit)).rowcount
    gone += conn.execute(
        "DELETE FROM import_media WHERE id IN (SELECT id FROM import_media"
        " WHERE import_id = ? LIMIT ?)", (import_id, MEDIA_PER_DISCARD)).rowcount
    if not gone:
        conn.execute("DELETE FROM imports WHERE id = ?", (import_id,))
    return gone


def commit(conn: SideConnection, import_id: int, new_tasks: bool) -> None:
    """The import's point of no return, one statement: from here it is published, even
    by another process if this one dies."""
    with write(conn):
        conn.execute("UPDATE imports SET state = ?, new_tasks = ? WHERE id = ?",
                     (PUBLISHING, int(new_tasks), import_id))


def pages(conn: SideConnection) -> tuple[int, int, int, int] | None:
    """(pages in the file, free pages in it, the most it may have, bytes a page): what
    publishing may grow into; None on PostgreSQL (the server has no such limit to
    check, and its disk is not ours to measure)."""
    if is_postgres(conn):
        return None

    def pragma(name: str) -> int:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])

    return (pragma("page_count"), pragma("freelist_count"), pragma("max_page_count"),
            pragma("page_size"))


# --------------------------------------------------------------------------- publishing


def publish_media(conn: SideConnection, import_id: int, max_bytes: int) -> int:
    """Move staged media into ``media``, up to about ``max_bytes`` (at least one file);
    returns how many moved, 0 when none is left. Call inside ``write``. A file the
    database already holds is kept once, with its Telegram file id."""
    chosen: list[int] = []
    size = 0
    for media_id, length in conn.execute(
            "SELECT id, length(data) FROM import_media WHERE import_id = ? LIMIT 1000",
            (import_id,)).fetchall():
        if chosen and size + length > max_bytes:
            break
        chosen.append(media_id)
        size += length
    if not chosen:
        return 0
    wanted = json.dumps(chosen)
    conn.execute(
        "INSERT INTO media (sha256, kind, mime, filename, width, height, duration, data)"
        " SELECT sha256, kind, mime, filename, width, height, duration, data"
        f" FROM import_media WHERE id IN ({_values(conn, 'BIGINT')})"
        " ORDER BY id ON CONFLICT (sha256) DO NOTHING", (wanted,))
    conn.execute(f"DELETE FROM import_media WHERE id IN ({_values(conn, 'BIGINT')})",
                 (wanted,))
    return len(chosen)


def publish_items(conn: SideConnection, import_id: int, project_id: int, now: str,
                  limit: int) -> int:
    """Move the next ``limit`` staged items, in file order, into the project; returns how
    many moved, 0 when none is left. Call inside ``write``."""
    row = conn.execute(
        "SELECT max(id) FROM (SELECT id FROM import_items WHERE import_id = ?"
        " ORDER BY id LIMIT ?) AS batch", (import_id, limit)).fetchone()
    last = row[0] if row else None
    if last is None:
        return 0
    moved = conn.execute(
        """
        INSERT INTO items (project_id, ext_id, text, media_id, gold, quiz, explain, prelabel,
                           lang, created_at)
        SELECT ?, s.ext_id, s.text, (SELECT m.id FROM media m WHERE m.sha256 = s.media_sha256),
               s.gold, s.quiz, s.explain, s.prelabel, s.lang, ?
        FROM import_items s WHERE s.import_id = ? AND s.id <= ? ORDER BY s.id
        """, (project_id, now, import_id, last)).rowcount
    conn.execute("DELETE FROM import_items WHERE import_id = ? AND id <= ?",
                 (import_id, last))
    return moved


async def forget(conn: Connection, import_id: int) -> None:
    """The import is over: in the transaction that ends publishing (on the main
    connection: that step also uses the project's and the broadcasts' statements)."""
    await conn.execute("DELETE FROM imports WHERE id = ?", (import_id,))


def unfinished(conn: SideConnection) -> list[Unfinished]:
    return [Unfinished(row[0], row[1], row[2], bool(row[3])) for row in conn.execute(
        "SELECT id, project_id, state, new_tasks FROM imports ORDER BY id").fetchall()]
