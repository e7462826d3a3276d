"""The operator commands, run as ``tapwork …`` would run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import ROOT
from tests.state import table_count

SAMPLE = ROOT / "bot" / "sample"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    file = tmp_path / "config.toml"
    file.write_text('[storage]\npath = "tapwork.db"\n')
    return file


def test_project_import_export_stats(config: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["project", "-c", str(config), str(SAMPLE / "reviews.toml")]) == 0
    assert "project reviews created" in capsys.readouterr().out
    assert main(["project", "-c", str(config), str(SAMPLE / "reviews.toml")]) == 0
    assert "updated" in capsys.readouterr().out
    assert main(["import", "-c", str(config), "--project", "reviews",
                 str(SAMPLE / "reviews.jsonl")]) == 0
    assert "42 items" in capsys.readouterr().out
    out = tmp_path / "labels.jsonl"
    assert main(["export", "-c", str(config), "--project", "reviews", "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 42 and rows[0]["id"] == "en-01" and rows[0]["answers"] == []
    assert not list(tmp_path.glob("*.partial"))
    capsys.readouterr()
    assert main(["export", "-c", str(config), "--project", "reviews", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["item,worker,label,answered_at,seconds"]
    assert main(["stats", "-c", str(config), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats[0]["name"] == "reviews" and stats[0]["items"] == 36  # + 6 gold checks


def test_bad_import_lists_every_problem_and_writes_nothing(
        config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["project", "-c", str(config), str(SAMPLE / "reviews.toml")]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([
        '{"id": "1", "text": "fine"}',
        '{"id": "2", "text": "nice", "gold": "happy"}',
        '{"id": "1", "text": "again"}',
        "not json",
        '{"id": "5", "text": ""}',
        '{"id": "6", "image": "missing.png"}',
    ]) + "\n")
    assert main(["import", "-c", str(config), "--project", "reviews", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err
    for line in ("line 2", "line 3", "line 4", "line 5", "line 6"):
        assert line in err, err
    assert "line 1:" not in err
    assert table_count(tmp_path / "tapwork.db", "items") == 0


def test_unknown_project_and_bad_project_file(config: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "-c", str(config), "--project", "nope", "-o",
                 str(tmp_path / "x.jsonl")]) == 2
    assert "no project named nope" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()
    assert not (tmp_path / "x.jsonl.partial").exists()
    bad = tmp_path / "p.toml"
    bad.write_text('name = "x y"\nkind = "sentiment"\ntitle = "T"\ncurrency = "USD"\n')
    assert main(["project", "-c", str(config), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tapwork: ") and "name must be" in err and err.count("\n") == 1


def test_demo_labels_the_sample_project(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--workers", "4"]) == 0
    out = capsys.readouterr().out
    assert "items labelled: 36 of 36" in out
    answers = int(out.split("answers: ")[1].split(" ")[0])
    assert 108 <= answers <= 108 + 4 * 6  # 36 items x overlap 3, plus some gold checks
    agree = int(out.split("matches the known answer on ")[1].split(" ")[0])
    assert agree >= 27  # simulated workers are right 75-95% of the time
