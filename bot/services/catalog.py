"""Projects as operators manage them: create or update a definition, import items."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.clock import Clock, to_iso
from bot.domain.errors import NotFound, ProjectError
from bot.domain.project_spec import ProjectSpec
from bot.domain.projects import Project
from bot.i18n import N_
from bot.intake.importer import open_bytes, open_file
from bot.intake.loader import Loader
from bot.intake.records import ImportResult
from storage import Database
from storage import broadcasts as broadcast_store
from storage import ledger as ledger_store
from storage import projects as project_store
from storage import quiz as quiz_store

#: items waiting are counted up to this many; past it a phone shows "10000+"
MANY = 10_000


class Catalog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.loader = Loader(db, clock)

    async def save(self, spec: ProjectSpec) -> tuple[Project, bool]:
        """Create or update a project by name; returns it and whether it is new."""
        async with self.db.transaction() as conn:
            existing = await project_store.get_by_name(conn, spec.name)
            if (existing is not None and existing.kind != spec.kind
                    and await project_store.item_count(conn, existing.id)):
                raise ProjectError(N_(
                    "project {name} already has items of kind {kind}; its kind cannot "
                    "change"), name=spec.name, kind=existing.kind)
            old_currency = existing.document.get("currency") if existing else None
            if (existing is not None and old_currency != spec.currency
                    and await ledger_store.project_has_money(conn, existing.id)):
                raise ProjectError(N_(
                    "project {name} already paid in {currency}; its currency cannot change "
                    "(make a new project)"), name=spec.name, currency=old_currency)
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
        """Check every line, then write all items, or nothing (``bot/intake/loader.py``): the
        file is streamed, and the work loop keeps answering meanwhile."""
        project = await self.get(name)
        return await self.loader.run(project.id, lambda: open_file(
            project.spec, path, progress=progress))

    async def import_bytes(self, name: str, data: bytes, filename: str,
                           progress: Callable[[int], None] | None = None) -> ImportResult:
        project = await self.get(name)
        return await self.loader.run(project.id, lambda: open_bytes(
            project.spec, data, filename, progress=progress))

    async def recover_imports(self) -> None:
        """Finish or undo what an import that died half way left behind."""
        await self.loader.recover()
