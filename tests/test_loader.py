"""Imports written in batches on a connection of their own: all or nothing, whatever stops
them (a bad line late in the file, a full disk, a crash), and one at a time."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.domain.projects import parse_project
from bot.intake.loader import PUBLISHED, STAGED, ImportFailed
from bot.intake.records import BATCH_LINES
from bot.wiring import Services
from storage import Database
from storage import db as sqlite_db
from storage import imports as import_store
from storage import items as item_store
from tests.conftest import sentiment_doc
from tests.state import cap_pages, items, new_items_events, staged_rows, table_count


async def project(services: Services, name: str = "reviews", **doc: Any) -> int:
    saved, _ = await services.catalog.save(parse_project(sentiment_doc(name, **doc)))
    return saved.id


def write_items(path: Path, count: int, *, start: int = 0,
                bad_at: int | None = None) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for n in range(start, start + count):
            row: dict[str, Any] = {"id": f"i{n}", "text": f"review number {n}"}
            if n == bad_at:
                row["gold"] = "happy"
            out.write(json.dumps(row) + "\n")
    return path


async def leftovers(services: Services) -> int:
    return sum(staged_rows(services.db).values())


def events_of(services: Services) -> list[tuple[str, int]]:
    events: list[tuple[str, int]] = []
    services.catalog.loader.on_batch.append(lambda kind, n: events.append((kind, n)))
    return events


async def test_a_big_file_is_staged_then_published_in_batches(
        services: Services, tmp_path: Path) -> None:
    await project(services, language="en")
    events = events_of(services)
    total = 2 * BATCH_LINES + 123
    result = await services.catalog.import_file(
        "reviews", write_items(tmp_path / "items.jsonl", total))
    assert result.ok and result.items == []  # nothing kept in memory
    assert result.summary.counts.tasks == total
    assert len(items(services.db)) == total
    assert await leftovers(services) == 0
    assert [kind for kind, _ in events] == [STAGED] * 3 + [PUBLISHED] * 3
    assert events[-1] == (PUBLISHED, total)
    assert [i.ext_id for i in items(services.db)[:2]] == ["i0", "i1"]  # file order
    assert new_items_events(services.db) == 1
    project_row = await services.catalog.get("reviews")
    assert project_row.languages == ("en",)


async def test_a_bad_line_after_batches_were_staged_leaves_nothing(
        services: Services, tmp_path: Path) -> None:
    await project(services, language="en")
    events = events_of(services)
    total = 3 * BATCH_LINES
    path = write_items(tmp_path / "items.jsonl", total, bad_at=total - 5)
    result = await services.catalog.import_file("reviews", path)
    assert [(e.line, e.message) for e in result.errors] == [
        (total - 4, "unknown label 'happy' in gold (allowed: positive, neutral, negative)")]
    assert [kind for kind, _ in events] == [STAGED, STAGED]  # the third batch had the line
    assert len(items(services.db)) == 0
    assert await leftovers(services) == 0
    assert new_items_events(services.db) == 0


async def test_ids_already_in_the_project_are_refused_with_their_line(
        services: Services, tmp_path: Path) -> None:
    await project(services, language="en")
    assert (await services.catalog.import_file(
        "reviews", write_items(tmp_path / "a.jsonl", 10))).ok
    result = await services.catalog.import_file(
        "reviews", write_items(tmp_path / "b.jsonl", BATCH_LINES + 5, start=8))
    assert [(e.line, e.message) for e in result.errors] == [
        (1, "id 'i8' is already in this project"), (2, "id 'i9' is already in this project")]
    assert len(items(services.db)) == 10


async def test_media_are_published_once_per_content(services: Services,
                                                    tmp_path: Path) -> None:
    await services.catalog.save(parse_project(
        {"name": "pets", "kind": "classification", "title": "Pets", "reward": "0.02",
         "currency": "USD", "labels": ["cat", "dog"]}))
    pictures = []
    for color in ((200, 0, 0), (0, 200, 0)):
        out = io.BytesIO()
        Image.new("RGB", (40, 30), color).save(out, "PNG")
        pictures.append(out.getvalue())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("items.jsonl", "".join(
            json.dumps({"id": str(n), "image": f"{n % 2}.png"}) + "\n"
            for n in range(BATCH_LINES + 2)))
        archive.writestr("0.png", pictures[0])
        archive.writestr("1.png", pictures[1])
    zipped = tmp_path / "pets.zip"
    zipped.write_bytes(buffer.getvalue())
    result = await services.catalog.import_file("pets", zipped)
    assert result.ok and result.summary.media == {"photo": BATCH_LINES + 2}
    assert table_count(services.db, "media") == 2
    assert sum(1 for i in items(services.db) if i.media_id is None) == 0
    # the same pictures again, new ids: the media rows are reused
    again = tmp_path / "again.zip"
    with zipfile.ZipFile(again, "w") as archive:
        archive.writestr("items.jsonl", '{"id": "x", "image": "a.png"}\n')
        archive.writestr("a.png", pictures[0])
    assert (await services.catalog.import_file("pets", again)).ok
    assert table_count(services.db, "media") == 2
    assert await leftovers(services) == 0


def fill_up(monkeypatch: pytest.MonkeyPatch, spare_pages: int) -> None:
    """The import's connection may grow the database by only ``spare_pages`` pages: a
    full disk as SQLite sees one."""
    opened = sqlite_db.Database.open_side

    def open_side(self: sqlite_db.Database) -> sqlite3.Connection:
        conn = opened(self)
        cap_pages(conn, spare_pages)
        return conn

    monkeypatch.setattr(sqlite_db.Database, "open_side", open_side)


@pytest.mark.sqlite_only("SQLite's page cap stands in for a full disk")
async def test_a_full_disk_while_staging_names_the_cause_and_leaves_nothing(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await project(services, language="en")
    fill_up(monkeypatch, spare_pages=60)
    events = events_of(services)
    with pytest.raises(ImportFailed) as caught:
        await services.catalog.import_file(
            "reviews", write_items(tmp_path / "items.jsonl", 5 * BATCH_LINES))
    message = str(caught.value)
    assert "full" in message and "nothing was imported" in message
    assert "cannot rollback" not in message
    assert STAGED in [kind for kind, _ in events]  # it failed part way through staging
    assert len(items(services.db)) == 0
    assert await leftovers(services) == 0
    monkeypatch.undo()  # room again: the same file goes in
    assert (await services.catalog.import_file(
        "reviews", tmp_path / "items.jsonl")).ok


@pytest.mark.sqlite_only("the room check counts SQLite's pages (PostgreSQL has none to check)")
async def test_no_room_to_publish_is_refused_before_anything_is_visible(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await project(services, language="en")
    measured = import_store.pages

    def little_room(conn: sqlite3.Connection) -> tuple[int, int, int, int]:
        pages, free, _, size = measured(conn)
        return pages, free, pages + 3, size  # staging fitted; publishing would not

    monkeypatch.setattr(import_store, "pages", little_room)
    with pytest.raises(ImportFailed, match="not enough room to add the items"):
        await services.catalog.import_file(
            "reviews", write_items(tmp_path / "items.jsonl", 3 * BATCH_LINES))
    assert len(items(services.db)) == 0
    assert await leftovers(services) == 0


async def test_one_import_at_a_time(services: Services, tmp_path: Path) -> None:
    await project(services, language="en")
    held = services.db.import_lock()
    assert held is not None
    try:
        with pytest.raises(ImportFailed, match="another import into this database"):
            await services.catalog.import_file(
                "reviews", write_items(tmp_path / "items.jsonl", 3))
    finally:
        held.release()
    assert (await services.catalog.import_file("reviews", tmp_path / "items.jsonl")).ok


def stage_by_hand(db: Database, project_id: int, count: int, *, commit: bool) -> None:
    """What a process killed half way leaves: rows staged, perhaps committed."""
    conn = db.open_side()
    try:
        import_id = import_store.begin(conn, project_id, "2026-01-01T00:00:00.000000Z")
        with import_store.write(conn):
            import_store.stage(conn, import_id, [], [
                import_store.StagedItem(f"k{n}", f"text {n}", None, None, False, None, None,
                                        "en") for n in range(count)])
        if commit:
            import_store.commit(conn, import_id, new_tasks=True)
    finally:
        conn.close()


async def test_an_interrupted_import_is_removed_before_its_commit(
        services: Services) -> None:
    project_id = await project(services, language="en")
    stage_by_hand(services.db, project_id, 50, commit=False)
    assert await leftovers(services) == 51
    await services.catalog.recover_imports()
    assert await leftovers(services) == 0
    assert len(items(services.db)) == 0


async def test_an_interrupted_import_is_finished_after_its_commit(
        services: Services) -> None:
    project_id = await project(services, language="en")
    stage_by_hand(services.db, project_id, 2 * 2_000 + 7, commit=True)
    await services.catalog.recover_imports()
    assert len(items(services.db)) == 4007
    assert await leftovers(services) == 0
    assert new_items_events(services.db) == 1
    assert (await services.catalog.get("reviews")).languages == ("en",)


async def test_a_missing_file_or_folder_is_refused_before_anything_is_opened(
        services: Services, tmp_path: Path) -> None:
    await project(services)
    with pytest.raises(ImportFailed, match="file not found"):
        await services.catalog.import_file("reviews", tmp_path / "nope.jsonl")
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(ImportFailed, match="is a folder, not an items file"):
        await services.catalog.import_file("reviews", tmp_path / "folder.jsonl")
    lock = Path(f"{services.db.path}-import.lock")
    assert not await asyncio.to_thread(lock.exists)


@pytest.mark.sqlite_only("SQLite's database file lock, tried by a plain sqlite3 connection")
async def test_checking_ids_never_locks_the_database(services: Services) -> None:
    """The ids go to a temporary table; another writer holding the database (the work
    loop, another process) must not make the checking thread wait, nor be made to wait."""
    project_id = await project(services)
    side = services.db.open_side()
    other = sqlite3.connect(services.db.path, isolation_level=None, timeout=0)
    try:
        side.execute("PRAGMA busy_timeout = 0")
        import_store.create_seen_ids(side)
        other.execute("BEGIN IMMEDIATE")  # a writer holds the database meanwhile
        assert import_store.register_ids(side, project_id, [("a", 1), ("b", 2)]) == {}
        assert import_store.register_ids(side, project_id, [("a", 9)]) == {"a": 1}
        other.execute("ROLLBACK")
    finally:
        other.close()
        side.close()


@pytest.mark.sqlite_only("SQLite's page cap stands in for a full disk")
async def test_a_full_disk_in_any_transaction_is_named_not_hidden(
        services: Services) -> None:
    """SQLite rolls back by itself when the disk is full; the ROLLBACK that followed then
    failed, and "cannot rollback - no transaction is active" hid the cause."""
    project_id = await project(services)
    async with services.db.read() as conn:
        async with conn.execute("PRAGMA page_count") as cur:
            pages = (await cur.fetchone())[0]
        await conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    rows = [item_store.NewItem(f"x{n}", "some text " * 20, None, None, False, None, None)
            for n in range(2_000)]
    with pytest.raises(sqlite3.OperationalError, match="full"):
        async with services.db.transaction() as conn:
            await item_store.insert_many(conn, project_id, rows, "2026-01-01T00:00:00Z")
    assert len(items(services.db)) == 0
    async with services.db.transaction() as conn:  # the connection is usable again
        await conn.execute("PRAGMA max_page_count = 1073741823")


@pytest.mark.sqlite_only("sqlite3's full-disk error, raised by hand")
async def test_a_disk_filled_while_publishing_is_finished_later(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the commit the import happens: stopped half way, the rest is added later."""
    await project(services, language="en")
    publish = import_store.publish_items
    calls = {"n": 0}

    def fills_up(conn: sqlite3.Connection, *args: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise sqlite3.OperationalError("database or disk is full")
        return publish(conn, *args)

    monkeypatch.setattr(import_store, "publish_items", fills_up)
    total = 3 * BATCH_LINES
    with pytest.raises(ImportFailed) as caught:
        await services.catalog.import_file(
            "reviews", write_items(tmp_path / "items.jsonl", total))
    assert (f"{BATCH_LINES} of {total} items were added; the rest are added when tapwork "
            "next starts or imports") in str(caught.value)
    assert "disk is full" in str(caught.value)
    assert len(items(services.db)) == BATCH_LINES
    monkeypatch.undo()
    await services.catalog.recover_imports()
    assert len(items(services.db)) == total
    assert await leftovers(services) == 0
    assert new_items_events(services.db) == 1


@pytest.mark.sqlite_only("SQLite's EXPLAIN QUERY PLAN, traced on its side connection")
async def test_an_import_never_scans_a_growing_table(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every statement of an import (and of giving one up) finds its rows by an index: a
    scan per batch of a million-row table would make imports quadratic."""
    await project(services, language="en")
    statements: set[str] = set()
    opened = sqlite_db.Database.open_side

    def traced(self: sqlite_db.Database) -> sqlite3.Connection:
        conn = opened(self)
        conn.set_trace_callback(statements.add)
        return conn

    monkeypatch.setattr(sqlite_db.Database, "open_side", traced)
    assert (await services.catalog.import_file(
        "reviews", write_items(tmp_path / "a.jsonl", BATCH_LINES + 5))).ok
    await services.catalog.import_file(
        "reviews", write_items(tmp_path / "b.jsonl", BATCH_LINES + 5, start=9_000,
                               bad_at=9_000 + BATCH_LINES + 2))
    side = opened(services.db)
    try:
        import_store.create_seen_ids(side)
        scans = []
        for statement in statements:
            if not statement.lstrip().upper().startswith(("SELECT", "INSERT", "DELETE",
                                                          "UPDATE")):
                continue
            for *_, detail in side.execute("EXPLAIN QUERY PLAN " + statement):
                table = detail.split()[1] if detail.startswith("SCAN ") else None
                if table in ("items", "import_items", "import_media", "media", "import_ids"):
                    scans.append(f"{detail}: {' '.join(statement.split())[:120]}")
    finally:
        side.close()
    assert len(statements) > 10
    assert scans == []
