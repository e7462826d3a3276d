"""``tapwork import`` when the file, the database or the disk is wrong: one line on stderr,
exit 2, no traceback, nothing half-written."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.intake.records import BATCH_LINES
from storage.db import Database
from tests.conftest import ROOT
from tests.state import cap_pages, staged_rows, table_count

SAMPLE = ROOT / "bot" / "sample"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    file = tmp_path / "config.toml"
    file.write_text('[storage]\npath = "tapwork.db"\n')
    assert main(["project", "-c", str(file), str(SAMPLE / "reviews.toml")]) == 0
    return file


def one_line(err: str) -> str:
    assert err.startswith("tapwork: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


def test_a_missing_file(config: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    missing = tmp_path / "nope.jsonl"
    assert main(["import", "-c", str(config), "--project", "reviews", str(missing)]) == 2
    assert one_line(capsys.readouterr().err) == f"tapwork: file not found: {missing}"


def test_a_folder(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "items.jsonl"
    folder.mkdir()
    capsys.readouterr()
    assert main(["import", "-c", str(config), "--project", "reviews", str(folder)]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"tapwork: {folder} is a folder, not an items file")


def test_storage_path_at_a_text_file(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{notes}"\n')
    assert main(["import", "-c", str(config), "--project", "reviews",
                 str(SAMPLE / "reviews.jsonl")]) == 2
    assert "file is not a database" in one_line(capsys.readouterr().err)
    assert notes.read_text() == "my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "notes.txt"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
@pytest.mark.parametrize("path", ["/proc/self/status", "/proc/tapwork.db"])
def test_storage_path_under_proc(tmp_path: Path, path: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{path}"\n')
    assert main(["import", "-c", str(config), "--project", "reviews",
                 str(SAMPLE / "reviews.jsonl")]) == 2
    assert path in one_line(capsys.readouterr().err)


def test_a_full_disk_names_the_cause(config: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """It once said "cannot rollback - no transaction is active", hiding the cause."""
    opened = Database.open_side

    def full(self: Database) -> sqlite3.Connection:
        conn = opened(self)
        cap_pages(conn, 30)
        return conn

    monkeypatch.setattr(Database, "open_side", full)
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": str(n), "text": f"a review, number {n}"})
                             + "\n" for n in range(4 * BATCH_LINES)))
    capsys.readouterr()
    assert main(["import", "-c", str(config), "--project", "reviews", str(items)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "the database or the disk is full" in line and "nothing was imported" in line
    db = tmp_path / "tapwork.db"
    assert table_count(db, "items") == 0
    assert staged_rows(db)["import_items"] == staged_rows(db)["imports"] == 0
