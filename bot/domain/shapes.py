"""Answers drawn on a picture (``boxes`` and ``points`` projects): reading them once at
the edge, the one canonical text they are stored as, and when one is right.

An answer arrives as JSON from a web page anyone can forge, so :func:`read_drawing`
checks its shape alone (finite coordinates in [0, 1], at most ``MAX_SHAPES`` shapes,
short labels) before anything else looks at it, and :func:`canonical` then checks it
against the project (its labels, ``min_points``/``max_points``) and writes the stored
value: compact JSON, coordinates rounded to ``DIGITS`` decimals (a tenth of a pixel on
the 1280-pixel picture a phone shows), boxes sorted, so two equal answers are equal
texts::

    boxes:  [{"label":"person","box":[0.1,0.2,0.45,0.9]}]     ([] = nothing to mark)
    points: [[0.31,0.5],[0.4,0.52]]    (in the order placed when ``ordered``, else sorted)

A gold answer is written the same way. A drawing is right when it matches the gold one
shape for shape (:func:`~bot.aggregation.geometry.match`): boxes of the same label with
an IoU of at least the project's ``iou``, points within ``point_tolerance`` of the
image's diagonal (in order, for ordered points). Both empty is right too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.aggregation.geometry import Box, Point, distance, iou, match
from bot.aggregation.shapes import BoxMerge, PointMerge, ShapeResult
from bot.domain.errors import TapworkError
from bot.i18n import N_

#: the most boxes or points one answer may hold
MAX_SHAPES = 100
#: decimals kept of a normalised coordinate
DIGITS = 4
#: a box narrower or lower than this share of the picture is a slip of the finger
MIN_SIDE = 0.005
#: a coordinate this far outside [0, 1] is rounding at the edge, and is clamped; further
#: out is refused
SLACK = 0.01
#: the longest label an answer may name (a label's value is at most 100 characters)
MAX_LABEL = 100

Drawing = tuple[Box, ...] | tuple[Point, ...]


class ShapeError(TapworkError):
    """A drawing that cannot be stored; the message is translatable (``N_``)."""


@dataclass(frozen=True)
class Geometry:
    """What a project asks of a drawing (read from its spec by ``ProjectSpec.geometry``)."""

    kind: str
    labels: tuple[str, ...] = ()
    iou: float = 0.7
    tolerance: float = 0.05
    min_points: int = 1
    max_points: int = 20
    ordered: bool = False


def _coordinate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not -SLACK <= value <= 1 + SLACK:
        raise ShapeError(N_("a coordinate must be a number from 0 to 1"))
    return round(min(1.0, max(0.0, float(value))), DIGITS)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ShapeError(N_("the answer must be a list of boxes or points"))
    if len(value) > MAX_SHAPES:
        raise ShapeError(N_("an answer may hold at most {count} shapes"), count=MAX_SHAPES)
    return value


def _box(entry: Any) -> Box:
    if not isinstance(entry, dict) or set(entry) != {"label", "box"}:
        raise ShapeError(N_("each box needs a label and four coordinates"))
    label, coords = entry["label"], entry["box"]
    if not isinstance(label, str) or not 0 < len(label) <= MAX_LABEL:
        raise ShapeError(N_("each box needs a label and four coordinates"))
    if not isinstance(coords, list) or len(coords) != 4:
        raise ShapeError(N_("each box needs a label and four coordinates"))
    x0, y0, x1, y1 = (_coordinate(c) for c in coords)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        raise ShapeError(N_("a box is too small: draw it around the whole object"))
    return Box(label, x0, y0, x1, y1)


def _point(entry: Any) -> Point:
    if not isinstance(entry, list) or len(entry) != 2:
        raise ShapeError(N_("each point needs two coordinates"))
    return Point(_coordinate(entry[0]), _coordinate(entry[1]))


def read_drawing(kind: str | None, payload: Any) -> Drawing:
    """A drawing as sent (parsed JSON), checked for its shape alone; ``ShapeError``
    says what is wrong. ``kind`` is ``boxes`` or ``points``; None: whichever the first
    entry is (a box is an object, a point a list), for the edge, which does not know
    the project yet (the project then refuses the wrong kind)."""
    entries = _list(payload)
    if kind is None:
        kind = "boxes" if entries and isinstance(entries[0], dict) else "points"
    if kind == "boxes":
        return tuple(_box(entry) for entry in entries)
    if kind == "points":
        return tuple(_point(entry) for entry in entries)
    raise ShapeError(N_("this task is not answered by drawing"))


def canonical(geometry: Geometry, drawing: Drawing) -> str:
    """The value stored for a drawing this project accepts, else ``ShapeError``."""
    if geometry.kind == "boxes":
        boxes = [shape for shape in drawing if isinstance(shape, Box)]
        if len(boxes) != len(drawing):
            raise ShapeError(N_("this task is answered with boxes"))
        for box in boxes:
            if box.label not in geometry.labels:
                raise ShapeError(N_("a box has a label this task does not have"))
        return _dump([{"label": b.label, "box": [b.x0, b.y0, b.x1, b.y1]}
                      for b in sorted(boxes, key=_box_key)])
    points = [shape for shape in drawing if isinstance(shape, Point)]
    if len(points) != len(drawing):
        raise ShapeError(N_("this task is answered with points"))
    if points and not geometry.min_points <= len(points) <= geometry.max_points:
        raise ShapeError(N_("place from {low} to {high} points, or tap Nothing to mark"),
                         low=geometry.min_points, high=geometry.max_points)
    if not geometry.ordered:
        points.sort(key=lambda p: (p.x, p.y))
    return _dump([[p.x, p.y] for p in points])


def _box_key(box: Box) -> tuple[str, float, float, float, float]:
    return box.label, box.x0, box.y0, box.x1, box.y1


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_stored(geometry: Geometry, value: str) -> Drawing:
    """A stored answer (or gold) back as shapes; an unreadable one is no shapes."""
    try:
        return read_drawing(geometry.kind, json.loads(value))
    except (ValueError, ShapeError):
        return ()


def read_gold(geometry: Geometry, value: Any) -> str:
    """A gold answer from an items file: the JSON list itself (JSONL) or its text (CSV),
    checked like a worker's drawing; ``ShapeError`` says what is wrong."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ShapeError(N_("the answer must be a list of boxes or points")) from None
    return canonical(geometry, read_drawing(geometry.kind, value))


def is_right(geometry: Geometry, value: str, gold: str, aspect: float = 1.0) -> bool:
    """A drawing against the right one (see the module's docstring)."""
    mine, right = parse_stored(geometry, value), parse_stored(geometry, gold)
    if len(mine) != len(right):
        return False
    if geometry.kind == "boxes":
        boxes, truth = _boxes(mine), _boxes(right)
        return len(match(boxes, truth, lambda a, b: _box_cost(a, b, geometry.iou))) \
            == len(truth)
    points, spots = _points(mine), _points(right)
    if geometry.ordered:
        return all(distance(a, b, aspect) <= geometry.tolerance
                   for a, b in zip(points, spots, strict=True))
    return len(match(points, spots, lambda a, b: _point_cost(a, b, geometry.tolerance,
                                                              aspect))) == len(spots)


def _box_cost(a: Box, b: Box, threshold: float) -> float | None:
    overlap = iou(a, b)
    return 1 - overlap if a.label == b.label and overlap >= threshold - 1e-9 else None


def _point_cost(a: Point, b: Point, tolerance: float, aspect: float) -> float | None:
    gap = distance(a, b, aspect)
    return gap if gap <= tolerance + 1e-9 else None


def _boxes(drawing: Drawing) -> list[Box]:
    return [shape for shape in drawing if isinstance(shape, Box)]


def _points(drawing: Drawing) -> list[Point]:
    return [shape for shape in drawing if isinstance(shape, Point)]


def merge(geometry: Geometry, answers: Sequence[tuple[str, str]], aspect: float = 1.0
          ) -> ShapeResult[Box] | ShapeResult[Point]:
    """Several workers' stored answers to one picture, merged (``bot.aggregation.shapes``)."""
    if geometry.kind == "boxes":
        return BoxMerge().merge([(w, _boxes(parse_stored(geometry, v))) for w, v in answers])
    merger = PointMerge(geometry.tolerance, geometry.ordered, aspect)
    return merger.merge([(w, _points(parse_stored(geometry, v))) for w, v in answers])


def merged_value(geometry: Geometry, result: ShapeResult[Box] | ShapeResult[Point]) -> str:
    """A merged answer written as a worker's answer is (rounded, boxes sorted, unordered
    points sorted), so gold checks and pay compare an answer with it as with gold."""
    def r(value: float) -> float:
        return round(value, DIGITS)

    boxes = sorted((m.shape for m in result.shapes if isinstance(m.shape, Box)),
                   key=_box_key)
    if geometry.kind == "boxes":
        return _dump([{"label": b.label, "box": [r(b.x0), r(b.y0), r(b.x1), r(b.y1)]}
                      for b in boxes])
    points = [[r(m.shape.x), r(m.shape.y)] for m in result.shapes
              if isinstance(m.shape, Point)]
    return _dump(points if geometry.ordered else sorted(points))
