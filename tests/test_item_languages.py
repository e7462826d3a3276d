"""Every item's language, decided at import, and the counts operators read (issue 10).

The language comes from the item's ``lang``, else the project's ``language``, else it is
detected from the text; recordings cannot be detected and are refused without one. The
import report, ``/projects`` and ``tapwork stats`` count items the same way.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import wave
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bench.languages import load_labelled, load_sample, score
from bot.cli import main
from bot.domain.errors import ProjectError
from bot.domain.inventory import ItemCounts, describe, tally
from bot.domain.item_language import detect, parse_code, reading_part
from bot.domain.project_spec import ProjectSpec
from bot.domain.projects import parse_project
from bot.i18n import gettext_for
from bot.intake import checks, records
from bot.intake.importer import format_report, read_items, read_items_bytes
from bot.wiring import Services
from storage import items as item_store
from storage import projects as project_store
from storage.items import DONE
from tests.conftest import OPERATOR_ID, Running, sentiment_doc

# --------------------------------------------------------------------------- helpers


def spec(kind: str = "sentiment", **extra: Any) -> ProjectSpec:
    doc: dict[str, Any] = {"name": "p", "kind": kind, "title": "Test", "currency": "CNY",
                           "reward": "0.02", **extra}
    return parse_project(doc)


def jsonl(*rows: dict[str, Any]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def langs(result: records.ImportResult) -> list[tuple[str, str, bool]]:
    assert result.ok, [(e.line, e.message) for e in result.errors]
    return [(item.ext_id, item.lang, item.detected) for item in result.items]


def problems(result: records.ImportResult) -> list[tuple[int | None, str]]:
    return [(error.line, error.message) for error in result.errors]


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\x00\x00" * 8000)
    return out.getvalue()


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def zipped(items: bytes, files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("items.jsonl", items)
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


# --------------------------------------------------------------------------- codes


def test_language_codes_are_checked_and_kept_as_primary_subtags() -> None:
    assert [parse_code(tag) for tag in ("en", "ko-KR", "zh-Hans-CN", "pt_BR", "YUE",
                                        "kr-NG")] == ["en", "ko", "zh", "pt", "yue", "kr"]
    for tag, why in (("xx", "not a language code"), ("cn", "did you mean 'zh'"),
                     ("jp", "did you mean 'ja'"), ("kr", "Korean is 'ko'"),
                     ("und", "not a language code"), ("e n", "not a language code")):
        with pytest.raises(ValueError, match=why):
            parse_code(tag)


def test_project_language_key() -> None:
    assert spec(language="zh-Hant").language == "zh"
    assert spec().language is None
    with pytest.raises(ProjectError, match=r"language must be .*: 'kr' is Kanuri"):
        spec(language="kr")
    with pytest.raises(ProjectError, match="language must be a language code"):
        spec(language=["en", "ko"])


# --------------------------------------------------------------------------- detection


def test_reading_rules_before_the_detector() -> None:
    assert reading_part("123 !!! 👍") is None  # no letters: nothing to read
    assert reading_part("Apple Watch 너무 좋아요") == "너무 좋아요"  # a brand is a name
    assert reading_part("Tried the 김치 fries, so good") == "Tried the 김치 fries, so good"
    assert [detect(text) for text in ("Apple Watch 너무 좋아요", "iPhone 15 真的很好用",
                                      "Love it 😍", "ok", "좋아요", "好", "ㅋㅋㅋ",
                                      "123 !!!", "こんにちは")] == \
        ["ko", "zh", "en", "en", "ko", "zh", "ko", None, None]


def test_detection_accuracy_on_the_labelled_short_texts_and_the_sample() -> None:
    # measured with bench/languages.py: 100 % on both; the floors leave room for a
    # lingua update to move a mixed-script case or two, no more
    labelled = load_labelled()
    assert len(labelled) >= 300
    assert {language for language, _ in labelled} == {"en", "ko", "zh"}
    result = score(detect, labelled)
    assert result.overall >= 0.99, result.wrong
    assert min(result.per_language.values()) >= 0.98, result.per_language
    sample = score(detect, load_sample())
    assert sample.overall >= 0.97, sample.wrong


def test_the_benchmark_runs_and_prints_every_detector() -> None:
    from bench import languages

    result = languages.run(repeat=1)
    names = [row["detector"] for row in result["rows"]]  # type: ignore[attr-defined]
    assert {"lingua (high accuracy)", "lingua (low accuracy)",
            "lingua, rules (shipped)"} <= set(names)
    shipped = next(row for row in result["rows"]  # type: ignore[attr-defined]
                   if row["detector"] == "lingua, rules (shipped)")
    assert shipped["labelled"]["overall"] >= 0.99
    table = languages.format_table(result)
    assert "lingua-language-detector: installed" in table
    assert ("py3langid: installed" in table) != ("py3langid is not installed" in table)


# --------------------------------------------------------------------------- import


def test_lang_key_wins_then_the_project_language_then_detection() -> None:
    items = jsonl({"id": "a", "text": "This is English", "lang": "ko-KR"},
                  {"id": "b", "text": "배송이 빨라요"},
                  {"id": "c", "text": "123 !!!"},
                  {"id": "d", "text": "Apple Watch 너무 좋아요", "lang": ""})
    assert langs(read_items_bytes(spec(), items, "i.jsonl")) == [
        ("a", "ko", False), ("b", "ko", True), ("c", "", False), ("d", "ko", True)]
    # a project language is taken by every item without its own, nothing is detected
    assert langs(read_items_bytes(spec(language="ja"), items, "i.jsonl")) == [
        ("a", "ko", False), ("b", "ja", False), ("c", "ja", False), ("d", "ja", False)]


def test_csv_lang_column_and_detection(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,text,lang\n1,hello there,zh-Hans\n2,很好用,\n3,좋아요,\n"
                    "4,Great coffee 👍,\n", encoding="utf-8")
    assert langs(read_items(spec(), path)) == [("1", "zh", False), ("2", "zh", True),
                                              ("3", "ko", True), ("4", "en", True)]


def test_bad_language_codes_are_refused_with_their_lines(tmp_path: Path) -> None:
    data = jsonl({"id": "1", "text": "fine", "lang": "en"},
                 {"id": "2", "text": "fine", "lang": "xx"},
                 {"id": "3", "text": "fine", "lang": 5},
                 {"id": "4", "text": "fine", "language": "en"})
    result = read_items_bytes(spec(), data, "i.jsonl")
    assert result.items == []
    assert problems(result)[:3] == [
        (2, "lang: 'xx' is not a language code such as en, ko or zh"),
        (3, 'lang must be a language code in double quotes, such as "ko"'),
        (4, "unknown key 'language' (allowed: id, text, image, audio, gold, quiz, explain, "
            "prelabel, lang); did you mean 'lang' instead of 'language'?")]
    path = tmp_path / "items.csv"
    path.write_text("id,text,lang\n1,ok,en\n2,ok,kr\n3,ok,cn\n", encoding="utf-8")
    csv_result = read_items(spec(), path)
    assert csv_result.items == []
    assert problems(csv_result) == [
        (3, "lang: 'kr' is Kanuri; Korean is 'ko' (for Kanuri write 'kr-NG')"),
        (4, "lang: 'cn' is a country, not a language; did you mean 'zh'?")]


def test_audio_needs_a_language_and_is_refused_on_its_line_without_one() -> None:
    items = jsonl({"id": "v1", "audio": "a.wav", "lang": "ko"},
                  {"id": "v2", "audio": "a.wav"},
                  {"id": "i1", "image": "p.png"})
    data = zipped(items, {"a.wav": wav(), "p.png": png()})
    result = read_items_bytes(spec("transcription"), data, "upload.zip")
    assert result.items == []
    assert problems(result) == [(2, 'audio needs a language to listen for: give lang (such '
                                    'as "ko") or set the project\'s language')]
    # with a project language the same file imports, the picture taking it too
    assert langs(read_items_bytes(spec("transcription", language="zh"), data,
                                  "upload.zip")) == [("v1", "ko", False), ("v2", "zh", False),
                                                     ("i1", "zh", False)]


def test_pictures_take_their_lang_or_the_projects_or_none() -> None:
    items = jsonl({"id": "1", "image": "p.png"}, {"id": "2", "image": "p.png", "lang": "en"})
    data = zipped(items, {"p.png": png()})
    animals = {"labels": ["cat", "dog"]}
    assert langs(read_items_bytes(spec("classification", **animals), data, "z.zip")) == [
        ("1", "", False), ("2", "en", False)]
    assert langs(read_items_bytes(spec("classification", language="ko", **animals), data,
                                  "z.zip")) == [("1", "ko", False), ("2", "en", False)]


async def test_detection_runs_in_the_import_thread_not_on_the_event_loop(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []

    def spy(text: str) -> str | None:
        threads.append(threading.current_thread())
        return "en"

    monkeypatch.setattr(checks, "detect", spy)
    await services.catalog.save(parse_project(sentiment_doc()))
    result = await services.catalog.import_bytes(
        "reviews", jsonl({"id": "1", "text": "one"}, {"id": "2", "text": "two"}), "i.jsonl")
    assert result.ok and len(threads) == 2
    assert threading.current_thread() not in threads  # the loop's thread never detects


# --------------------------------------------------------------------------- the report


def test_report_counts_kinds_and_languages_in_the_readers_words() -> None:
    items = jsonl({"id": "1", "text": "Great phone", "gold": "positive"},
                  {"id": "2", "text": "Great phone", "gold": "positive", "quiz": True},
                  {"id": "3", "text": "배송이 빨라요"},
                  {"id": "4", "text": "Terrible"},
                  {"id": "5", "text": "10/10 !!!"},
                  {"id": "6", "text": "whatever", "lang": "ja"})
    result = read_items_bytes(spec(), items, "items.jsonl")
    assert format_report(result) == (
        "items.jsonl imported.\n"
        "6 items: 4 tasks, 1 gold check, 1 quiz question\n"
        "Content: 6 texts\n"
        "By language: en 3, ja 1, ko 1, none 1 (4 detected from the text)")
    korean = format_report(result, reader=gettext_for("ko")).splitlines()
    assert korean == ["items.jsonl 파일을 가져왔어요.",
                      "항목 6개: 작업 4개, 확인 문제 1개, 시험 문제 1개",
                      "내용: 텍스트 6개",
                      "언어별: 영어 3, 일본어 1, 한국어 1, 언어 없음 1 "
                      "(텍스트에서 언어를 알아낸 항목 4개)"]
    chinese = format_report(result, reader=gettext_for("zh")).splitlines()
    assert chinese[1] == "6 项：4 个任务、1 道检查题、1 道考试题"
    assert chinese[3].startswith("按语言：英语 3、日语 1、韩语 1、无语言 1")


def test_one_item_reads_in_the_singular() -> None:
    assert describe(ItemCounts(tasks=1), gettext_for("en")) == "1 item: 1 task"
    assert describe(tally([("task", "en", 6), ("gold", "ko", 1)]),
                    gettext_for("en")) == "7 items: 6 tasks, 1 gold check"
    result = read_items_bytes(spec(), jsonl({"id": "1"}), "i.jsonl")
    assert format_report(result).splitlines()[0] == "i.jsonl: 1 problem, nothing was imported"


# --------------------------------------------------------------------------- storage


async def test_items_keep_their_language_and_the_project_row_its_languages(
        services: Services, tmp_path: Path) -> None:
    await services.catalog.save(parse_project(sentiment_doc()))
    first = tmp_path / "first.jsonl"
    first.write_bytes(jsonl({"id": "1", "text": "Great coffee"},
                            {"id": "2", "text": "배송이 빨라요", "gold": "positive"},
                            {"id": "3", "text": "👍👍"}))
    assert (await services.catalog.import_file("reviews", first)).ok
    async with services.db.read() as conn:
        row = await project_store.get_by_name(conn, "reviews")
        assert row is not None and row.languages == ("en", "ko")
        stored = {i: (await item_store.get(conn, i)) for i in (1, 2, 3)}
    assert [item.lang for item in stored.values() if item] == ["en", "ko", ""]
    second = tmp_path / "second.jsonl"
    second.write_bytes(jsonl({"id": "4", "text": "很好用", "quiz": True, "gold": "positive"},
                             {"id": "5", "text": "Bonjour", "lang": "fr"}))
    assert (await services.catalog.import_file("reviews", second)).ok
    async with services.db.read() as conn:
        row = await project_store.get_by_name(conn, "reviews")
    assert row is not None and row.languages == ("en", "fr", "ko", "zh")
    # a refused import changes nothing
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(jsonl({"id": "6", "text": "hola", "lang": "es"}, {"id": "7"}))
    assert not (await services.catalog.import_file("reviews", bad)).ok
    async with services.db.read() as conn:
        row = await project_store.get_by_name(conn, "reviews")
    assert row is not None and row.languages == ("en", "fr", "ko", "zh")


@pytest.mark.sqlite_only("SQLite's query plan (tests/test_query_plans_pg.py: PostgreSQL's)")
async def test_recomputing_the_languages_seeks_the_indexes_never_scans_items(
        services: Services, tmp_path: Path) -> None:
    await services.catalog.save(parse_project(sentiment_doc()))
    file = tmp_path / "items.jsonl"
    file.write_bytes(jsonl(*({"id": str(i), "text": "좋아요" if i % 2 else "fine"}
                             for i in range(20))))
    statements: list[str] = []
    raw: sqlite3.Connection = services.db._conn._connection  # type: ignore[attr-defined]
    raw.set_trace_callback(statements.append)
    try:
        assert (await services.catalog.import_file("reviews", file)).ok
    finally:
        raw.set_trace_callback(None)
    recompute = next(s for s in statements if "WITH RECURSIVE" in s)
    plan = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + recompute)]
    assert not [step for step in plan if step.startswith("SCAN items")], plan
    assert any("USING INDEX items_to_serve" in step for step in plan), plan


# --------------------------------------------------------------------------- stats


async def test_stats_count_kinds_and_items_left_per_language(
        services: Services, tmp_path: Path) -> None:
    await services.catalog.save(parse_project(sentiment_doc()))
    file = tmp_path / "items.jsonl"
    file.write_bytes(jsonl({"id": "1", "text": "Great coffee"},
                           {"id": "2", "text": "Terrible service"},
                           {"id": "3", "text": "배송이 빨라요"},
                           {"id": "4", "text": "10/10"},
                           {"id": "5", "text": "很好用", "gold": "positive"},
                           {"id": "6", "text": "Fine", "gold": "neutral", "quiz": True}))
    assert (await services.catalog.import_file("reviews", file)).ok
    async with services.db.transaction() as conn:
        await item_store.set_progress(conn, 1, 3, 0, DONE, "positive", 0.9)
    (stats,) = await services.reports.stats()
    assert stats.contents == ItemCounts(tasks=4, gold=1, quiz=1,
                                        by_language={"en": 3, "ko": 1, "zh": 1, "": 1})
    assert stats.left_by_language == {"en": 1, "ko": 1, "": 1}  # item 1 is done
    assert (stats.items, stats.done) == (4, 1)


def test_cli_stats_show_items_left_per_language(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')
    project = tmp_path / "p.toml"
    project.write_text('name = "reviews"\nkind = "sentiment"\ntitle = "R"\n'
                       'currency = "USD"\n')
    items = tmp_path / "items.csv"
    items.write_text("id,text,lang\n1,Great,\n2,좋아요,\n3,很好,\n4,Fine,\n5,!!!,\n"
                     "6,Bonjour,fr\n", encoding="utf-8")
    assert main(["project", "-c", str(config), str(project)]) == 0
    assert main(["import", "-c", str(config), "--project", "reviews", str(items)]) == 0
    out = capsys.readouterr().out
    assert "6 items: 6 tasks" in out
    assert "By language: en 2, fr 1, ko 1, zh 1, none 1 (4 detected from the text)" in out
    assert main(["stats", "-c", str(config)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].rstrip().endswith("  left by language")
    assert table[1].rstrip().endswith("  en 2, fr 1, ko 1, zh 1, none 1")
    assert main(["stats", "-c", str(config), "--json"]) == 0
    (stats,) = json.loads(capsys.readouterr().out)
    assert stats["left_by_language"] == {"en": 2, "fr": 1, "ko": 1, "zh": 1, "": 1}
    assert stats["contents"] == {"tasks": 6, "gold": 0, "quiz": 0,
                                 "by_language": {"en": 2, "fr": 1, "ko": 1, "zh": 1, "": 1}}


# --------------------------------------------------------------------------- in chat


async def test_operator_in_korean_reads_the_report_and_projects_in_the_same_words(
        bot: Running) -> None:
    op = bot.server.phone(OPERATOR_ID, "Op", language_code="ko")
    await bot.services.catalog.save(parse_project(sentiment_doc()))
    data = jsonl({"id": "1", "text": "Great coffee"}, {"id": "2", "text": "배송이 빨라요"},
                 {"id": "3", "text": "很好用", "gold": "positive"})
    await op.send_document(data, "items.jsonl", caption="/import reviews")
    report = op.text(await op.wait_text("파일을 가져왔어요", timeout=10)) or ""
    counts = "항목 3개: 작업 2개, 확인 문제 1개"
    assert counts in report
    # most first, then by code; named in the reader's language
    assert "언어별: 영어 1, 한국어 1, 중국어 1 (텍스트에서 언어를 알아낸 항목 3개)" in report
    await op.send("/projects")
    listing = op.text(await op.wait_text("작업 2개 중 0개 완료")) or ""
    assert listing.splitlines()[:3] == ["reviews · 열림", counts,
                                        "언어별: 영어 1, 한국어 1, 중국어 1"]
