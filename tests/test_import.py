"""Importing items: formats, every reported problem with its line, and media preparation.

Fixture files (images, audio, ZIPs) are made here in ``tmp_path``, never committed.
"""

from __future__ import annotations

import io
import json
import struct
import unicodedata
import wave
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.domain.project_spec import ProjectSpec
from bot.domain.projects import parse_project
from bot.intake import media, records, sources
from bot.intake.importer import format_report, read_items, read_items_bytes
from bot.intake.media import MediaError, prepare_audio, prepare_image
from bot.intake.records import ImportResult, LineError

# --------------------------------------------------------------------------- helpers


def spec(kind: str = "sentiment", labels: list[str] | None = None,
         **extra: Any) -> ProjectSpec:
    data: dict[str, Any] = {"name": f"p-{kind}", "kind": kind, "title": "Test",
                            "currency": "CNY", "reward": "0.02", **extra}
    if labels is not None:
        data["labels"] = labels
    return parse_project(data)


SENTIMENT = spec()
ANIMALS = spec("classification", ["cat", "dog", "bird"])
#: recordings need a language: this project's is English
TRANSCRIBE = spec("transcription", language="en")


def png(size: tuple[int, int] = (40, 30), color: Any = (200, 30, 30),
        mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def jpeg(size: tuple[int, int] = (40, 30), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (10, 120, 240))
    out = io.BytesIO()
    if orientation is None:
        image.save(out, "JPEG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` without the pixels to match."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def wav(seconds: float = 1.5, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(b"\x00\x00" * int(rate * seconds))
    return out.getvalue()


def ogg_page(packet: bytes, granule: int, header_type: int = 0) -> bytes:
    return (b"OggS" + bytes([0, header_type]) + struct.pack("<q", granule)
            + struct.pack("<III", 1, 0, 0) + bytes([1, len(packet)]) + packet)


def opus(seconds: int = 3, padding: int = 0) -> bytes:
    """A fake Ogg/Opus stream: an OpusHead page, then a page ending at ``seconds``."""
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48_000, 0, 0)
    return (ogg_page(head, 0, header_type=2) + b"\x00" * padding
            + ogg_page(b"\x00" * 10, 312 + 48_000 * seconds, header_type=4))


def jsonl(*rows: Any) -> str:
    return "\n".join(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)
                     for row in rows) + "\n"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def make_zip(files: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def problems(result: ImportResult) -> list[tuple[int | None, str]]:
    return [(error.line, error.message) for error in result.errors]


def one_problem(result: ImportResult) -> tuple[int | None, str]:
    assert not result.ok
    assert result.items == []
    assert len(result.errors) == 1, problems(result)
    return result.errors[0].line, result.errors[0].message


# --------------------------------------------------------------------------- good files


def test_good_jsonl(tmp_path: Path) -> None:
    path = write(tmp_path / "items.jsonl", jsonl(
        {"id": 1, "text": "Great phone!", "gold": "positive", "quiz": True,
         "explain": {"en": "Praise", "ko": "칭찬", "zh": "称赞"}},
        "",
        {"id": "b", "text": "배송이 너무 늦었어요", "prelabel": "negative"},
        {"id": "c", "text": "质量一般，价格还行。", "gold": "Neutral", "explain": "Mixed"},
    ))
    result = read_items(SENTIMENT, path)
    assert result.ok, problems(result)
    assert result.source == "items.jsonl"
    first, second, third = result.items
    assert (first.ext_id, first.line, first.gold, first.quiz) == ("1", 1, "positive", True)
    assert first.explain is not None and first.explain.get("ko") == "칭찬"
    assert (second.ext_id, second.line, second.text) == ("b", 3, "배송이 너무 늦었어요")
    assert second.prelabel == "negative" and second.gold is None and not second.quiz
    # labels match whatever the case, and are stored as the project spells them
    assert third.gold == "neutral"
    assert third.text == "质量一般，价格还行。"
    assert third.explain is not None and third.explain.get("zh") == "Mixed"
    # each text's language was detected; the report counts kinds as /projects does
    assert [item.lang for item in result.items] == ["en", "ko", "zh"]
    assert all(item.detected for item in result.items)
    assert format_report(result) == ("items.jsonl imported.\n"
                                     "3 items: 1 task, 1 gold check, 1 quiz question\n"
                                     "Content: 3 texts\n"
                                     "By language: en 1, ko 1, zh 1 (3 detected from the text)")


def test_jsonl_lines_split_only_on_newline(tmp_path: Path) -> None:
    """U+2028 inside a JSON string must not shift the line numbers that follow."""
    path = write(tmp_path / "items.jsonl",
                 '{"id": "a", "text": "one\u2028two"}\n{"id": "b", "text": "x", '
                 '"gold": "happy"}\r\n')
    result = read_items(SENTIMENT, path)
    assert one_problem(result)[0] == 2


def test_good_csv_with_multiline_field(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv",
                 'id,text,gold,quiz,explain,explain_ko\n'
                 '1,"first line\nsecond line, with comma",positive,yes,Nice,좋아요\n'
                 '2,"He said ""hi""",,,,\n'
                 '\n'
                 '3,다음,negative,0,,\n')
    result = read_items(SENTIMENT, path)
    assert result.ok, problems(result)
    one, two, three = result.items
    assert (one.line, one.text, one.quiz) == (2, "first line\nsecond line, with comma", True)
    assert one.explain is not None and one.explain.texts == {"en": "Nice", "ko": "좋아요"}
    assert (two.line, two.text, two.gold, two.quiz, two.explain) == (4, 'He said "hi"',
                                                                      None, False, None)
    assert (three.line, three.ext_id, three.gold, three.quiz) == (6, "3", "negative", False)


def test_csv_line_numbers_after_multiline_field(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv",
                 'id,text,gold\n1,"a\nb\nc",positive\n2,ok,happy\n3,"x\ny",sad\n')
    result = read_items(SENTIMENT, path)
    assert [line for line, _ in problems(result)] == [5, 6]


def test_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv",
                 "\ufeffID,Text,Gold\r\n1,좋아요,positive\r\n2,\"two\r\nlines\",neutral\r\n")
    result = read_items(SENTIMENT, path)
    assert result.ok, problems(result)
    assert [item.ext_id for item in result.items] == ["1", "2"]
    assert result.items[1].text == "two\nlines"


def test_csv_semicolon_header(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", "id;text\n1;hello, world\n")
    result = read_items(SENTIMENT, path)
    assert result.ok, problems(result)
    assert result.items[0].text == "hello, world"


def test_zip_with_images_and_audio(tmp_path: Path) -> None:
    cat = png((60, 40))
    data = make_zip({
        "batch/items.jsonl": jsonl(
            {"id": "v1", "audio": "sounds/hello.ogg", "gold": "안녕하세요"},
            {"id": "w1", "audio": "../batch/sounds/long.wav"},
            {"id": "i1", "image": "img/cat.png", "gold": "a cat"},
            {"id": "i2", "image": "img/cat-copy.png"},
        ),
        "batch/sounds/hello.ogg": opus(),
        "batch/sounds/long.wav": wav(),
        "batch/img/cat.png": cat,
        "batch/img/cat-copy.png": cat,
    })
    path = write(tmp_path / "upload.zip", data)
    result = read_items(TRANSCRIBE, path)
    assert result.ok, problems(result)
    voice, audio, image, copy = (item.media for item in result.items)
    assert voice is not None and voice.kind == "voice" and voice.mime == "audio/ogg"
    assert voice.duration == 3 and voice.filename == "hello.ogg"
    assert audio is not None and audio.kind == "audio" and audio.duration == 2
    assert image is not None and image.kind == "photo" and image.mime == "image/jpeg"
    assert (image.width, image.height) == (60, 40)
    assert copy is image  # identical bytes are prepared once
    assert result.items[0].gold == "안녕하세요"
    assert format_report(result).splitlines()[1:] == [
        "4 items: 2 tasks, 2 gold checks", "Content: 2 images, 1 voice note, 1 audio file",
        "By language: en 4"]  # the project's language, for the pictures too


def test_zip_media_relative_to_root_and_nfd_names(tmp_path: Path) -> None:
    name = unicodedata.normalize("NFD", "고양이.png")  # as macOS writes it
    data = make_zip({"data/items.csv": "id,image,gold\n1,pics/고양이.png,cat\n",
                     f"pics/{name}": png(), "__MACOSX/data/._items.csv": "junk"})
    result = read_items_bytes(ANIMALS, data, "cats.zip")
    assert result.ok, problems(result)
    assert result.items[0].media is not None


def test_chat_upload_of_plain_file(tmp_path: Path) -> None:
    good = read_items_bytes(SENTIMENT, b'{"id": "1", "text": "hi"}\n', "new.jsonl")
    assert good.ok and good.items[0].text == "hi"
    bad = read_items_bytes(ANIMALS, b"id,image\n1,cat.png\n", "doc.csv")
    line, message = one_problem(bad)
    assert line == 2 and "send a ZIP" in message


# --------------------------------------------------------------------------- line problems

_IMAGE = "pic.png"
_NOT_IMAGE = "notes.png"
_NOT_AUDIO = "song.mp3"


@pytest.mark.parametrize(("project", "row", "expected"), [
    (SENTIMENT, '{"id": "x", "text": ', "not valid JSON"),
    (SENTIMENT, '{"id": "x", "text": "hi"},', "remove the comma"),
    (SENTIMENT, '"just text"', "must be a JSON object"),
    (SENTIMENT, '[{"id": "x", "text": "hi"}]', "JSON array"),
    (SENTIMENT, '{"id": "x", "text": "a", "text": "b"}', "key 'text' appears twice"),
    (SENTIMENT, {"text": "no id"}, "missing id"),
    (SENTIMENT, {"id": "  ", "text": "blank id"}, "missing id"),
    (SENTIMENT, {"id": 1.5, "text": "x"}, "id must be text or a whole number"),
    (SENTIMENT, {"id": "x", "text": "   "}, "text is empty"),
    (SENTIMENT, {"id": "x", "text": "hi", "gold": "happy"},
     "unknown label 'happy' in gold (allowed: positive, neutral, negative)"),
    (ANIMALS, {"id": "x", "text": "hi", "prelabel": "fish"},
     "unknown label 'fish' in prelabel (allowed: cat, dog, bird)"),
    (ANIMALS, {"id": "x", "image": "missing.png"}, "image 'missing.png' not found"),
    (ANIMALS, {"id": "x", "image": _NOT_IMAGE}, "image 'notes.png': not an image"),
    (TRANSCRIBE, {"id": "x", "audio": _NOT_AUDIO}, "audio 'song.mp3': not an audio file"),
    (SENTIMENT, {"id": "x", "audio": "a.wav"}, "sentiment project takes text or images"),
    (ANIMALS, {"id": "x", "audio": "a.wav"}, "classification project takes text or images"),
    (TRANSCRIBE, {"id": "x", "text": "hello"}, "needs audio or an image"),
    (ANIMALS, {"id": "x", "text": "hi", "image": _IMAGE},
     "give only one of text, image or audio (this item has text and image)"),
    (ANIMALS, {"id": "x", "gold": "cat"}, "no content"),
    (SENTIMENT, {"id": "x", "text": "hi", "label": "positive", "colour": "red"},
     "unknown keys 'label', 'colour' (allowed: id, text, image, audio, gold, quiz, "
     "explain, prelabel, lang); did you mean 'gold' instead of 'label'?"),
    (SENTIMENT, {"id": "x", "text": "a" * 3501}, "text is too long: 3501 characters"),
    (SENTIMENT, {"id": "x", "text": "😀" * 1751}, "text is too long: 3502 characters"),
    (SENTIMENT, {"id": "x", "text": "hi", "quiz": True}, "quiz item needs a gold answer"),
    (SENTIMENT, {"id": "x", "text": "hi", "quiz": "yes", "gold": "positive"},
     "quiz must be true or false"),
    (SENTIMENT, {"id": "x", "text": "hi", "gold": "positive", "explain": {"fr": "x"}},
     "unknown language 'fr'"),
    (SENTIMENT, {"id": "x", "text": "hi", "explain": "why"}, "no gold answer to explain"),
    (ANIMALS, {"id": "x", "image": "../outside.png"}, "outside the items file's folder"),
    (ANIMALS, {"id": "x", "image": "/etc/passwd"}, "not an absolute path"),
    (ANIMALS, {"id": "x", "image": "https://example.com/a.png"}, "is a web address"),
    (ANIMALS, {"id": "x", "image": "sub"}, "is a folder"),
    (TRANSCRIBE, {"id": "x", "image": _IMAGE, "gold": 12}, None),
])
def test_each_line_problem(tmp_path: Path, project: ProjectSpec, row: Any,
                           expected: str | None) -> None:
    folder = tmp_path / "items"
    folder.mkdir()
    (folder / "sub").mkdir()
    write(folder / _IMAGE, png())
    write(folder / _NOT_IMAGE, b"this is not a picture")
    write(folder / _NOT_AUDIO, b"neither is this a song")
    write(folder / "a.wav", wav())
    write(tmp_path / "outside.png", png())
    good = {"id": "ok", "image": _IMAGE} if project is TRANSCRIBE else {"id": "ok",
                                                                          "text": "fine"}
    path = write(folder / "items.jsonl", jsonl(good, row))
    result = read_items(project, path)
    if expected is None:
        assert result.ok, problems(result)
        return
    line, message = one_problem(result)
    assert line == 2
    assert expected in message


def test_text_at_the_limit_passes(tmp_path: Path) -> None:
    path = write(tmp_path / "items.jsonl", jsonl({"id": "x", "text": "가" * 3500}))
    assert read_items(SENTIMENT, path).ok


def test_duplicate_ids_within_file_and_against_project(tmp_path: Path) -> None:
    path = write(tmp_path / "items.jsonl", jsonl(
        {"id": "a", "text": "1"}, {"id": "b", "text": "2"}, {"id": "a", "text": "3"},
        {"id": 7, "text": "4"}))
    result = read_items(SENTIMENT, path, existing_ids=["7", "zz"])
    assert problems(result) == [(3, "duplicate id 'a' (first used on line 1)"),
                                (4, "id '7' is already in this project")]


def test_all_problems_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path / "items.jsonl", jsonl(
        {"id": "1", "text": "ok"}, {"id": "2", "text": "x", "gold": "meh"},
        {"id": "3", "text": "fine"}, "{oops", {"text": "no id"}))
    result = read_items(SENTIMENT, path)
    assert [line for line, _ in problems(result)] == [2, 4, 5]
    assert result.items == [] and result.count == 5
    report = format_report(result)
    assert report.splitlines()[0] == "items.jsonl: 3 problems, nothing was imported"
    assert "  line 2: unknown label 'meh' in gold" in report


def test_several_problems_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "items.jsonl",
                 jsonl({"text": "", "gold": "bad", "quiz": 1, "extra": 1}))
    messages = [message for _, message in problems(read_items(SENTIMENT, path))]
    assert len(messages) == 5
    assert messages[0].startswith("unknown key 'extra'")
    assert messages[1:] == ["missing id", "text is empty",
                            "unknown label 'bad' in gold (allowed: positive, neutral, "
                            "negative)", "quiz must be true or false (without quotes)"]


def test_error_list_is_capped(tmp_path: Path) -> None:
    path = write(tmp_path / "items.jsonl",
                 jsonl(*({"id": str(n), "text": "x", "gold": "no"} for n in range(250))))
    result = read_items(SENTIMENT, path)
    assert len(result.errors) == records.MAX_ERRORS + 1
    assert str(result.errors[-1]) == "… and 50 more problems"
    assert result.problem_count == 250
    report = format_report(result, limit=10).splitlines()
    assert report[0] == "items.jsonl: 250 problems, nothing was imported"
    assert len(report) == 12 and report[-1] == "  … and 240 more problems"


def test_progress_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "items.jsonl",
                 jsonl(*({"id": str(n), "text": "x"} for n in range(1200))))
    seen: list[int] = []
    result = read_items(SENTIMENT, path, progress=seen.append)
    assert result.ok and len(result.items) == 1200
    assert seen == [500, 1000, 1200]


# --------------------------------------------------------------------------- CSV problems


def test_csv_problems(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv",
                 'id,text,gold,quiz,colour\n'
                 '1,fine,positive,yes,\n'
                 '2,bad quiz,positive,maybe,\n'
                 '3,"too, many",values,x,y,z\n'
                 '4,,,,\n'
                 '5,"broken "quote,neutral,,\n'
                 '1,dup,,,\n'
                 '6,"never closed,neutral,,\n'
                 '7,still inside,,,\n')
    result = read_items(SENTIMENT, path)
    assert problems(result) == [
        (1, "unknown column 'colour' (allowed: id, text, image, audio, gold, quiz, explain, "
            "prelabel, lang, explain_en, explain_ko, explain_zh)"),
        (3, "quiz must be true or false (or yes/no, 1/0), not 'maybe'"),
        (4, "this line has 6 values but the header names 5 columns (a value containing a "
            "comma must be in double quotes)"),
        (5, "text is empty"),
        (6, "a quote is out of place: put the whole value in double quotes and double any "
            "quote inside it (\"\") (',' expected after '\"')"),
        (7, "duplicate id '1' (first used on line 2)"),
        (8, "a quoted value starting on line 8 is never closed (a \" is missing), so the "
            "rest of the file was read into it"),
    ]


def test_csv_without_id_column_says_so_once(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", "text,gold\nhello,positive\nbye,negative\n")
    assert problems(read_items(SENTIMENT, path)) == [(1, "the header has no id column")]


def test_csv_duplicate_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", "id,text,Text\n1,a,b\n")
    assert problems(read_items(SENTIMENT, path)) == [
        (1, "column 'text' appears twice in the header")]


def test_csv_without_header(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", "1,hello\n2,bye\n")
    line, message = one_problem(read_items(SENTIMENT, path))
    assert line == 1 and "must be a header" in message


def test_csv_header_only(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", "id,text\n\n")
    assert one_problem(read_items(SENTIMENT, path)) == (
        None, "the file has a header but no items")


# --------------------------------------------------------------------------- file problems


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("items.jsonl", b"", "the file is empty"),
    ("items.csv", b"  \n\n", "the file is empty"),
    ("items.json", b"[]", "unsupported file type '.json': use a .jsonl, .csv or .zip file"),
    ("items.xlsx", b"PK", "unsupported file type '.xlsx'"),
    ("items", b"x", "unsupported file type without an extension"),
    ("items.csv", "id,text\n1,caf\xe9\n".encode("utf-16"), "UTF-16"),
    ("items.csv", make_zip({"a": "b"}), "Excel workbook"),
    ("items.zip", b"not a zip at all", "not a valid ZIP file"),
    ("items.zip", make_zip({"pic.png": png()}), "no items file"),
    ("items.zip", make_zip({"a.csv": "id,text\n", "b/c.jsonl": "{}"}),
     "the ZIP holds 2 items files ('a.csv', 'b/c.jsonl'); put exactly one in it"),
])
def test_whole_file_problems(name: str, data: bytes, expected: str) -> None:
    result = read_items_bytes(SENTIMENT, data, name)
    line, message = one_problem(result)
    assert line is None
    assert expected in message


def test_bad_encoding_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", "id,text\n1,ok\n2,café\n".encode("latin-1"))
    line, message = one_problem(read_items(SENTIMENT, path))
    assert line == 3 and "not UTF-8" in message


def test_missing_file(tmp_path: Path) -> None:
    line, message = one_problem(read_items(SENTIMENT, tmp_path / "nope.jsonl"))
    assert line is None and message.startswith("file not found")


def test_zip_bomb_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip({"items.jsonl": jsonl({"id": "1", "text": "x"}),
                     "zeros.bin": b"\x00" * 5_000_000})
    assert len(data) < 50_000
    monkeypatch.setattr(sources, "MAX_ZIP_BYTES", 1_000_000)
    _, message = one_problem(read_items_bytes(SENTIMENT, data, "bomb.zip"))
    assert "unpacks to 4.8 MB; the limit is 977 KB" in message


def test_zip_member_count_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "MAX_ZIP_MEMBERS", 3)
    data = make_zip({f"f{n}.txt": "x" for n in range(4)})
    _, message = one_problem(read_items_bytes(SENTIMENT, data, "many.zip"))
    assert "holds 4 files; the limit is 3" in message


def test_zip_errors_name_the_items_file(tmp_path: Path) -> None:
    data = make_zip({"batch/items.jsonl": jsonl(
        {"id": "1", "image": "Cat.PNG"}, {"id": "2", "image": "../../x.png"},
        {"id": "3", "image": "cat.png", "gold": "cow"}),
        "batch/cat.png": png()})
    result = read_items_bytes(ANIMALS, data, "upload.zip")
    assert [str(error) for error in result.errors] == [
        "batch/items.jsonl line 1: image 'Cat.PNG' not found in the ZIP (names are "
        "case-sensitive: did you mean 'batch/cat.png'?)",
        "batch/items.jsonl line 2: image '../../x.png' is outside the ZIP; give a path "
        "inside it",
        "batch/items.jsonl line 3: unknown label 'cow' in gold (allowed: cat, dog, bird)",
    ]
    assert format_report(result).splitlines()[0] == ("upload.zip: 3 problems, nothing "
                                                     "was imported")


def test_zip_media_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip({"items.jsonl": jsonl({"id": "1", "audio": "big.wav"}),
                     "big.wav": wav(seconds=3)})
    monkeypatch.setattr(sources, "MAX_MEDIA_BYTES", 1024)
    _, message = one_problem(read_items_bytes(TRANSCRIBE, data, "a.zip"))
    assert message == "audio 'big.wav' is larger than 1 KB"


def test_symlink_out_of_folder_refused(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret.png", png())
    folder = tmp_path / "items"
    folder.mkdir()
    (folder / "link.png").symlink_to(secret)
    path = write(folder / "items.jsonl", jsonl({"id": "1", "image": "link.png"}))
    _, message = one_problem(read_items(ANIMALS, path))
    assert "outside the items file's folder" in message


def test_line_error_str() -> None:
    assert str(LineError(5, "unknown label 'happy'")) == "line 5: unknown label 'happy'"
    assert str(LineError(5, "x", "items.jsonl")) == "items.jsonl line 5: x"
    assert str(LineError(None, "the file is empty")) == "the file is empty"
    assert str(LineError(0, "empty", "a.csv")) == "a.csv: empty"


# --------------------------------------------------------------------------- images


def test_large_image_resized_to_phone_jpeg() -> None:
    prepared = prepare_image(png((3000, 1000)), "wide.png")
    assert (prepared.kind, prepared.mime, prepared.filename) == ("photo", "image/jpeg",
                                                                 "wide.jpg")
    assert (prepared.width, prepared.height) == (1280, 427)
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.format == "JPEG" and image.size == (1280, 427)


def test_large_jpeg_uses_draft_and_keeps_long_side() -> None:
    prepared = prepare_image(jpeg((4000, 3000)))
    assert (prepared.width, prepared.height) == (1280, 960)


def test_exif_orientation_applied() -> None:
    prepared = prepare_image(jpeg((200, 100), orientation=6))
    assert (prepared.width, prepared.height) == (100, 200)
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert 0x0112 not in image.getexif()  # metadata is not passed on


def test_transparent_png_flattened_onto_white() -> None:
    prepared = prepare_image(png((20, 20), (255, 0, 0, 0), mode="RGBA"))
    with Image.open(io.BytesIO(prepared.data)) as image:
        red, green, blue = image.convert("RGB").getpixel((10, 10))
    assert min(red, green, blue) > 245


def test_palette_gif_with_transparency() -> None:
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    out = io.BytesIO()
    image.save(out, "GIF", transparency=0)
    prepared = prepare_image(out.getvalue())
    with Image.open(io.BytesIO(prepared.data)) as result:
        assert min(result.getpixel((5, 5))) > 245


def test_declared_huge_image_refused() -> None:
    with pytest.raises(MediaError, match="too large"):
        prepare_image(png_header_only(100_000, 100_000))  # Pillow's own bomb error
    with pytest.raises(MediaError, match="too large: 8000 x 8000 pixels"):
        prepare_image(png_header_only(8000, 8000))  # over our 50 MP limit


@pytest.mark.parametrize("size", [(10, 15), (40, 40)])
def test_pillow_bomb_warning_and_error_refused(monkeypatch: pytest.MonkeyPatch,
                                               size: tuple[int, int]) -> None:
    """(10, 15) only makes Pillow warn, (40, 40) makes it raise: both are refusals."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(MediaError, match="decompression bomb"):
        prepare_image(png(size))


def test_own_pixel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "MAX_PIXELS", 100)
    with pytest.raises(MediaError, match=r"the limit is 0\.0001 megapixels"):
        prepare_image(png((20, 20)))


def test_image_bomb_inside_import(tmp_path: Path) -> None:
    data = make_zip({"items.csv": "id,image,gold\n1,ok.png,cat\n2,bomb.png,dog\n",
                     "ok.png": png(), "bomb.png": png_header_only(9000, 9000)})
    line, message = one_problem(read_items_bytes(ANIMALS, data, "x.zip"))
    assert line == 3 and message.startswith("image 'bomb.png': image is too large")


@pytest.mark.parametrize("data", [b"", b"GIF89a broken", png()[:60], b"%PDF-1.4"])
def test_not_an_image(data: bytes) -> None:
    with pytest.raises(MediaError):
        prepare_image(data)


def test_too_thin_for_telegram() -> None:
    with pytest.raises(MediaError, match="long and thin"):
        prepare_image(png((2100, 100)))


def test_media_error_is_value_error() -> None:
    assert issubclass(MediaError, ValueError)


# --------------------------------------------------------------------------- audio


def test_wav_duration() -> None:
    prepared = prepare_audio(wav(seconds=1.5), "clip.WAV")
    assert (prepared.kind, prepared.mime, prepared.duration) == ("audio", "audio/wav", 2)
    assert prepared.filename == "clip.wav"
    assert prepared.data == wav(seconds=1.5)


def test_small_opus_is_a_voice_note_big_one_is_audio() -> None:
    small = prepare_audio(opus(seconds=4), "note.opus")
    assert (small.kind, small.filename, small.duration) == ("voice", "note.ogg", 4)
    big = prepare_audio(opus(padding=media.MAX_VOICE_BYTES), "long.ogg")
    assert big.kind == "audio" and big.mime == "audio/ogg"


def test_loose_opus_header_still_voice() -> None:
    assert prepare_audio(b"OggS" + b"\x00" * 24 + b"OpusHead" + b"\x00" * 30,
                         "v.ogg").kind == "voice"


@pytest.mark.parametrize(("data", "mime"), [
    (b"ID3\x04\x00" + b"\x00" * 100, "audio/mpeg"),
    (b"\xff\xfb\x90\x00" + b"\x00" * 100, "audio/mpeg"),
    (b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 100, "audio/mp4"),
    (b"fLaC" + b"\x00" * 100, "audio/flac"),
    (ogg_page(b"\x01vorbis" + b"\x00" * 20, 0, 2), "audio/ogg"),
])
def test_audio_formats(data: bytes, mime: str) -> None:
    prepared = prepare_audio(data, "x")
    assert (prepared.kind, prepared.mime, prepared.duration) == ("audio", mime, None)


@pytest.mark.parametrize("data", [
    b"", b"hello", png(), b"\xff\xf1\x50\x80" + b"\x00" * 50,  # AAC/ADTS is not MP3
    b"\x00\x00\x00\x18ftypheic" + b"\x00" * 50,  # an iPhone photo, not M4A
])
def test_not_audio(data: bytes) -> None:
    with pytest.raises(MediaError, match="not an audio file"):
        prepare_audio(data, "x.mp3")


def test_audio_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "MAX_MEDIA_BYTES", 100)
    with pytest.raises(MediaError, match="larger than"):
        prepare_audio(wav(), "a.wav")
