"""Exports of ``boxes`` and ``points`` projects: JSONL with the merged drawing per image,
and COCO JSON (object detection for boxes, keypoints for points).

Apart from ``bot/services/reports.py`` because a drawing is written as JSON, not as a
label, and needs each picture's size; it runs on the same report thread, over the same
pages of answers (``Reports._pages``), so it has the same guarantees: one read per page,
memory bounded by the page. Each image stands alone (``bot.aggregation.shapes``), so
nothing is fitted first. COCO wants the images and the annotations as two lists: images
are written as their pages are read, annotations wait in a temporary file and follow.

COCO coordinates are pixels of the picture as tapwork keeps it (at most 1280 px on its
long side, the size ``images[].width``/``height`` give); the stored answers are
normalised (0 to 1), so they scale to the original file as well. Every annotation is a
merged shape with its ``score`` (the confidence) and the workers' agreement beside it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from bot.aggregation.geometry import Box, Point
from bot.aggregation.shapes import ShapeResult
from bot.domain import shapes
from bot.domain.projects import Project
from bot.domain.shapes import Geometry
from storage import reports as report_store
from storage.connection import SideConnection
from storage.reports import AnswerRow, Picture, by_item

#: what an export's ``method`` names for merged drawings
METHOD = "median"
_json = json.JSONEncoder(ensure_ascii=False).encode


def _answers(rows: Sequence[AnswerRow]) -> list[AnswerRow]:
    return sorted((r for r in rows if r.worker_id is not None),
                  key=lambda r: r.assignment_id or 0)


def _aspect(picture: Picture | None) -> float:
    return picture.width / picture.height if picture and picture.height else 1.0


def _merged(geometry: Geometry, rows: Sequence[AnswerRow], picture: Picture | None
            ) -> ShapeResult[Box] | ShapeResult[Point] | None:
    answered = _answers(rows)
    if not answered:
        return None
    return shapes.merge(geometry, [(str(r.worker_id), r.answer or "[]") for r in answered],
                        _aspect(picture))


def _loaded(value: str | None) -> Any:
    try:
        return json.loads(value or "[]")
    except ValueError:
        return value


def _shape_json(result: ShapeResult[Box] | ShapeResult[Point]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in result.shapes:
        s = m.shape
        where: dict[str, Any] = ({"label": s.label, "box": [round(v, 4) for v in (
            s.x0, s.y0, s.x1, s.y1)]} if isinstance(s, Box)
            else {"point": [round(s.x, 4), round(s.y, 4)]})
        out.append({**where, "confidence": round(m.confidence, 4),
                    "share": round(m.share, 4), "agreement": round(m.agreement, 4)})
    return out


def write_jsonl(project: Project, pages: Iterable[list[AnswerRow]],
                pictures: Callable[[list[AnswerRow]], dict[int, Picture]], out: TextIO,
                page_done: Callable[[int], None]) -> int:
    """One object per image: ``{"id", "label", "confidence", "method", "shapes",
    "answers"}``; ``label`` is the merged drawing as a worker's answer is written (a JSON
    list), ``shapes`` the same shapes with their confidence, share and agreement, and
    each answer's ``value`` the worker's drawing (a JSON list)."""
    geometry = project.spec.geometry
    written = 0
    for page in pages:
        sizes = pictures(page)
        for rows in by_item(page):
            result = _merged(geometry, rows, sizes.get(rows[0].item_pk))
            record: dict[str, Any] = {"id": rows[0].ext_id}
            if result is None:
                record.update(label=None, confidence=None, method=None, shapes=[])
            else:
                record.update(label=json.loads(shapes.merged_value(geometry, result)),
                              confidence=round(result.confidence, 4), method=METHOD,
                              shapes=_shape_json(result))
            record["answers"] = [{"worker": r.worker_id, "value": _loaded(r.answer),
                                  "answered_at": r.answered_at,
                                  "seconds": None if r.seconds is None
                                  else round(r.seconds, 3)} for r in _answers(rows)]
            out.write(_json(record) + "\n")
            written += 1
        page_done(written)
    return written


def _categories(project: Project) -> list[dict[str, Any]]:
    spec = project.spec
    if spec.kind == "boxes":
        return [{"id": i, "name": value, "supercategory": spec.name}
                for i, value in enumerate(spec.label_values, start=1)]
    return [{"id": 1, "name": spec.name, "supercategory": spec.name,
             "keypoints": [f"p{i}" for i in range(1, spec.max_points + 1)],
             "skeleton": []}]


def _annotations(project: Project, image_id: int, picture: Picture,
                 result: ShapeResult[Box] | ShapeResult[Point]) -> list[dict[str, Any]]:
    """The merged shapes of one image as COCO annotations (ids are filled in later)."""
    w, h = picture.width, picture.height
    category = {value: i for i, value in enumerate(project.spec.label_values, start=1)}
    found: list[dict[str, Any]] = []
    boxes = [m for m in result.shapes if isinstance(m.shape, Box)]
    for m in boxes:
        b = m.shape
        assert isinstance(b, Box)
        bbox = [round(b.x0 * w, 2), round(b.y0 * h, 2), round((b.x1 - b.x0) * w, 2),
                round((b.y1 - b.y0) * h, 2)]
        found.append({"image_id": image_id, "category_id": category[b.label], "bbox": bbox,
                      "area": round(bbox[2] * bbox[3], 2), "iscrowd": 0,
                      "score": round(m.confidence, 4),
                      "tapwork": {"share": round(m.share, 4),
                                  "agreement": round(m.agreement, 4)}})
    points = [m for m in result.shapes if isinstance(m.shape, Point)]
    if points:
        xs = [m.shape.x * w for m in points]
        ys = [m.shape.y * h for m in points]
        keypoints: list[float] = []
        for x, y in zip(xs, ys, strict=True):
            keypoints += [round(x, 2), round(y, 2), 2]
        bbox = [round(min(xs), 2), round(min(ys), 2), round(max(xs) - min(xs), 2),
                round(max(ys) - min(ys), 2)]
        found.append({"image_id": image_id, "category_id": 1, "keypoints": keypoints,
                      "num_keypoints": len(points), "bbox": bbox,
                      "area": round(bbox[2] * bbox[3], 2), "iscrowd": 0,
                      "score": round(result.confidence, 4),
                      "tapwork": {"confidence": [round(m.confidence, 4) for m in points]}})
    return found


def write_coco(project: Project, pages: Iterable[list[AnswerRow]],
               pictures: Callable[[list[AnswerRow]], dict[int, Picture]], out: TextIO,
               page_done: Callable[[int], None], now: str) -> int:
    """COCO JSON of the merged drawings; returns the images written. An image nobody
    has answered yet is listed with no annotations."""
    geometry = project.spec.geometry
    info = {"description": f"tapwork export of project {project.spec.name}",
            "date_created": now, "version": "1.0"}
    out.write('{"info": ' + _json(info) + ', "licenses": [], "categories": '
              + _json(_categories(project)) + ', "images": [')
    written = annotations = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
        for page in pages:
            sizes = pictures(page)
            for rows in by_item(page):
                picture = sizes.get(rows[0].item_pk)
                if picture is None:
                    continue
                image_id = rows[0].item_pk
                out.write(("," if written else "") + _json(
                    {"id": image_id, "file_name": picture.filename, "width": picture.width,
                     "height": picture.height, "tapwork_id": rows[0].ext_id}))
                written += 1
                result = _merged(geometry, rows, picture)
                for annotation in (_annotations(project, image_id, picture, result)
                                   if result else []):
                    annotations += 1
                    spill.write(("," if annotations > 1 else "")
                                + _json({"id": annotations, **annotation}))
            page_done(written)
        out.write('], "annotations": [')
        spill.seek(0)
        while chunk := spill.read(1 << 16):
            out.write(chunk)
    out.write("]}\n")
    return written


def pictures_of(conn: SideConnection, project_id: int
                ) -> Callable[[list[AnswerRow]], dict[int, Picture]]:
    """The sizes and file names of a page's pictures, read by the page's id range."""
    def read(page: list[AnswerRow]) -> dict[int, Picture]:
        if not page:
            return {}
        return report_store.pictures(conn, project_id, page[0].item_pk, page[-1].item_pk)
    return read
