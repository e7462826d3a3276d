"""Drawn answers: the exact matcher, reading a drawing once at the edge, its canonical
text, gold checks by IoU and distance, and merging several workers' drawings."""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.aggregation.geometry import Box, Point, assignment, distance, iou, match
from bot.aggregation.shapes import BoxMerge, PointMerge
from bot.domain import quality, shapes
from bot.domain.errors import ProjectError
from bot.domain.projects import parse_project
from bot.domain.shapes import MAX_SHAPES, ShapeError, canonical, read_drawing
from tests.drawn import box, boxes_doc, points_doc

BOXES = parse_project(boxes_doc())
POINTS = parse_project(points_doc())
ORDERED = parse_project(points_doc(ordered=True))


def _brute(cost: list[list[float]]) -> float:
    rows, cols = len(cost), len(cost[0])
    k = min(rows, cols)
    return min(sum(cost[i][j] for i, j in zip(r, c, strict=True))
               for r in itertools.permutations(range(rows), k)
               for c in itertools.combinations(range(cols), k))


@given(st.lists(st.lists(st.floats(0, 10), min_size=1, max_size=5), min_size=1, max_size=5)
       .filter(lambda m: len({len(r) for r in m}) == 1))
def test_the_matcher_finds_the_least_total_cost(cost: list[list[float]]) -> None:
    pairs = assignment(cost)
    assert len(pairs) == min(len(cost), len(cost[0]))
    assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
    assert math.isclose(sum(cost[i][j] for i, j in pairs), _brute(cost), abs_tol=1e-9)


def test_match_makes_the_most_allowed_pairs_before_the_cheapest() -> None:
    # greedy would pair a-x (cost 0) and leave b alone; two pairs are possible
    allowed = {("a", "x"): 0.0, ("a", "y"): 0.5, ("b", "x"): 0.4}
    pairs = match(["a", "b"], ["x", "y"], lambda a, b: allowed.get((a, b)))
    assert sorted((i, j) for i, j, _ in pairs) == [(0, 1), (1, 0)]


def test_iou_and_distance() -> None:
    a = Box("p", 0, 0, 0.5, 0.5)
    assert iou(a, a) == 1
    assert iou(a, Box("p", 0.25, 0, 0.75, 0.5)) == pytest.approx(1 / 3)
    assert iou(a, Box("p", 0.6, 0.6, 0.9, 0.9)) == 0
    # a 2:1 picture: half its width is twice as far as half its height
    wide = distance(Point(0, 0), Point(0.5, 0), aspect=2)
    high = distance(Point(0, 0), Point(0, 0.5), aspect=2)
    assert wide == pytest.approx(2 * high)
    assert distance(Point(0, 0), Point(1, 1), aspect=3) == pytest.approx(1)


def test_a_drawing_is_stored_as_one_canonical_text() -> None:
    one = read_drawing("boxes", [box("person", 0.6, 0.9, 0.2, 0.25),
                                 box("bicycle", 0.1, 0.1, 0.30000001, 0.3)])
    other = read_drawing("boxes", [box("bicycle", 0.1, 0.1, 0.3, 0.3),
                                   box("person", 0.2, 0.25, 0.6, 0.9)])
    text = canonical(BOXES.geometry, one)
    assert text == canonical(BOXES.geometry, other)
    assert json.loads(text) == [box("bicycle", 0.1, 0.1, 0.3, 0.3),
                                box("person", 0.2, 0.25, 0.6, 0.9)]
    assert canonical(BOXES.geometry, read_drawing("boxes", [])) == "[]"  # nothing to mark
    points = read_drawing("points", [[0.5, 0.5], [0.1, 0.9]])
    assert canonical(POINTS.geometry, points) == "[[0.1,0.9],[0.5,0.5]]"
    assert canonical(ORDERED.geometry, points) == "[[0.5,0.5],[0.1,0.9]]"


@pytest.mark.parametrize("payload", [
    {"boxes": []}, "[]", None, [[0.1, 0.2]], [box("person", 0.1, 0.1, 0.2, float("nan"))],
    [box("person", 0.1, 0.1, 0.2, 1e300)], [box("person", -0.5, 0.1, 0.2, 0.3)],
    [box("person", 0.1, 0.1, 0.1001, 0.3)], [{"label": "person", "box": [0, 0, 1]}],
    [{"label": "person", "box": [0, 0, 1, 1], "extra": 1}],
    [box("x" * 101, 0, 0, 1, 1)], [box("", 0, 0, 1, 1)], [box("person", True, 0, 1, 1)],
    [box("person", 0, 0, 1, 1)] * (MAX_SHAPES + 1),
])
def test_hostile_or_absurd_boxes_are_refused_with_a_reason(payload: object) -> None:
    with pytest.raises(ShapeError) as refused:
        read_drawing("boxes", payload)
    assert str(refused.value)  # a sentence a person reads


def test_the_project_decides_labels_and_counts() -> None:
    with pytest.raises(ShapeError, match="label"):
        canonical(BOXES.geometry, read_drawing("boxes", [box("cat", 0, 0, 0.5, 0.5)]))
    with pytest.raises(ShapeError, match="from 2 to 6"):
        canonical(POINTS.geometry, read_drawing("points", [[0.5, 0.5]]))
    with pytest.raises(ShapeError, match="from 2 to 6"):
        canonical(POINTS.geometry, read_drawing("points", [[0.1, 0.1]] * 7))
    with pytest.raises(ShapeError, match="boxes"):
        canonical(BOXES.geometry, read_drawing("points", [[0.5, 0.5]]))
    # a slip just past the edge is rounding, and is kept on the picture
    edge = read_drawing("points", [[1.004, -0.003], [0.5, 0.5]])
    assert canonical(POINTS.geometry, edge) == "[[0.5,0.5],[1.0,0.0]]"


def test_gold_boxes_are_right_from_the_projects_iou() -> None:
    gold = canonical(BOXES.geometry, read_drawing("boxes", [box("person", 0.2, 0.2, 0.6, 0.6)]))
    near = json.dumps([box("person", 0.22, 0.2, 0.6, 0.62)])  # IoU 0.907
    off = json.dumps([box("person", 0.3, 0.3, 0.7, 0.7)])  # IoU 0.39
    assert quality.is_correct(BOXES, near, gold)
    assert not quality.is_correct(BOXES, off, gold)
    assert not quality.is_correct(BOXES, json.dumps([box("bicycle", 0.2, 0.2, 0.6, 0.6)]),
                                  gold)
    assert not quality.is_correct(BOXES, "[]", gold)
    assert quality.is_correct(BOXES, "[]", "[]")
    strict = parse_project(boxes_doc(iou=0.95))
    assert not quality.is_correct(strict, near, gold)
    # two boxes each way round: matched as a whole, not in the order drawn
    pair = [box("person", 0.0, 0.0, 0.3, 0.3), box("person", 0.5, 0.5, 0.9, 0.9)]
    assert quality.is_correct(BOXES, json.dumps(pair[::-1]), json.dumps(pair))


def test_gold_points_are_right_within_a_share_of_the_diagonal() -> None:
    gold = "[[0.2,0.5],[0.8,0.5]]"
    assert quality.is_correct(POINTS, "[[0.81,0.52],[0.21,0.49]]", gold)  # a set
    assert not quality.is_correct(ORDERED, "[[0.81,0.52],[0.21,0.49]]", gold)  # the order
    assert quality.is_correct(ORDERED, "[[0.21,0.49],[0.81,0.52]]", gold)
    assert not quality.is_correct(POINTS, "[[0.2,0.5],[0.8,0.62]]", gold)
    # 0.06 across a picture three times as wide as high is far; 0.06 down it is not
    across = "[[0.26,0.5],[0.8,0.5]]"
    down = "[[0.2,0.56],[0.8,0.5]]"
    assert not quality.is_correct(POINTS, across, gold, aspect=3)
    assert quality.is_correct(POINTS, down, gold, aspect=3)


def test_kind_keys_are_checked_like_every_other_key() -> None:
    for doc, words in [(points_doc(iou=0.5), "iou is for boxes projects"),
                       (boxes_doc(ordered=True), "ordered is for points projects"),
                       (points_doc(point_tolerance=0.9), "point_tolerance must be"),
                       (points_doc(min_points=5, max_points=3), "at least min_points, 5"),
                       (points_doc(max_points=101), "max_points must be"),
                       (boxes_doc(labels=None), "needs labels"),
                       (points_doc(labels=["a", "b"]), "no labels")]:
        doc = {k: v for k, v in doc.items() if v is not None}
        with pytest.raises(ProjectError) as refused:
            parse_project(doc)
        assert words in str(refused.value)
    assert parse_project(boxes_doc(labels=["person"])).labels[0].value == "person"


def _jitter(rng: random.Random, b: Box, spread: float) -> Box:
    w, h = b.x1 - b.x0, b.y1 - b.y0
    return Box(b.label, b.x0 + rng.gauss(0, spread * w), b.y0 + rng.gauss(0, spread * h),
               b.x1 + rng.gauss(0, spread * w), b.y1 + rng.gauss(0, spread * h))


def test_merged_boxes_agree_with_the_majority_and_say_how_sure() -> None:
    truth = [Box("person", 0.1, 0.1, 0.4, 0.8), Box("bicycle", 0.5, 0.5, 0.9, 0.9)]
    rng = random.Random(3)
    answers = [(f"w{i}", [_jitter(rng, b, 0.05) for b in truth]) for i in range(4)]
    answers.append(("w4", [truth[0], Box("person", 0.8, 0.0, 0.95, 0.1)]))  # a stray box
    result = BoxMerge().fit([("img", w, bs) for w, bs in answers]).predict()["img"]
    assert [m.shape.label for m in result.shapes] == ["person", "bicycle"]
    for merged, true in zip(result.shapes, truth, strict=True):
        assert iou(merged.shape, true) > 0.9
    assert [m.share for m in result.shapes] == [1.0, 0.8]
    assert len(result.dropped) == 1 and result.dropped[0].share == 0.2
    assert 0 < result.confidence <= 0.8  # the bicycle only 4 of 5 saw
    nothing = BoxMerge().merge([("a", []), ("b", [])])
    assert nothing.shapes == () and nothing.confidence == 1.0


def test_merged_points_by_distance_or_by_order() -> None:
    answers = [("a", [Point(0.1, 0.1), Point(0.9, 0.9)]),
               ("b", [Point(0.91, 0.9), Point(0.11, 0.1)]),
               ("c", [Point(0.1, 0.12)])]
    merged = PointMerge(0.05).merge(answers)
    assert [(m.shape.x, m.shape.y) for m in merged.shapes] == \
        [(0.1, 0.1), (pytest.approx(0.905), 0.9)]
    assert [round(m.share, 2) for m in merged.shapes] == [1.0, 0.67]
    ordered = PointMerge(0.05, ordered=True).merge(answers)
    # in order, b's first point is the far corner: point 1 is no longer agreed on
    assert ordered.shapes[0].agreement < merged.shapes[0].agreement


def test_live_estimate_of_a_drawing_is_its_merge() -> None:
    one = json.dumps([box("person", 0.2, 0.2, 0.6, 0.6)])
    two = json.dumps([box("person", 0.21, 0.2, 0.6, 0.61)])
    first = quality.live_estimate(BOXES, [(1, one)], {})
    assert first is not None and first.confidence <= 0.5  # one drawing is never proof
    both = quality.live_estimate(BOXES, [(1, one), (2, two)], {})
    assert both is not None and both.confidence > 0.9
    assert quality.is_correct(BOXES, one, both.label)
    assert shapes.parse_stored(BOXES.geometry, both.label)


def test_the_right_answer_is_drawn_over_the_picture() -> None:
    import io

    from PIL import Image

    from bot.render.drawn import RIGHT, THEIRS, draw_answer
    from tests.drawn import picture
    png = picture(400, 300)
    drawn = Image.open(io.BytesIO(draw_answer(png, [(0.2, 0.25, 0.6, 0.9)],
                                              [(0.5, 0.1, 0.9, 0.5), (0.1, 0.1)])))
    assert drawn.size == (400, 300)

    def near(xy: tuple[int, int], colour: tuple[int, int, int]) -> bool:
        got = drawn.getpixel(xy)
        assert isinstance(got, tuple)
        return sum(abs(a - b) for a, b in zip(got, colour, strict=False)) < 90

    assert near((120, 300 * 0.25), RIGHT)  # the top edge of the right box, green
    assert near((205, 30), THEIRS)  # the worker's box: its top edge, red, dashed
    assert not near((217, 30), THEIRS)
    assert not near((10, 10), RIGHT) and not near((10, 10), THEIRS)
