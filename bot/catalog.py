"""Projects as operators manage them: create or update a definition, import items."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import aiosqlite

from bot.assign import Project
from bot.clock import Clock, to_iso
from bot.errors import NotFound, ProjectError
from bot.importer import ImportResult, ItemRecord, LineError, read_items, read_items_bytes
from bot.projects import ProjectSpec
from storage import Database
from storage import broadcasts as broadcast_store
from storage import items as item_store
from storage import ledger as ledger_store
from storage import media as media_store
from storage import projects as project_store
from storage import quiz as quiz_store

#: items waiting are counted up to this many; past it a phone shows "10000+"
MANY = 10_000


class Catalog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def save(self, spec: ProjectSpec) -> tuple[Project, bool]:
        """Create or update a project by name; returns it and whether it is new."""
        async with self.db.transaction() as conn:
            existing = await project_store.get_by_name(conn, spec.name)
            if (existing is not None and existing.kind != spec.kind
                    and await project_store.item_count(conn, existing.id)):
                raise ProjectError(
                    "project {name} already has items of kind {kind}; its kind cannot "
                    "change", name=spec.name, kind=existing.kind)
            old_currency = existing.document.get("currency") if existing else None
            if (existing is not None and old_currency != spec.currency
                    and await ledger_store.project_has_money(conn, existing.id)):
                raise ProjectError(
                    "project {name} already paid in {currency}; its currency cannot change "
                    "(make a new project)", name=spec.name, currency=old_currency)
            now = to_iso(self.clock.now())
            row, created = await project_store.upsert(conn, spec.name, spec.kind, spec.raw, now)
            if created:
                await broadcast_store.add_event(conn, row.id, "opened", now)
        return Project.from_row(row), created

    async def set_status(self, name: str, status: str) -> bool:
        """Pause or resume; resuming tells the workers who can take it (an event)."""
        assert status in ("open", "paused")
        project = await self.get(name)
        if project.status == status:
            return False
        async with self.db.transaction() as conn:
            now = to_iso(self.clock.now())
            await project_store.set_status(conn, project.id, status, now)
            if status == "open":
                await broadcast_store.add_event(conn, project.id, "opened", now)
        return True

    async def get(self, name: str) -> Project:
        async with self.db.read() as conn:
            row = await project_store.get_by_name(conn, name)
        if row is None:
            raise NotFound("no project named {name}", name=name)
        return Project.from_row(row)

    async def get_by_id(self, project_id: int) -> Project | None:
        async with self.db.read() as conn:
            row = await project_store.get(conn, project_id)
        return Project.from_row(row) if row else None

    async def all(self) -> list[Project]:
        async with self.db.read() as conn:
            return [Project.from_row(r) for r in await project_store.all_projects(conn)]

    async def open_projects(self) -> list[tuple[Project, int]]:
        """Open projects and how many items in each still want answers (more than
        ``MANY`` means "lots": the count stops there).

        A project whose quiz pool is smaller than one exam is not open yet.
        """
        result = []
        async with self.db.read() as conn:
            for row, waiting in await project_store.open_projects(conn, MANY + 1):
                project = Project.from_row(row)
                quiz = project.spec.quiz
                if quiz is not None and await quiz_store.pool_size(
                        conn, row.id, ("", *project.languages)) < quiz.questions:
                    continue
                result.append((project, waiting))
        return result

    async def import_file(self, name: str, path: str | Path,
                          progress: Callable[[int], None] | None = None) -> ImportResult:
        """Check every line, then write all items in one transaction, or nothing."""
        project = await self.get(name)
        existing = await self._existing_ids(project)
        result = await asyncio.to_thread(read_items, project.spec, path,
                                         existing_ids=existing, progress=progress)
        return await self._store(project, result)

    async def import_bytes(self, name: str, data: bytes, filename: str,
                           progress: Callable[[int], None] | None = None) -> ImportResult:
        project = await self.get(name)
        existing = await self._existing_ids(project)
        result = await asyncio.to_thread(read_items_bytes, project.spec, data, filename,
                                         existing_ids=existing, progress=progress)
        return await self._store(project, result)

    async def _existing_ids(self, project: Project) -> set[str]:
        async with self.db.read() as conn:
            return await item_store.existing_ids(conn, project.id)

    async def _store(self, project: Project, result: ImportResult) -> ImportResult:
        if not result.ok:
            return result
        now = to_iso(self.clock.now())
        try:
            async with self.db.transaction() as conn:
                new_items = [await _new_item(conn, record) for record in result.items]
                await item_store.insert_many(conn, project.id, new_items, now)
                await project_store.refresh_languages(conn, project.id)
                if any(not item.quiz and item.gold is None for item in new_items):
                    await broadcast_store.add_event(conn, project.id, "new_items", now)
        except sqlite3.IntegrityError:
            # another import added one of these ids since we checked; nothing was written
            result.items = []
            result.errors.append(LineError(None, "some item ids were added by another import "
                                           "at the same time; nothing was imported, try again"))
        return result


async def _new_item(conn: aiosqlite.Connection, record: ItemRecord) -> item_store.NewItem:
    media_id = None
    if record.media is not None:
        m = record.media
        media_id = await media_store.add(
            conn, sha256=m.sha256, kind=m.kind, mime=m.mime, filename=m.filename, width=m.width,
            height=m.height, duration=m.duration, data=m.data)
    return item_store.NewItem(
        ext_id=record.ext_id, text=record.text, media_id=media_id, gold=record.gold,
        quiz=record.quiz, explain=dict(record.explain.texts) if record.explain else None,
        prelabel=record.prelabel, lang=record.lang)
