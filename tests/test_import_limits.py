"""The importer's limits: hostile files cost bounded memory and CPU, and say why.

Memory is measured with ``tracemalloc`` (allocations, not time), CPU by counting how
often a ZIP member is inflated and an image prepared.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.domain.projects import parse_project
from bot.intake import checks, records, sources
from bot.intake.importer import format_report, open_file, read_items, read_items_bytes
from bot.intake.records import BATCH_LINES, MAX_ID, MAX_LINE, MemoryIds

SENTIMENT = parse_project({"name": "p", "kind": "sentiment", "title": "T", "currency": "CNY",
                           "reward": "0.02", "language": "en"})
ANIMALS = parse_project({"name": "a", "kind": "classification", "title": "T",
                         "currency": "CNY", "reward": "0.02", "labels": ["cat", "dog"]})


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def make_zip(files: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def problems(result: records.ImportResult) -> list[tuple[int | None, str]]:
    return [(error.line, error.message) for error in result.errors]


# --------------------------------------------------------------------------- ZIP members


def test_a_member_named_on_every_line_is_inflated_and_prepared_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """150 lines naming one member once cost 150 inflations and hashes (167 ms each for a
    20 MB member); now the member is read once, whatever the lines call it."""
    reads: list[str] = []
    prepared: list[str] = []
    real_read, real_prepare = sources._read_member, checks.prepare_image

    def counting_read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
        reads.append(info.filename)
        return real_read(archive, info, limit)

    def counting_prepare(data: bytes, name: str = "image.jpg") -> Any:
        prepared.append(name)
        return real_prepare(data, name)

    monkeypatch.setattr(sources, "_read_member", counting_read)
    monkeypatch.setattr(checks, "prepare_image", counting_prepare)
    lines = [{"id": str(n), "image": "img/cat.png" if n % 2 else "./img/../img/cat.png"}
             for n in range(150)]
    data = make_zip({"items.jsonl": "".join(json.dumps(line) + "\n" for line in lines),
                     "img/cat.png": png()})
    result = read_items_bytes(ANIMALS, data, "cats.zip")
    assert result.ok, problems(result)
    assert len(result.items) == 150
    assert reads == ["img/cat.png"]
    assert prepared == ["cat.png"]


def test_a_bad_member_is_read_once_and_reported_on_every_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    real_read = sources._read_member

    def counting_read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
        reads.append(info.filename)
        return real_read(archive, info, limit)

    monkeypatch.setattr(sources, "_read_member", counting_read)
    data = make_zip({"items.csv": "id,image\n1,junk.png\n2,junk.png\n3,junk.png\n",
                     "junk.png": b"not a picture at all"})
    result = read_items_bytes(ANIMALS, data, "junk.zip")
    assert [line for line, _ in problems(result)] == [2, 3, 4]
    assert all("image 'junk.png': not an image" in message for _, message in
               problems(result))
    assert reads == ["junk.png"]


def test_inflated_bytes_are_counted_against_the_zip_limit() -> None:
    """The directory's sizes are checked first; members are counted again as they are
    inflated, so no member is ever read past the archive's limit."""
    data = make_zip({"items.jsonl": "{}", "a.png": png()})
    archive = zipfile.ZipFile(io.BytesIO(data))
    media = sources._ZipMedia(archive, "", inflated=sources.MAX_ZIP_BYTES - 10)
    with pytest.raises(sources._RefError, match="would unpack to more than 200 MB"):
        media.read(media.locate("a.png"))


# --------------------------------------------------------------------------- long lines


def test_a_huge_csv_line_in_a_zip_is_refused_in_bounded_memory() -> None:
    """A ZIP holding a CSV with one 150 MB line took the bot to 2 GB; the line is now
    refused once MAX_LINE characters are read, and skipped without being held."""
    huge = "id,text\n1," + "x" * (20 * 1024 * 1024) + "\n2,fine\n3,ok,extra\n"
    data = make_zip({"items.csv": huge})
    assert len(data) < 100_000
    tracemalloc.start()
    try:
        result = read_items_bytes(SENTIMENT, data, "huge.zip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems(result) == [
        (2, records._TOO_LONG_CSV.format(limit=MAX_LINE)),
        (4, "this line has 3 values but the header names 2 columns (a value containing a "
            "comma must be in double quotes)")]
    assert f"longer than {MAX_LINE} characters" in result.errors[0].message
    assert peak < 8 * MAX_LINE * 4  # a few lines' worth, not the 20 MB line


def test_a_huge_jsonl_line_is_refused_and_the_next_lines_keep_their_numbers(
        tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text('{"id": "1", "text": "ok"}\n'
                    '{"id": "2", "text": "' + "y" * (MAX_LINE + 10) + '"}\n'
                    '{"id": "3", "text": "fine", "gold": "nope"}\n', encoding="utf-8")
    result = read_items(SENTIMENT, path)
    assert [line for line, _ in problems(result)] == [2, 3]
    assert "longer than" in result.errors[0].message
    assert "unknown label 'nope'" in result.errors[1].message


def test_a_line_at_the_limit_is_read() -> None:
    prefix = '{"id": "1", "text": "'
    text = "z" * (MAX_LINE - len(prefix) - 2)
    line = prefix + text + '"}'
    assert len(line) == MAX_LINE
    result = read_items_bytes(SENTIMENT, (line + "\r\n").encode(), "a.jsonl")
    # the text itself is too long for Telegram: the line was read and checked
    assert problems(result) == [(1, f"text is too long: {len(text)} characters (the limit "
                                    "is 3500, so it fits in one Telegram message)")]


def test_a_csv_record_spanning_lines_is_capped_too() -> None:
    """A quoted value may span lines, so a record is capped as a whole, not per line."""
    many_lines = "\n".join(["w" * 1000] * (MAX_LINE // 1000 + 5))
    data = f'id,text\n1,"{many_lines}"\n'.encode()
    result = read_items_bytes(SENTIMENT, data, "long.csv")
    assert result.errors[0].line == 2
    assert result.errors[0].message == records._TOO_LONG_CSV.format(limit=MAX_LINE)


# --------------------------------------------------------------------------- ids


@pytest.mark.parametrize("line", [
    '{"id": ' + "9" * 5000 + ', "text": "a number of 5,000 digits"}',
    '{"id": "' + "9" * 5000 + '", "text": "the same, quoted"}',
])
def test_an_id_of_5000_digits_is_refused_on_its_line(line: str) -> None:
    """It crashed the in-chat import: Python refuses ints of over 4300 digits."""
    data = ('{"id": "1", "text": "fine"}\n' + line + "\n").encode()
    result = read_items_bytes(SENTIMENT, data, "ids.jsonl")
    assert problems(result) == [(2, f"id is too long: 5000 characters (the limit is "
                                    f"{MAX_ID})")]


def test_long_numbers_elsewhere_are_refused_not_crashed() -> None:
    digits = "7" * 5000
    data = (f'{{"id": "1", "text": {digits}}}\n'
            f'{{"id": "2", "text": "x", "gold": {digits}}}\n'
            f'{{"id": "3", "text": "x", "lang": {digits}}}\n').encode()
    result = read_items_bytes(SENTIMENT, data, "n.jsonl")
    messages = dict(problems(result))
    assert messages[1] == "text must be text in double quotes"
    assert messages[2].startswith("unknown label '" + "7" * MAX_ID + "…' in gold")
    assert messages[3] == 'lang must be a language code in double quotes, such as "ko"'


def test_an_id_at_the_limit_passes_and_one_more_is_refused() -> None:
    rows = [{"id": "a" * MAX_ID, "text": "x"}, {"id": "b" * (MAX_ID + 1), "text": "y"}]
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    result = read_items_bytes(SENTIMENT, data, "ids.jsonl")
    assert problems(result) == [(2, f"id is too long: {MAX_ID + 1} characters (the limit "
                                    f"is {MAX_ID})")]


# --------------------------------------------------------------------------- streaming


class ForgetfulIds:
    """Ids kept nowhere: what is left in memory is the checker's own."""

    def register(self, ids: Any) -> dict[str, int | None]:
        return {}


def check_in_batches(path: Path) -> tuple[records.ImportResult, list[int], int]:
    """The result, the batch sizes, and the most memory allocated meanwhile."""
    batches: list[int] = []
    tracemalloc.start()
    try:
        with open_file(SENTIMENT, path, ids=ForgetfulIds()) as checking:
            while (batch := checking.next_batch()) is not None:
                batches.append(len(batch))
            result = checking.result()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, batches, peak


def test_checking_a_file_holds_one_batch_not_the_file(tmp_path: Path) -> None:
    peaks = []
    for lines in (2 * BATCH_LINES, 8 * BATCH_LINES):
        path = tmp_path / f"items-{lines}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for n in range(lines):
                out.write(json.dumps({"id": f"item-{n:06d}",
                                      "text": f"review {n} " + "ab" * 60}) + "\n")
        result, batches, peak = check_in_batches(path)
        assert result.ok and result.count == lines and result.items == []
        assert sum(batches) == lines and max(batches) == BATCH_LINES
        assert format_report(result).splitlines()[1] == f"{lines} items: {lines} tasks"
        peaks.append(peak)
    small, large = peaks
    assert large < small * 1.5, peaks  # four times the file, not more memory


def test_duplicates_are_found_across_batches() -> None:
    rows = [{"id": str(n), "text": "x"} for n in range(BATCH_LINES + 10)]
    rows.append({"id": "3", "text": "again"})
    rows.append({"id": "3", "text": "and again"})
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    result = read_items_bytes(SENTIMENT, data, "dups.jsonl", existing_ids={"5"})
    assert problems(result) == [
        (6, "id '5' is already in this project"),
        (BATCH_LINES + 11, "duplicate id '3' (first used on line 4)"),
        (BATCH_LINES + 12, "duplicate id '3' (first used on line 4)")]


def test_memory_ids_say_where_an_id_was_first_used() -> None:
    ids = MemoryIds(["old"])
    assert ids.register([("a", 1), ("old", 2)]) == {"old": None}
    assert ids.register([("a", 7), ("b", 8)]) == {"a": 1}
