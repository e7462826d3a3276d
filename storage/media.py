"""Media files (photos, voice notes, audio) and the Telegram ``file_id`` each one earns.

Rows are added by an import's publishing (``storage/imports.py``), once per content hash.
"""

from __future__ import annotations

from bot.domain.records import Media
from storage.connection import Connection


async def get(conn: Connection, media_id: int) -> Media | None:
    async with conn.execute(
        "SELECT id, kind, mime, filename, file_id FROM media WHERE id = ?", (media_id,)
    ) as cur:
        row = await cur.fetchone()
    return Media(row[0], row[1], row[2], row[3], row[4]) if row else None


async def size(conn: Connection, media_id: int) -> tuple[int, int] | None:
    """(width, height) in pixels of a picture as phones get it; None for sound."""
    async with conn.execute("SELECT width, height FROM media WHERE id = ?",
                            (media_id,)) as cur:
        row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row and row[0] and row[1] else None


async def data(conn: Connection, media_id: int) -> bytes | None:
    async with conn.execute("SELECT data FROM media WHERE id = ?", (media_id,)) as cur:
        row = await cur.fetchone()
    return bytes(row[0]) if row else None


async def set_file_id(conn: Connection, media_id: int, file_id: str) -> None:
    await conn.execute("UPDATE media SET file_id = ? WHERE id = ? AND file_id IS NULL",
                       (file_id, media_id))
