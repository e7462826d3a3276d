"""An import's problem lines in the operator's language: the same report the command line
prints in English reads in Korean and Chinese in chat and on the dashboard, with only the
file's own keys, values and names left as the file has them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.projects import load_project_file
from bot.i18n import gettext_for
from bot.intake.importer import format_report, read_items
from bot.intake.records import CSV_KEYS, SAVE_AS, ImportResult
from tests.conftest import ROOT
from tests.test_import import make_zip, png
from tests.test_wording import ALLOWED_ASCII, _ascii_words

REVIEWS = ROOT / "bot" / "sample" / "reviews.toml"

#: one line per kind of problem an operator meets most
_LINES = [
    json.dumps({"id": "1", "text": "fine", "gold": "positive"}),
    '{"id": "2", "text": "a missing quote}',                         # bad JSON
    '{"id": "3", "text": "x",}',                                     # bad JSON, a comma
    json.dumps({"id": "4", "text": "x", "label": "positive"}),      # unknown key, a hint
    json.dumps({"id": 4.5, "text": "x"}),                            # wrong type
    json.dumps({"id": "1", "text": "again"}),                        # duplicate id
    json.dumps({"id": "6", "text": "x", "gold": "happy"}),          # bad gold
    json.dumps({"id": "7", "text": "x", "quiz": "yes"}),            # wrong type
    json.dumps({"id": "8", "text": "x", "quiz": True}),             # quiz without gold
    json.dumps({"id": "9"}),                                         # no content
    json.dumps({"id": "10", "text": "x", "image": "pic.png"}),      # two contents
    json.dumps({"id": "11", "image": "missing.png"}),               # media not found
    json.dumps({"id": "12", "image": "notes.png"}),                 # not an image
    json.dumps({"id": "13", "image": "Pic.png"}),                   # case: did you mean
    json.dumps({"id": "14", "text": "x", "explain": "because"}),    # explain, no gold
    '["id", "text"]',                                                # a JSON array
    '{"id": "16", "id": "17", "text": "x"}',                         # a key twice
    json.dumps({"id": "18", "text": "x", "lang": "cn"}),            # a country, not a lang
    json.dumps({"id": "19", "text": "x", "explain": {"fr": "x"}}),  # explain's language
]
#: a sheet saved from Excel, with the mistakes sheets have
_CSV = ('id,text,gold,gold,labels\n'            # a column twice, an unknown one
        '1,fine,positive,,\n'
        '2,"a, b",positive,,,extra\n'           # more values than columns
        '3,"ok",maybe,,\n'
        '4,x,,,\n'
        '4,y,,,\n'                              # duplicate id
        '5,"never closed,positive,,\n')


@pytest.fixture(params=["zip", "csv"])
def items(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    if request.param == "csv":
        path = tmp_path / "sheet.csv"
        path.write_text(_CSV)
        return path
    path = tmp_path / "batch.zip"
    lines = "\n".join(_LINES).encode() + b"\n" + b'{"id": "20", "text": "caf\xe9"}\n'
    path.write_bytes(make_zip({"items.jsonl": lines, "pic.png": png(),
                               "notes.png": b"not a picture"}))
    return path


@pytest.fixture
def result(items: Path) -> ImportResult:
    checked = read_items(load_project_file(REVIEWS), items)
    assert checked.problem_count >= (len(_LINES) - 1 if items.suffix == ".zip" else 5), \
        format_report(checked)
    return checked


def _names(items: Path) -> set[str]:
    """Words a person typed or picks, left as they are: the file's keys, values and names,
    the keys an item may have, the encoding and the formats to use."""
    typed = " ".join([*_LINES, _CSV, *CSV_KEYS, *SAVE_AS.values(), items.name, "items.jsonl",
                      "pic.png notes.png missing.png Pic.png", "positive neutral negative",
                      "true false yes no", "JPEG PNG GIF WebP BMP TIFF", "UTF"])
    return set(re.findall(r"[A-Za-z]+", typed)) | ALLOWED_ASCII


@pytest.mark.parametrize("language", ["ko", "zh"])
def test_the_report_reads_in_the_operators_language(result: ImportResult, items: Path,
                                                    language: str) -> None:
    report = format_report(result, reader=gettext_for(language))
    allowed = _names(items)
    english = {line: words for line in report.splitlines()
               if (words := [w for w in _ascii_words(line) if w not in allowed])}
    assert english == {}
    # every line was rendered in the reader's language, not merely its header
    assert len(report.splitlines()) == len(format_report(result).splitlines())
    assert ("번째 줄" if language == "ko" else "行") in report
    # the file's own values stay as the file has them
    assert ("'happy'" in report and "'label'" in report and "'Pic.png'" in report
            if items.suffix == ".zip" else "'gold'" in report and "'labels'" in report)


def test_the_english_report_is_the_command_lines(result: ImportResult, items: Path,
                                                 tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')
    assert main(["project", "-c", str(config), str(REVIEWS)]) == 0
    capsys.readouterr()
    assert main(["import", "-c", str(config), "--project", "reviews", str(items)]) == 1
    printed = capsys.readouterr().err
    assert printed == format_report(result, reader=gettext_for("en")) + "\n"
    assert printed == format_report(result) + "\n"
    if items.suffix == ".zip":
        assert "items.jsonl line 6: duplicate id '1' (first used on line 1)" in printed
        assert "unknown label 'happy' in gold (allowed: positive, neutral, negative)" \
            in printed
    else:
        assert "line 6: duplicate id '4' (first used on line 5)" in printed
