"""Boxes and points in normalised image coordinates, how close two of them are, and the
optimal one-to-one matching between two sets of them.

Coordinates run from 0 to 1 across the image (x to the right, y down), so an answer
means the same on the 1280-pixel picture a phone shows and on the original file. IoU
is the same in normalised and pixel coordinates (both axes scale areas alike); a
distance between points is not, so it takes the image's aspect ratio (width / height)
and is given as a share of the image's diagonal.

Matching is the assignment problem: pair the shapes of two sets so the pairs are as
good as possible, each shape used at most once. :func:`assignment` is an exact O(n³)
solver (the Hungarian method with potentials, as in Kuhn 1955 / Jonker-Volgenant), ~40
lines here. ``scipy.optimize.linear_sum_assignment`` does the same, but scipy is not a
dependency of tapwork and would add about 40 MB to the install for this one function; an
answer holds at most ``MAX_SHAPES`` shapes, where this takes milliseconds at worst
(``tests/test_geometry.py`` checks it against every permutation on small matrices).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Box", "Point", "assignment", "distance", "iou", "match"]

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True, slots=True)
class Box:
    """A labelled rectangle: ``x0 < x1`` and ``y0 < y1``, all in [0, 1]."""

    label: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def area(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0)


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (labels are not looked at)."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def distance(a: Point, b: Point, aspect: float = 1.0) -> float:
    """The distance between two points as a share of the image's diagonal, for an image
    ``aspect`` (width / height) times as wide as it is high."""
    dx, dy = (a.x - b.x) * aspect, a.y - b.y
    return math.hypot(dx, dy) / math.hypot(aspect, 1.0)


def assignment(cost: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Rows paired with columns, each used at most once, for the least total ``cost``
    (a rectangular matrix of finite numbers): ``min(rows, columns)`` pairs, by row."""
    rows = len(cost)
    cols = len(cost[0]) if rows else 0
    if not rows or not cols:
        return []
    if rows > cols:
        flipped = [[cost[i][j] for i in range(rows)] for j in range(cols)]
        return sorted((i, j) for j, i in assignment(flipped))
    inf = math.inf
    # potentials of rows (u) and columns (v); p[j]: the row matched to column j (1-based)
    u, v = [0.0] * (rows + 1), [0.0] * (cols + 1)
    p, way = [0] * (cols + 1), [0] * (cols + 1)
    for i in range(1, rows + 1):
        p[0], j0 = i, 0
        least, used = [inf] * (cols + 1), [False] * (cols + 1)
        while True:  # grow an alternating tree from row i until a free column is reached
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            row = cost[i0 - 1]
            for j in range(1, cols + 1):
                if not used[j]:
                    reduced = row[j - 1] - u[i0] - v[j]
                    if reduced < least[j]:
                        least[j], way[j] = reduced, j0
                    if least[j] < delta:
                        delta, j1 = least[j], j
            for j in range(cols + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    least[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:  # flip the augmenting path
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    return sorted((p[j] - 1, j - 1) for j in range(1, cols + 1) if p[j])


def match(left: Sequence[A], right: Sequence[B],
                score: Callable[[A, B], float | None]) -> list[tuple[int, int, float]]:
    """The most pairs whose ``score`` (a cost, lower is better) is not None, and among
    those the least total cost: ``(left index, right index, cost)``.

    A pair that may not be made costs more than all allowed pairs together, so the
    solver first makes as many allowed pairs as it can, then the best of them.
    """
    if not left or not right:
        return []
    scores = [[score(a, b) for b in right] for a in left]
    allowed = [s for row in scores for s in row if s is not None]
    barred = (sum(abs(s) for s in allowed) + 1.0) * 2
    cost = [[barred if s is None else s for s in row] for row in scores]
    return [(i, j, cost[i][j]) for i, j in assignment(cost) if scores[i][j] is not None]
