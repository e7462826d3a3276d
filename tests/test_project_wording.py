"""A bad project file's reasons in the operator's language: every ``ProjectError`` (and the
rule inside it that refused a value) is kept as a message id and its parameters, so the
command line prints the English it always printed and a Korean or Chinese operator reads
their own language in chat, with only the file's own keys and values left as written.

Every reason is covered: the message ids are read from the source, and each must be met
by one of the bad files below, so a reason added later without a translation (or without
``N_``, which keeps it out of the catalogs) fails here.
"""

from __future__ import annotations

import ast
import datetime
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.domain.errors import ProjectError
from bot.domain.project_keys import KEYS, TOP_KEYS
from bot.domain.project_spec import KINDS, LANGUAGES
from bot.domain.projects import load_project_file, parse_project
from bot.i18n import catalog, gettext_for
from bot.wiring import Services
from tests.conftest import OPERATOR_ID, ROOT, Running, sentiment_doc
from tests.test_ledger import gold_project, work, worker_in
from tests.test_wording import ALLOWED_ASCII, _ascii_words

#: where a project's reasons are written: the rules, the keys, the parser, the catalog
SOURCES = ("bot/domain/limits.py", "bot/domain/project_keys.py", "bot/domain/projects.py",
           "bot/services/catalog.py")
#: a valid classification project; each case below changes it
BASE: dict[str, Any] = {"name": "p", "kind": "classification", "title": "T",
                        "currency": "USD", "labels": ["a", "b"]}
#: None removes the key
CASES: dict[str, dict[str, Any]] = {
    "unknown key": {"labls": ["a"]},
    "missing key": {"currency": None},
    "bad name": {"name": "a b"},
    "bad kind": {"kind": "photos"},
    "long kind": {"kind": "x" * 30},
    "title too long": {"title": "x" * 130},
    "title in French": {"title": {"fr": "x"}},
    "title a number": {"title": 5},
    "title empty in Korean": {"title": {"ko": " "}},
    "title a list": {"title": ["x"]},
    "title an empty table": {"title": {}},
    "instructions a date": {"instructions": datetime.date(2026, 1, 1)},
    "reward unquoted": {"reward": 0.02},
    "reward negative": {"reward": "-1"},
    "reward 7 decimals": {"reward": "0.0000001"},
    "reward no number": {"reward": "abc"},
    "reward too much": {"reward": "2000000"},
    "overlap 0": {"overlap": 0},
    "overlap huge": {"overlap": 10**30},
    "lease minutes": {"lease_minutes": 0},
    "min seconds": {"min_seconds": -1},
    "approve hours": {"auto_approve_hours": 0},
    "gold rate": {"gold_rate": 2},
    "discount": {"discount": "0.3333333"},
    "feedback": {"feedback": "yes"},
    "language a number": {"language": 5},
    "language a word": {"language": "english words"},
    "language a country": {"language": "cn"},
    "labels text": {"labels": "a"},
    "one label": {"labels": ["a"]},
    "min overlap": {"overlap": 3, "min_overlap": 5},
    "max overlap": {"overlap": 3, "max_overlap": 2},
    "max points": {"kind": "points", "labels": None, "min_points": 5, "max_points": 2},
    "transcription labels": {"kind": "transcription"},
    "points labels": {"kind": "points"},
    "boxes without labels": {"kind": "boxes", "labels": None},
    "classification without labels": {"labels": None},
    "label stray key": {"labels": [{"value": "a", "colour": "red"}, "b"]},
    "label a number": {"labels": [5, "b"]},
    "label without value": {"labels": [{"names": "A"}, "b"]},
    "label twice": {"labels": ["a", "a"]},
    "label name language": {"labels": [{"value": "a", "names": {"fr": "x"}}, "b"]},
    "quiz not a table": {"quiz": 5},
    "quiz stray key": {"quiz": {"questoins": 5}},
    "iou in a classification": {"iou": 0.5},
}


def _document(changes: dict[str, Any]) -> dict[str, Any]:
    doc = {**BASE, **changes}
    return {key: value for key, value in doc.items() if value is not None}


def _refused(changes: dict[str, Any]) -> ProjectError:
    with pytest.raises(ProjectError) as raised:
        parse_project(_document(changes))
    return raised.value


class _Recording:
    """A ``_`` that notes every message id it is asked for."""

    def __init__(self, inner: Callable[..., str]) -> None:
        self.inner = inner
        self.seen: set[str] = set()

    def __call__(self, message: str, **params: object) -> str:
        self.seen.add(message)
        return self.inner(message, **params)


#: written in quotes ('label', "0.02", ‘…’, “…”): a file's key or value as typed
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|‘[^’]*’|“[^”]*”")


def _names(changes: dict[str, Any]) -> set[str]:
    """Words a person types, left as they are: the keys a project takes (named unquoted in
    "it takes attempts, pass, …"), its kinds, the languages, currency codes and their
    standard, and the file's own values."""
    typed = " ".join([*KEYS, *TOP_KEYS, *KINDS, *LANGUAGES, "true false ISO CNY KRW USD",
                      *(str(v) for v in _document(changes).values())])
    return set(re.findall(r"[A-Za-z]+", typed)) | ALLOWED_ASCII


def _english(text: str, changes: dict[str, Any], path: str = "") -> list[str]:
    bare = _QUOTED.sub(" ", text.replace(path, " ") if path else text)
    allowed = _names(changes)
    return [word for word in _ascii_words(bare) if word not in allowed]


def _translated(seen: set[str], language: str) -> set[str]:
    """Message ids met that the language's catalog lacks."""
    return {message for message in seen if message not in catalog(language)}


@pytest.mark.parametrize("language", ["ko", "zh"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_reason_reads_in_the_readers_language(case: str, language: str) -> None:
    refused = _refused(CASES[case])
    reader = _Recording(gettext_for(language))
    text = refused.render(reader)
    assert _translated(reader.seen, language) == set()
    assert _english(text, CASES[case]) == [], text
    assert text != str(refused)


def test_the_english_is_the_command_lines() -> None:
    """``str()`` (what the command line prints) and the English rendering are one text,
    and read as they did before the reasons became translatable."""
    for changes in CASES.values():
        refused = _refused(changes)
        assert refused.render(gettext_for("en")) == refused.render() == str(refused)
    assert str(_refused({"lease_minutes": 0})) == (
        "lease_minutes must be a whole number of minutes from 1 to 1440, not 0")
    assert str(_refused({"title": {"ko": " "}})) == (
        "title.ko must be text of 1 to 120 characters, not ' '")
    assert str(_refused({"overlap": 3, "min_overlap": 5})) == (
        "min_overlap must be a whole number from 1 to 3 (at most overlap, 3), not 5")
    assert str(_refused({"reward": 0.02})) == (
        'reward must be a decimal string from "0" to "1000000" with at most 6 decimals, '
        "not 0.02 (write it in quotes, so it converts exactly)")
    assert str(_refused({"currency": None})) == (
        "currency is missing: it must be an ISO 4217 code such as CNY, KRW or USD")
    assert str(_refused({"overlap": 10**30})) == (
        "overlap must be a whole number from 1 to 50, not a number of 31 digits")


#: texts that are not TOML, one per reason the TOML reader gives
NOT_TOML = {
    "value": "name = \n", "statement": "=\n", "array": "a = [1 2]\n",
    "inline table": "a = {b = 1\n", "string": 'a = "abc', "overwrite": "a = 1\na = 2\n",
    "no equals": "name\n", "table header": "[quiz\n", "array header": "[[a\n",
    "no newline": "a = 1 b\n", "key start": "a. = 1\n", "date": "a = 2020-02-30\n",
    "hex": 'a = "\\uZZZZ"\n', "surrogate": 'a = "\\uD800"\n', "escape": 'a = "\\q"\n',
    "illegal": 'name = "p\n', "invalid": "a = 'x\x01'\n", "declared twice": "[a]\n[a]\n",
    "immutable": "a = {b = 1}\na.c = 2\n", "redefined": "[a.b]\n[a]\nb.c = 1\n",
    "duplicate": "a = {b = 1, b = 2}\n", "expected": "a = '''x", "at the end": "a = [1,\n",
}


def _file_cases(tmp_path: Path) -> dict[str, Path]:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "p"\nkind = "classification"\ntitle = "T"\ncurrency = "USD"\n'
                   'labels = ["a", "b"]\nfeedback = "yes"\n')
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    cases = {"bad value": bad, "a folder": folder, "missing": tmp_path / "missing.toml"}
    for case, text in NOT_TOML.items():
        cases[f"not TOML: {case}"] = path = tmp_path / f"{case.replace(' ', '-')}.toml"
        path.write_text(text)
    return cases


def _file_refusal(path: Path) -> ProjectError:
    with pytest.raises(ProjectError) as raised:
        load_project_file(path)
    return raised.value


@pytest.mark.parametrize("language", ["ko", "zh"])
def test_a_bad_project_file_reads_in_the_readers_language(tmp_path: Path,
                                                          language: str) -> None:
    """Not found, unreadable, not TOML (each of the TOML reader's reasons), a bad value.
    Only the system's own reason for a file it cannot read stays as the system gave it
    (in English), so that case checks the sentence around it."""
    for case, path in _file_cases(tmp_path).items():
        refused = _file_refusal(path)
        reader = _Recording(gettext_for(language))
        text = refused.render(reader)
        assert _translated(reader.seen, language) == set(), case
        frame = text.replace(str(refused.params.get("why")), " ") \
            if case == "a folder" else text
        assert _english(frame, {"feedback": "yes"}, str(path)) == [], (case, text)
        assert str(path) in text and text != str(refused), case


def test_the_toml_readers_reasons_read_as_it_gave_them_in_english(tmp_path: Path) -> None:
    for path in _file_cases(tmp_path).values():
        refused = _file_refusal(path)
        if path.suffix == ".toml" and path.name not in ("bad.toml", "missing.toml") \
                and path.is_file():
            with pytest.raises(tomllib.TOMLDecodeError) as raised:
                tomllib.loads(path.read_text())
            assert str(refused) == f"{path} is not valid TOML: {raised.value}"
            assert refused.render(gettext_for("en")) == str(refused)


async def _catalog_refusals(services: Services, clock: FakeClock) -> list[ProjectError]:
    """What only the database can say: a kind or a currency that can no longer change."""
    refused = []
    await gold_project(services, settle_unit=2)
    await worker_in(services, 1)
    await work(services, clock, 1, [True, True])
    for changes in ({"kind": "classification", "labels": ["a", "b"]}, {"currency": "CNY"}):
        with pytest.raises(ProjectError) as raised:
            await services.catalog.save(parse_project(sentiment_doc(settle_unit=2,
                                                                    **changes)))
        refused.append(raised.value)
    return refused


async def test_what_the_database_refuses_reads_in_the_readers_language(
        services: Services, clock: FakeClock) -> None:
    refusals = await _catalog_refusals(services, clock)
    assert [str(r) for r in refusals] == [
        "project reviews already has items of kind sentiment; its kind cannot change",
        "project reviews already paid in USD; its currency cannot change (make a new "
        "project)"]
    for language in ("ko", "zh"):
        for refused in refusals:
            reader = _Recording(gettext_for(language))
            text = refused.render(reader)
            assert _translated(reader.seen, language) == set()
            assert _english(text, {"name": "reviews"}) == [], text


def _message_ids(path: str) -> set[str]:
    """Every ``N_("…")`` in a source file."""
    tree = ast.parse((ROOT / path).read_text())
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "N_" and node.args and isinstance(node.args[0], ast.Constant)}


def _bare_raises(path: str, source: str | None = None) -> list[str]:
    """``ProjectError(…)`` or ``Invalid(…)`` whose words are not a marked message id (nor
    an error's own, passed on)."""
    tree = ast.parse(source if source is not None else (ROOT / path).read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("ProjectError", "Invalid") and node.args:
            first = node.args[0]
            marked = isinstance(first, ast.Call) and isinstance(first.func, ast.Name) \
                and first.func.id == "N_"
            passed_on = isinstance(first, ast.Attribute) and first.attr == "message"
            if not (marked or passed_on):
                found.append(f"{path}:{node.lineno}")
    return found


def test_every_reason_is_a_marked_message_id() -> None:
    """A reason written as plain text would never reach the catalogs: refused here. And
    every module that raises one is among ``SOURCES``, whose reasons need a case above."""
    assert [where for path in SOURCES for where in _bare_raises(path)] == []
    raising = {str(path.relative_to(ROOT)) for package in ("bot", "handlers")
               for path in (ROOT / package).rglob("*.py")
               if re.search(r"(?<!class )\b(ProjectError|Invalid)\(", path.read_text())}
    assert raising - set(SOURCES) == set()
    # the check itself can fail: plain words raised are found, marked ones are not
    assert _bare_raises("probe.py", 'raise ProjectError("plain words")\n'
                        'raise Invalid(N_("marked words"))\n') == ["probe.py:1"]


async def test_every_reason_in_the_source_has_a_case(services: Services, clock: FakeClock,
                                                     tmp_path: Path) -> None:
    """Each message id of the project's reasons is met by a bad file above; a reason added
    later needs a case here, and so a translation."""
    reader = _Recording(gettext_for("ko"))
    for changes in CASES.values():
        _refused(changes).render(reader)
    for path in _file_cases(tmp_path).values():
        _file_refusal(path).render(reader)
    for refused in await _catalog_refusals(services, clock):
        refused.render(reader)
    wanted = set().union(*(_message_ids(path) for path in SOURCES))
    assert wanted - reader.seen == set()


@pytest.mark.parametrize("language", ["ko", "zh"])
async def test_a_bad_project_file_in_chat_is_refused_in_the_operators_language(
        bot: Running, language: str) -> None:
    """The whole reply, the sentence around the reason included, as the operator reads."""
    op = bot.server.phone(OPERATOR_ID, "Op", language_code=language)
    await op.send_document(b'name = "reviews"\nkind = "sentiment"\ntitle = "Reviews"\n'
                           b'currency = "USD"\nfeedback = "yes"\n', "reviews.toml")
    message = await op.wait_for(lambda p: next((m for m in p.messages if "feedback"
                                                in (p.text(m) or "")), None))
    text = op.text(message) or ""
    assert "'feedback'" in text and "'yes'" in text
    assert _english(text, {"feedback": "yes"}) == [], text
    # a file that is not TOML at all: the TOML reader's reason, in the operator's words
    shown = len(op.messages)
    await op.send_document(b'name = "reviews"\nkind =\n', "reviews.toml")
    message = await op.wait_for(lambda p: p.messages[shown] if len(p.messages) > shown
                                else None)
    text = op.text(message) or ""
    assert "TOML" in text and "2" in text, text  # the line it is on
    assert _english(text, {}) == [], text
