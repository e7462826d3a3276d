"""Exports label items in bounded passes, with the labels of the in-memory aggregation.

``bot.aggregation.stream`` never holds a project's answers in memory; these tests hold it
to the results of ``bot.aggregation.aggregate`` over the same answers, with pages and
chunks small enough that every item boundary case (an item alone in a chunk, chunks of
one answer, items without answers) comes up.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import threading
from pathlib import Path

import pytest

from bot.aggregation import Aggregate, aggregate, aggregate_texts
from bot.aggregation import stream as stream_module
from bot.aggregation.stream import ItemVotes, StreamingCategorical, StreamingTexts
from bot.services import reports
from bot.wiring import Services
from tests.conftest import add_project, add_worker
from tests.state import items, make_gold_every

LABELS = ["positive", "neutral", "negative"]
METHODS = ["auto", "mv", "wawa", "ds", "one-coin-ds", "gold-ds", "ibcc", "ibcc-mix"]


def crowd(seed: int) -> list[tuple[str, str | None, list[tuple[str, str]]]]:
    """(item, gold, answers): noisy workers, some items without answers, some gold, now
    and then a label nobody listed (answers recorded before the labels changed)."""
    rng = random.Random(seed)
    workers = [f"w{i}" for i in range(rng.randint(2, 12))]
    gold_share = rng.choice([0.0, 0.05, 0.3])
    items = []
    for i in range(rng.randint(1, 120)):
        truth = rng.choice(LABELS)
        answers = []
        for worker in rng.sample(workers, rng.randint(0, min(5, len(workers)))):
            label = truth if rng.random() < 0.7 else rng.choice(LABELS)
            if rng.random() < 0.02:
                label = rng.choice(["mixed", "10", "2"])
            answers.append((worker, label))
        items.append((f"i{i}", truth if rng.random() < gold_share else None, answers))
    return items


def streamed(method: str, items: list[tuple[str, str | None, list[tuple[str, str]]]],
             page: int, chunk: int) -> dict[str, Aggregate]:
    votes: list[ItemVotes] = [(gold, answers) for _, gold, answers in items]
    labeler = StreamingCategorical(method, LABELS, chunk_answers=chunk)
    try:
        if labeler.needs_fit:
            for start in range(0, len(votes), page):
                labeler.add(votes[start:start + page])
            labeler.fit()
        out = {}
        for start in range(0, len(votes), page + 3):  # other page bounds than the fit's
            for (name, _, _), label in zip(items[start:start + page + 3],
                                           labeler.label(votes[start:start + page + 3]),
                                           strict=True):
                if label is not None:
                    out[name] = label
        return out
    finally:
        labeler.close()


@pytest.mark.parametrize("method", METHODS)
def test_streaming_labels_are_the_in_memory_labels(method: str) -> None:
    compared = 0
    for seed in range(60):
        items = crowd(seed)
        rows = [(name, worker, label) for name, _, answers in items for worker, label in answers]
        gold = {name: g for name, g, answers in items if g is not None and answers}
        try:
            expected = aggregate(rows, method, gold=gold or None, label_order=LABELS)
        except ValueError:  # gold-ds without gold: refused the same way
            with pytest.raises(ValueError):
                streamed(method, items, 7, 5)
            continue
        rng = random.Random(seed)
        got = streamed(method, items, rng.choice([1, 7, 50]), rng.choice([1, 5, 10_000]))
        assert got.keys() == expected.keys()
        for name, want in expected.items():
            assert (got[name].label, got[name].method) == (want.label, want.method), name
            assert got[name].confidence == pytest.approx(want.confidence, abs=1e-9)
            compared += 1
    assert compared > 500


def test_streaming_texts_are_rover_per_item() -> None:
    items: list[ItemVotes] = [
        (None, [("a", "the cat sat"), ("b", "the cat sat"), ("c", "a cat sat")]),
        (None, []),
        (None, [("a", "hello world")]),
    ]
    rows = [(str(n), w, t) for n, (_, answers) in enumerate(items) for w, t in answers]
    expected = aggregate_texts(rows)
    got = StreamingTexts().label(items)
    assert got[1] is None
    assert got[0] == expected["0"] and got[2] == expected["2"]


async def answered_project(services: Services, items: int, aggregation: str,
                           gold_every: int = 0) -> None:
    """A sentiment project whose items three workers answered through the work loop."""
    await add_project(services, items=items, overlap=3, max_overlap=3,
                      aggregation=aggregation)
    if gold_every:  # a few gold checks, answered like any item
        project = await services.catalog.get("reviews")
        make_gold_every(services.db, project.id, gold_every)
    rng = random.Random(7)
    for worker in (1, 2, 3):
        await add_worker(services, worker)
        served = await services.work.start(worker, "reviews")
        while served.task is not None:
            choice = 0 if rng.random() < 0.6 else rng.randrange(3)
            result = await services.work.answer_choice(worker, served.task.assignment_id,
                                                       choice)
            assert result.served is not None
            served = result.served


@pytest.mark.parametrize("aggregation", ["auto", "mv", "wawa", "ds"])
async def test_an_export_in_small_pages_labels_as_aggregation_over_all_answers(
        services: Services, monkeypatch: pytest.MonkeyPatch, aggregation: str) -> None:
    await answered_project(services, 45, aggregation, gold_every=0)
    out = io.StringIO()
    assert await services.reports.export("reviews", out) == 45
    whole = [json.loads(line) for line in out.getvalue().splitlines()]
    monkeypatch.setattr(reports, "EXPORT_PAGE", 4)
    monkeypatch.setattr(stream_module, "CHUNK_ANSWERS", 5)
    out = io.StringIO()
    assert await services.reports.export("reviews", out) == 45
    lines = out.getvalue().splitlines()
    paged = [json.loads(line) for line in lines]
    assert paged == whole
    # written exactly as json.dumps writes the object, keys in this order
    assert list(paged[0]) == ["id", "label", "confidence", "method", "answers"]
    assert lines == [json.dumps(row, ensure_ascii=False) for row in paged]
    rows = [(r["id"], str(a["worker"]), a["value"]) for r in paged
            for a in sorted(r["answers"], key=lambda a: a["answered_at"])]
    expected = aggregate(rows, aggregation, label_order=LABELS)
    for row in paged:
        assert len(row["answers"]) == 3
        want = expected[row["id"]]
        assert (row["label"], row["method"]) == (want.label, want.method)
        assert row["confidence"] == round(want.confidence, 4)
    if aggregation == "auto":
        assert {row["method"] for row in paged} == {"ibcc-mix"}  # auto: the Bayesian model


async def test_gold_anchors_the_exported_labels(services: Services,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reports, "EXPORT_PAGE", 3)
    await answered_project(services, 30, "auto", gold_every=4)
    out = io.StringIO()
    await services.reports.export("reviews", out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    answered = [row for row in rows if row["answers"]]
    assert {row["method"] for row in answered} == {"ibcc-mix"}  # auto, anchored by gold
    project = await services.catalog.get("reviews")
    gold_ids = {i.ext_id for i in items(services.db)
                if i.project_id == project.id and i.gold is not None}
    checked = [row for row in answered if row["id"] in gold_ids]
    assert checked  # gold checks were served and answered
    for row in checked:
        assert (row["label"], row["confidence"]) == ("positive", 1.0)


async def test_the_csv_export_pages_through_every_answer(
        services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    await answered_project(services, 10, "mv")
    await add_project(services, items=4, name="other")  # ids interleave with nothing
    monkeypatch.setattr(reports, "EXPORT_PAGE", 3)
    target = tmp_path / "answers.csv"
    assert await services.reports.export_file("reviews", target, "csv") == 30
    lines = target.read_text().splitlines()
    assert lines[0] == "item,worker,label,answered_at,seconds"
    assert sorted({line.split(",")[0] for line in lines[1:]}) == sorted(
        f"it-{i}" for i in range(10))
    assert not (tmp_path / "answers.csv.partial").exists()


async def test_an_export_given_up_on_stops_between_pages_and_leaves_no_file(
        services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The bot shutting down mid-export: the waiting coroutine is cancelled, the thread
    stops at its next page and removes its partial file."""
    await add_project(services, items=50)
    monkeypatch.setattr(reports, "EXPORT_PAGE", 5)
    loop = asyncio.get_running_loop()
    pages: list[int] = []
    target = tmp_path / "labels.jsonl"
    task = asyncio.create_task(services.reports.export_file("reviews", target))
    given_up = threading.Event()
    task.add_done_callback(lambda _: given_up.set())

    def page_written(rows: int) -> None:  # on the export's thread
        pages.append(rows)
        if len(pages) == 2:
            loop.call_soon_threadsafe(task.cancel)
            assert given_up.wait(timeout=20)

    services.reports.on_page.append(page_written)
    with pytest.raises(asyncio.CancelledError):
        await task
    await services.reports.close()  # waits for the thread
    assert pages == [5, 10]  # it stopped at the next page
    assert [name for name in os.listdir(tmp_path) if name.startswith("labels")] == []
