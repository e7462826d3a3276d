"""Write a checked items file into the database without ever stalling the work loop.

An import of a million items once wrote everything in one transaction on the event
loop's connection: every worker waited 20 s for an answer, and the file sat in memory.
Now the file is read and checked in batches (``bot.intake.importer.Checking``) in a worker
thread, on a connection of the import's own (``Database.open_side``), and written in
short transactions, one batch each:

1. Staging. While every line so far is good, each checked batch is written to
   ``import_items`` and ``import_media`` under an import id, hidden from everything
   else. Ids are remembered in a temporary table on disk, so memory stays that of one
   batch, not of the file. A bad line stops the writing (checking goes on, to report
   every problem) and what was staged is deleted: nothing was imported.
2. The commit: one statement marks the import ``publishing``. Before it, anything that
   stops the import (an error, a full disk, a crash) leaves nothing visible; after it,
   the import happens, even if this process dies: whichever process next takes the
   import lock finishes it (``recover``, run when the bot starts and before each import).
3. Publishing moves the staged rows into ``media`` and ``items``, a batch at a time, in
   file order, then refreshes the project's languages and tells its workers, with the
   import's row deleted in that same transaction.

Why batches of short transactions rather than one: SQLite has one writer, and the work
loop writes on every answer. Each batch takes this process's database lock
(``Database.exclusive``) the way every transaction here does, so answers queue behind at
most one batch (a few milliseconds) and go first before the next: FIFO, with no busy
wait on the event loop's thread. While a batch is checked (the long part) no lock is
held at all; between published batches the import pauses as long as the batch took (at
most ``MAX_PAUSE``), so a bot in another process gets its turn too.

Why a staging table rather than writing ``items`` directly: rows written there are served
at once, so a failure half way would leave half a file that workers may already have
answered. The cost is writing each item twice: staging and publishing together took a
tenth of a 50,000-item import's time with languages detected, a sixth without.

Before the commit there must be room for publishing: about as many free pages as staging
took (SQLite's ``max_page_count`` and the disk). A disk that fills anyway while
publishing (another program writing) stops the import with the count published so far;
the rest is published by the next ``recover``.

One import runs at a time per database (``Database.import_lock``: a lock file beside a
SQLite database, ``DB-import.lock``, held with ``flock``; a session advisory lock on
PostgreSQL. Either is released when its process dies, which is how a leftover is told
from an import in progress).

On PostgreSQL the same steps run on a psycopg connection (``storage.pgside``): each batch
takes the database's writer lock in its own transaction, so the work loop's writers
queue behind one batch there too, and there is no file whose room to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bot.clock import Clock, to_iso
from bot.domain.errors import DatabaseBusy, TapworkError
from bot.i18n import N_
from bot.intake.importer import Checking
from bot.intake.media import format_size
from bot.intake.records import ImportResult, ItemRecord, UnreadableFile
from storage import Database
from storage import broadcasts as broadcast_store
from storage import imports as import_store
from storage import projects as project_store
from storage.backend import ImportLock
from storage.connection import SideConnection
from storage.errors import StorageError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: items moved into ``items`` per published batch (a few milliseconds of lock)
PUBLISH_ITEMS = 2_000
#: media bytes moved per published batch
PUBLISH_MEDIA_BYTES = 16 * 1024 * 1024
#: staged rows deleted per transaction when an import is given up
DISCARD_ROWS = 5_000
#: the longest pause between published batches, in seconds
MAX_PAUSE = 0.05

#: what ends ``recover`` (logged) and publishing (told to the operator)
_FAILED_IMPORT: tuple[type[Exception], ...] = (*StorageError, TapworkError)
_STOPPED: tuple[type[Exception], ...] = (*StorageError, DatabaseBusy)

#: events for observers: a batch was staged, a batch was published
STAGED, PUBLISHED = "staged", "published"


class ImportFailed(TapworkError):
    """The import could not run or finish for a reason outside the file's lines."""


class _SeenIds:
    """The file's ids in a temporary table of the import's connection."""

    def __init__(self, conn: SideConnection, project_id: int) -> None:
        self.conn = conn
        self.project_id = project_id

    def register(self, ids: Sequence[tuple[str, int]]) -> dict[str, int | None]:
        return import_store.register_ids(self.conn, self.project_id, ids)


def _why(exc: Exception) -> str:
    if getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "is full" in str(exc):
        return f"the database or the disk is full ({exc})"
    return f"the database refused it ({exc})"


async def _in_thread(func: Callable[..., T], *args: Any) -> T:
    """``func`` in a worker thread; if the caller is cancelled meanwhile, wait for the
    thread to finish before going on, so the import's connection is never used by two
    threads at once (a thread cannot be stopped half way)."""
    future = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await future
        raise


def _stage(conn: SideConnection, import_id: int, batch: list[ItemRecord]) -> None:
    media: dict[str, import_store.StagedMedia] = {}
    items = []
    for record in batch:
        m = record.media
        if m is not None and m.data and m.sha256 not in media:
            media[m.sha256] = import_store.StagedMedia(
                m.sha256, m.kind, m.mime, m.filename, m.width, m.height, m.duration, m.data)
        items.append(import_store.StagedItem(
            ext_id=record.ext_id, text=record.text,
            media_sha256=m.sha256 if m is not None else None, gold=record.gold,
            quiz=record.quiz, explain=dict(record.explain.texts) if record.explain else None,
            prelabel=record.prelabel, lang=record.lang))
    with import_store.write(conn):
        import_store.stage(conn, import_id, list(media.values()), items)


def _in_write(conn: SideConnection, func: Callable[..., T], *args: Any) -> T:
    with import_store.write(conn):
        return func(conn, *args)


def _used_pages(conn: SideConnection) -> int:
    counted = import_store.pages(conn)
    if counted is None:
        return 0
    pages, free, _, _ = counted
    return pages - free


class Loader:
    """Runs imports for ``Catalog``; ``on_batch`` observers hear of every batch written
    (``STAGED`` or ``PUBLISHED``, with the items written in that step so far)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.on_batch: list[Callable[[str, int], None]] = []

    async def run(self, project_id: int, open_items: Callable[[], Checking]) -> ImportResult:
        """Check and write one file. Line problems come back in the result (nothing
        written); anything else that stops it raises ``ImportFailed``."""
        try:
            checking = await _in_thread(open_items)
        except UnreadableFile as exc:
            raise ImportFailed(exc.message, **exc.params) from None
        try:
            lock = await self._lock()
            try:
                conn = await self._connect()
                try:
                    await self._recover(conn)
                    return await self._import(conn, project_id, checking)
                finally:
                    await _in_thread(conn.close)
            finally:
                lock.release()
        finally:
            await _in_thread(checking.close)

    async def recover(self) -> None:
        """Finish or undo imports a dead process left (when no import is running)."""
        if self.db.path == ":memory:":
            return
        try:
            lock = await asyncio.to_thread(self.db.import_lock)
        except (OSError, TapworkError) as exc:
            log.warning("cannot check for unfinished imports: %s", exc)
            return
        if lock is None:
            return  # an import is running: it recovers before it starts
        try:
            conn = await self._connect()
            try:
                await self._recover(conn)
            finally:
                await _in_thread(conn.close)
        except _FAILED_IMPORT as exc:
            log.warning("could not finish an interrupted import: %s", exc)
        finally:
            lock.release()

    # -- steps

    async def _lock(self) -> ImportLock:
        if self.db.path == ":memory:":
            raise ImportFailed("imports need a database file (storage.path is :memory:)")
        try:
            lock = await asyncio.to_thread(self.db.import_lock)
        except OSError as exc:
            raise ImportFailed("cannot create the import lock next to the database "
                               "{path}: {why}", path=self.db.path,
                               why=exc.strerror or str(exc)) from None
        if lock is None:
            raise ImportFailed(N_("another import into this database is running; try "
                                  "again when it has finished"))
        return lock

    async def _connect(self) -> SideConnection:
        try:
            conn: SideConnection = await _in_thread(self.db.open_side)
            return conn
        except StorageError as exc:
            raise ImportFailed(N_("cannot import: {why}"), why=_why(exc)) from None

    async def _write(self, conn: SideConnection, func: Callable[..., T], *args: Any,
                     pause: bool = False) -> T:
        """One short transaction on the import's connection, in this process's turn."""
        async with self.db.exclusive():
            started = time.monotonic()
            result: T = await _in_thread(_in_write, conn, func, *args)
            held = time.monotonic() - started
        # the queued answers go first; a pause lets another process's writer in too
        await asyncio.sleep(min(held, MAX_PAUSE) if pause else 0)
        return result

    async def _import(self, conn: SideConnection, project_id: int,
                      checking: Checking) -> ImportResult:
        try:
            await _in_thread(import_store.create_seen_ids, conn)
        except StorageError as exc:
            raise ImportFailed(N_("cannot import: {why}"), why=_why(exc)) from None
        checking.ids = _SeenIds(conn, project_id)
        import_id: int | None = None
        staged = 0
        try:
            used_before = await _in_thread(_used_pages, conn)
            while (batch := await _in_thread(checking.next_batch)) is not None:
                if not batch or not checking.ok:
                    continue
                if import_id is None:
                    async with self.db.exclusive():
                        import_id = await _in_thread(import_store.begin, conn, project_id,
                                                     to_iso(self.clock.now()))
                async with self.db.exclusive():
                    await _in_thread(_stage, conn, import_id, batch)
                staged += len(batch)
                self._event(STAGED, staged)
                await asyncio.sleep(0)
            result = checking.result()
            if not result.ok or import_id is None:
                if import_id is not None:
                    await self._discard(conn, import_id)
                return result
            growth = await _in_thread(_used_pages, conn) - used_before
            await self._make_room(conn, growth)
            new_tasks = result.summary.counts.tasks > 0
            async with self.db.exclusive():
                await _in_thread(import_store.commit, conn, import_id, new_tasks)
        except StorageError as exc:
            if import_id is not None:
                with contextlib.suppress(*StorageError):
                    await self._discard(conn, import_id)
            raise ImportFailed(N_("cannot import: {why}; nothing was imported"),
                               why=_why(exc)) from None
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise  # staged rows are a leftover the next import or start removes
        except BaseException:
            if import_id is not None:
                with contextlib.suppress(*StorageError):
                    await self._discard(conn, import_id)
            raise
        await self._publish(conn, import_store.Unfinished(
            import_id, project_id, import_store.PUBLISHING, new_tasks), total=staged)
        return result

    async def _make_room(self, conn: SideConnection, staged_pages: int) -> None:
        """Refuse before the commit unless publishing has room to grow by about what
        staging took (its batches reuse the staged rows' pages as they go)."""
        counted = await _in_thread(import_store.pages, conn)
        if counted is None:
            return  # not a file: the server keeps its own room
        pages, free, most, page_size = counted
        need = max(staged_pages, 0)
        room_in_db = most - pages + free
        try:
            disk = await asyncio.to_thread(shutil.disk_usage, Path(self.db.path).parent)
            room_on_disk = disk.free // page_size + free
        except OSError:
            room_on_disk = need
        room = min(room_in_db, room_on_disk)
        if room < need:
            raise ImportFailed(
                N_("not enough room to add the items: they need about {need} more and "
                   "{room} is free; nothing was imported"), need=format_size(need * page_size),
                room=format_size(max(room, 0) * page_size))

    async def _discard(self, conn: SideConnection, import_id: int) -> None:
        while await self._write(conn, import_store.discard_some, import_id, DISCARD_ROWS,
                                pause=True):
            pass

    async def _publish(self, conn: SideConnection, job: import_store.Unfinished,
                       total: int | None = None) -> None:
        published = 0
        try:
            while await self._write(conn, import_store.publish_media, job.id,
                                    PUBLISH_MEDIA_BYTES, pause=True):
                pass
            while moved := await self._write(
                    conn, import_store.publish_items, job.id, job.project_id,
                    to_iso(self.clock.now()), PUBLISH_ITEMS, pause=True):
                published += moved
                self._event(PUBLISHED, published)
            async with self.db.transaction() as main:
                await project_store.refresh_languages(main, job.project_id)
                if job.new_tasks:
                    await broadcast_store.add_event(main, job.project_id, "new_items",
                                                    to_iso(self.clock.now()))
                await import_store.forget(main, job.id)
        except _STOPPED as exc:
            done = f"{published} of {total}" if total is not None else f"{published}"
            raise ImportFailed(
                N_("the import stopped while adding the items: {why}. {done} items were "
                   "added; the rest are added when {app} next starts or imports, once "
                   "there is room"), app="tapwork", why=_why(exc), done=done) from None

    async def _recover(self, conn: SideConnection) -> None:
        """Under the import lock every import row is a dead process's leftover."""
        for job in await _in_thread(import_store.unfinished, conn):
            if job.state == import_store.PUBLISHING:
                log.info("finishing import %d into project %d", job.id, job.project_id)
                await self._publish(conn, job)
            else:
                log.info("removing what interrupted import %d had staged", job.id)
                try:
                    await self._discard(conn, job.id)
                except StorageError as exc:
                    raise ImportFailed("cannot remove an interrupted import: {why}",
                                       why=_why(exc)) from None

    def _event(self, kind: str, count: int) -> None:
        for observer in self.on_batch:
            observer(kind, count)
