"""CSV exports a spreadsheet opens as data (bot/domain/csvsafe.py): cells that could run as
formulas are quoted, numbers are not, and ``tapwork aggregate`` reads an export back
exactly."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import main
from bot.config import load_config
from bot.domain import csvsafe
from bot.domain.projects import parse_project
from bot.wiring import Services
from storage import items as item_store
from tests.conftest import add_worker, sentiment_doc

#: what a worker or operator might type that a spreadsheet would run
FORMULAS = ["=HYPERLINK(\"http://evil\",\"pay\")", "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(A1:A9)", "\tpadded", "\rreturn", "'=already quoted"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_that_could_run_starts_with_a_quote(text: str) -> None:
    assert csvsafe.protect(text) == "'" + text
    assert csvsafe.unprotect(csvsafe.protect(text)) == text


@pytest.mark.parametrize("value", ["-1", "+3", "-0.5", "1e-5", "-.5", "plain", "", "'",
                                   "'-1", 12, -3, 1.5, None])
def test_numbers_and_plain_text_are_left_as_they_are(value: object) -> None:
    assert csvsafe.protect(value) == value


@given(st.text())
def test_quoting_reads_back_exactly_and_leaves_nothing_to_run(text: str) -> None:
    written = csvsafe.protect(text)
    assert csvsafe.unprotect(written) == text
    assert written[:1] not in csvsafe.TRIGGERS or csvsafe._NUMBER.fullmatch(written)


def _config(tmp_path: Path) -> Path:
    file = tmp_path / "config.toml"
    file.write_text('[storage]\npath = "tapwork.db"\n[payouts]\nmin_payout = { USD = "0.01" }\n')
    return file


async def _answered(config: Path, kind: str, ids: list[str], answers: list[str],
                    labels: list[str] | None = None) -> None:
    """Worker 1 answers one item per id with the matching answer (a label's position for
    a classification, typed text for a transcription)."""
    services = await Services.open(load_config(config))
    try:
        doc = sentiment_doc(kind=kind, overlap=1, gold_rate=0.0)
        if labels is not None:
            doc["labels"] = labels
        project, _ = await services.catalog.save(parse_project(doc))
        async with services.db.transaction() as conn:
            await item_store.insert_many(conn, project.id, [
                item_store.NewItem(ext_id, "text", None, None, False, None, None)
                for ext_id in ids], "2026-01-01T00:00:00.000000Z")
        await add_worker(services, 1)
        task = (await services.work.start(1, "reviews")).task
        while task is not None:
            answer = answers[ids.index(await _ext_id(services, task.item_id))]
            if labels is None:
                result = await services.work.answer_text(1, answer, None, task.assignment_id)
            else:
                result = await services.work.answer_choice(1, task.assignment_id,
                                                           labels.index(answer))
            task = result.served.task if result.served else None
    finally:
        await services.close()


async def _ext_id(services: Services, item_id: int) -> str:
    async with services.db.read() as conn:
        item = await item_store.get(conn, item_id)
    assert item is not None
    return item.ext_id


def test_an_export_quotes_typed_text_and_reads_back_through_aggregate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    ids = [f"id{n}" if n % 2 else f"=id{n}" for n in range(len(FORMULAS))]
    asyncio.run(_answered(config, "transcription", ids, FORMULAS))
    out = tmp_path / "answers.csv"
    assert main(["export", "-c", str(config), "--project", "reviews", "--format", "csv",
                 "-o", str(out)]) == 0
    rows = list(csv.reader(out.open(newline="")))[1:]
    by_item = {row[0]: row[2] for row in rows}
    for ext_id, typed in zip(ids, FORMULAS, strict=True):
        stored = " ".join(typed.split())  # as the bot keeps a typed answer
        shown = f"'{ext_id}" if ext_id.startswith("=") else ext_id
        assert by_item[shown] == ("'" + stored if stored[0] in "=+-@'" else stored)
    for row in rows:
        assert not any(cell[:1] in csvsafe.TRIGGERS for cell in row)

    capsys.readouterr()
    assert main(["aggregate", str(out), "--method", "rover"]) == 0
    labels = {csvsafe.unprotect(item): csvsafe.unprotect(label) for item, label, _c in
              list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]}
    assert set(labels) == set(ids)  # the item ids come back as they were


def test_numeric_labels_stay_numbers_and_aggregate_to_themselves(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    labels = ["-1", "+1", "=0", "0"]
    ids = ["a", "b", "c", "d"]
    asyncio.run(_answered(config, "classification", ids, labels, labels))
    out = tmp_path / "answers.csv"
    assert main(["export", "-c", str(config), "--project", "reviews", "--format", "csv",
                 "-o", str(out)]) == 0
    rows = {row[0]: row[2] for row in list(csv.reader(out.open(newline="")))[1:]}
    assert rows == {"a": "-1", "b": "+1", "c": "'=0", "d": "0"}
    capsys.readouterr()
    assert main(["aggregate", str(out), "--method", "mv"]) == 0
    written = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    assert {item: label for item, label, _c in written} == rows  # quoted the same way
    assert {item: csvsafe.unprotect(label) for item, label, _c in written} == dict(
        zip(ids, labels, strict=True))


def test_the_payout_csv_quotes_an_operator_reason(tmp_path: Path) -> None:
    config = _config(tmp_path)

    async def requested() -> int:
        services = await Services.open(load_config(config))
        try:
            await add_worker(services, 1)
            await services.payroll.bonus(1, 50_000, "USD", "thanks", "b1")
            [made] = await services.payroll.request_payout(1, "tap-1")
            assert made.payout is not None
            return made.payout.id
        finally:
            await services.close()

    payout = asyncio.run(requested())
    assert main(["payouts", "-c", str(config), "reject", str(payout), "--reason",
                 FORMULAS[0]]) == 0
    out = tmp_path / "payouts.csv"
    assert main(["payouts", "-c", str(config), "export", "--status", "all",
                 "-o", str(out)]) == 0
    [row] = list(csv.DictReader(out.open(newline="")))
    assert row["status"] == "rejected" and row["reason"] == "'" + FORMULAS[0]
    assert row["amount"] == "0.050000" and row["decided_at"]
