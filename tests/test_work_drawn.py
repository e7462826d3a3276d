"""Drawn answers through the work service: recorded once like a tap, checked against
gold, paid, merged in the export (JSONL and COCO), and refused with a reason."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.domain.errors import TapworkError
from bot.domain.shapes import read_drawing
from bot.intake.importer import format_report
from bot.services.work import Outcome
from bot.wiring import Services
from tests.conftest import FixedRandom, add_worker
from tests.drawn import PERSON, add_drawn_project, box, boxes_doc, picture, points_doc
from tests.state import answered, gold_standing, items, ledger_entries


def _person(dx: float = 0.0) -> list[dict[str, object]]:
    x0, y0, x1, y1 = PERSON
    return [box("person", x0 + dx, y0, x1 + dx, y1)]


async def test_a_drawing_counts_once_and_earns_like_a_tap(services: Services,
                                                          tmp_path: Path) -> None:
    await add_drawn_project(services, tmp_path, boxes_doc(), items=2)
    await add_worker(services, 1)
    served = await services.work.start(1, "people")
    assert served.task is not None and served.task.media is not None
    drawing = read_drawing("boxes", _person())
    first = await services.work.answer_drawing(1, served.task.assignment_id, drawing)
    assert first.outcome is Outcome.ACCEPTED
    again = await services.work.answer_drawing(1, served.task.assignment_id, drawing)
    assert again.outcome is Outcome.ALREADY_ANSWERED
    rows = answered(services.db)
    assert len(rows) == 1
    assert json.loads(rows[0].answer) == [box("person", *PERSON)]
    earnings = [e for e in ledger_entries(services.db) if e.kind == "earning"]
    assert len(earnings) == 1 and earnings[0].amount == 50_000
    # the next task was leased in the same transaction
    assert first.served is not None and first.served.task is not None


async def test_a_drawing_the_project_refuses_changes_nothing(services: Services,
                                                             tmp_path: Path) -> None:
    await add_drawn_project(services, tmp_path, boxes_doc(), items=1)
    await add_worker(services, 1)
    served = await services.work.start(1, "people")
    assert served.task is not None
    wrong = read_drawing("boxes", [box("dog", 0.1, 0.1, 0.5, 0.5)])
    result = await services.work.answer_drawing(1, served.task.assignment_id, wrong)
    assert result.outcome is Outcome.INVALID
    assert result.problem is not None and "label" in str(result.problem)
    assert answered(services.db) == []
    # a tap or a typed text is no answer to a drawn task either
    tap = await services.work.answer_choice(1, served.task.assignment_id, 0)
    typed = await services.work.answer_text(1, "a person", message_id=5)
    assert tap.outcome is typed.outcome is Outcome.INVALID
    assert answered(services.db) == []
    # someone else's task is forged, and stays open for its worker
    await add_worker(services, 2)
    forged = await services.work.answer_drawing(2, served.task.assignment_id,
                                                read_drawing("boxes", _person()))
    assert forged.outcome is Outcome.FORGED
    assert answered(services.db) == []


async def test_gold_drawings_are_judged_by_iou(tmp_path: Path, clock: FakeClock) -> None:
    from bot.config import Config, StorageConfig
    config = Config(storage=StorageConfig(path=str(tmp_path / "t.db")))
    services = await Services.open(config, clock)
    try:
        services.work.rng = FixedRandom(0.0)  # a gold check whenever there is one
        await add_drawn_project(services, tmp_path, boxes_doc(gold_rate=0.5), items=3,
                                gold={0: _person(), 1: _person()})
        await add_worker(services, 1)
        served = await services.work.start(1, "people")
        results = []
        for dx in (0.01, 0.15):  # IoU about 0.95, then about 0.45
            assert served.task is not None
            result = await services.work.answer_drawing(
                1, served.task.assignment_id, read_drawing("boxes", _person(dx)))
            assert result.outcome is Outcome.ACCEPTED and result.feedback is not None
            results.append(result.feedback.correct)
            assert result.served is not None
            served = result.served
        assert results == [True, False]
        assert list(gold_standing(services.db).values()) == [(2, 1)]
    finally:
        await services.close()


async def test_points_gold_uses_the_pictures_own_shape(services: Services,
                                                       tmp_path: Path) -> None:
    services.work.rng = FixedRandom(0.0)
    # a picture three times as wide as high: 0.04 across is 0.038 of the diagonal
    # (0.95 x 0.04), 0.04 down only 0.013
    doc = points_doc(point_tolerance=0.03, gold_rate=0.5)
    await add_drawn_project(services, tmp_path, doc, items=3,
                            gold={0: [[0.2, 0.5], [0.8, 0.5]], 1: [[0.2, 0.5], [0.8, 0.5]]},
                            size=(900, 300))
    await add_worker(services, 1)
    served = await services.work.start(1, "shoes")
    verdicts = []
    for moved in ([[0.2, 0.54], [0.8, 0.5]], [[0.24, 0.5], [0.8, 0.5]]):
        assert served.task is not None
        result = await services.work.answer_drawing(1, served.task.assignment_id,
                                                    read_drawing("points", moved))
        assert result.feedback is not None and result.served is not None
        verdicts.append(result.feedback.correct)
        served = result.served
    assert verdicts == [True, False]


async def _three_workers_answer(services: Services) -> None:
    for worker, dx in ((1, 0.0), (2, 0.02), (3, -0.01)):
        await add_worker(services, worker)
        served = await services.work.start(worker, "people")
        while served.task is not None:
            result = await services.work.answer_drawing(
                worker, served.task.assignment_id, read_drawing("boxes", _person(dx)))
            assert result.outcome is Outcome.ACCEPTED and result.served is not None
            served = result.served


async def test_export_merges_drawings_in_jsonl_and_coco(services: Services,
                                                        tmp_path: Path) -> None:
    await add_drawn_project(services, tmp_path, boxes_doc(), items=2)
    await _three_workers_answer(services)
    assert all(item.state == 3 for item in items(services.db))  # done at overlap
    out = io.StringIO()
    assert await services.reports.export("people", out, "jsonl") == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    first = lines[0]
    assert first["method"] == "median" and len(first["answers"]) == 3
    assert first["answers"][0]["value"] == [box("person", *PERSON)]
    (merged,) = first["label"]
    assert merged["label"] == "person"
    assert merged["box"] == pytest.approx(PERSON, abs=1e-4)  # the median of the three
    assert first["shapes"][0]["share"] == 1.0 and first["confidence"] > 0.9
    out = io.StringIO()
    assert await services.reports.export("people", out, "coco") == 2
    coco = json.loads(out.getvalue())
    assert [c["name"] for c in coco["categories"]] == ["person", "bicycle"]
    assert [(i["width"], i["height"], i["file_name"]) for i in coco["images"]] == \
        [(640, 480, "p0.jpg"), (640, 480, "p1.jpg")]
    assert len(coco["annotations"]) == 2
    ann = coco["annotations"][0]
    assert ann["category_id"] == 1 and ann["iscrowd"] == 0 and ann["id"] == 1
    assert ann["bbox"] == pytest.approx([0.2 * 640, 0.25 * 480, 0.4 * 640, 0.65 * 480],
                                        abs=0.1)
    csv_out = io.StringIO()
    assert await services.reports.export("people", csv_out, "csv") == 6


async def test_coco_is_only_for_drawn_projects(services: Services) -> None:
    from tests.conftest import add_project
    await add_project(services)
    with pytest.raises(TapworkError, match="COCO export is for boxes and points"):
        await services.reports.export("reviews", io.StringIO(), "coco")


async def test_points_export_as_coco_keypoints(services: Services, tmp_path: Path) -> None:
    await add_drawn_project(services, tmp_path, points_doc(ordered=True, overlap=2), items=1)
    for worker, dy in ((1, 0.0), (2, 0.01)):
        await add_worker(services, worker)
        served = await services.work.start(worker, "shoes")
        assert served.task is not None
        drawing = read_drawing("points", [[0.5, 0.5 + dy], [0.25, 0.75]])
        result = await services.work.answer_drawing(worker, served.task.assignment_id,
                                                    drawing)
        assert result.outcome is Outcome.ACCEPTED
    out = io.StringIO()
    await services.reports.export("shoes", out, "coco")
    coco = json.loads(out.getvalue())
    assert coco["categories"][0]["keypoints"][:2] == ["p1", "p2"]
    (ann,) = coco["annotations"]
    assert ann["num_keypoints"] == 2
    assert ann["keypoints"] == pytest.approx([320, 242.4, 2, 160, 360, 2], abs=0.01)


async def test_import_checks_gold_drawings_line_by_line(services: Services,
                                                        tmp_path: Path) -> None:
    from bot.domain.projects import parse_project
    await services.catalog.save(parse_project(boxes_doc()))
    (tmp_path / "a.png").write_bytes(picture())
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([
        json.dumps({"id": "1", "image": "a.png", "gold": [box("dog", 0, 0, 0.5, 0.5)]}),
        json.dumps({"id": "2", "image": "a.png", "gold": [box("person", 0, 0, 2, 0.5)]}),
        json.dumps({"id": "3", "text": "no picture"}),
        json.dumps({"id": "4", "image": "a.png", "gold": "[]"}),
    ]) + "\n")
    result = await services.catalog.import_file("people", bad)
    assert not result.ok
    report = format_report(result)
    assert "line 1: gold: a box has a label this task does not have" in report
    assert "line 2: gold: a coordinate must be a number from 0 to 1" in report
    assert "line 3: a boxes project takes images to mark, not text" in report
    assert "line 4" not in report
