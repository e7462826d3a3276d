"""Merging several workers' boxes (or points) on one image into one answer.

Each worker draws the objects they see; nobody draws them exactly alike, some miss one,
some draw one too many. Per image:

1. **Match across workers.** Workers are taken in order (by assignment, as the export
   reads them). The first one's shapes open one cluster each. Every later worker's
   shapes are matched to the clusters so far by :func:`~.geometry.match`: for boxes
   the same label and an IoU of at least ``match_iou`` (0.5, the usual PASCAL VOC
   threshold) with the cluster's current merged box, best total IoU first; for points a
   distance of at most ``tolerance`` (a share of the image's diagonal). A worker adds
   at most one shape to a cluster; shapes matching no cluster open new ones. Ordered
   points skip matching: the i-th point of every worker is cluster i.
2. **Merge.** A cluster's shape is the coordinate-wise median of its members (robust to
   one careless worker, unlike the mean).
3. **Keep what most saw.** A cluster is kept when more than half the workers who
   answered the image drew it (``share``). Its confidence is ``share`` times the
   members' mean agreement with the merged shape (IoU for boxes; ``1 - distance /
   tolerance`` for points). The image's confidence is that of its least sure decision:
   the lowest confidence of a kept shape, or ``1 - share`` of a dropped one (1.0 when
   everybody agreed there is nothing to mark).

Each method is a class in crowd-kit's style: ``BoxMerge().fit(rows).predict()``, rows
being ``(item, worker, shapes)``; the results per item are in ``results_``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Self, TypeVar

from .geometry import Box, Point, distance, iou, match

__all__ = ["MATCH_IOU", "BoxMerge", "Merged", "PointMerge", "ShapeResult"]

#: boxes of two workers are the same object from this IoU (with the merged box) on
MATCH_IOU = 0.5
S = TypeVar("S", Box, Point)


@dataclass(frozen=True)
class Merged(Generic[S]):
    """One merged shape: how many of the image's workers drew it (``share``), their mean
    agreement with it, and ``confidence`` = share x agreement."""

    shape: S
    share: float
    agreement: float

    @property
    def confidence(self) -> float:
        return self.share * self.agreement


@dataclass(frozen=True)
class ShapeResult(Generic[S]):
    """An image's merged answer: the kept shapes (in the order their clusters opened),
    the image's confidence, and how many workers answered it."""

    shapes: tuple[Merged[S], ...]
    confidence: float
    workers: int
    dropped: tuple[Merged[S], ...] = field(default=(), compare=False)


@dataclass
class _Cluster(Generic[S]):
    members: list[tuple[str, S]]
    center: S


def _median_box(boxes: Sequence[Box]) -> Box:
    return Box(boxes[0].label, *(statistics.median(getattr(b, a) for b in boxes)
                                 for a in ("x0", "y0", "x1", "y1")))


def _median_point(points: Sequence[Point]) -> Point:
    return Point(statistics.median(p.x for p in points), statistics.median(p.y for p in points))


class _Merge(Generic[S]):
    """What boxes and points share: fit over many items, one result per item."""

    results_: dict[str, ShapeResult[S]]

    def fit(self, rows: Iterable[tuple[str, str, Sequence[S]]]) -> Self:
        """``rows``: (item, worker, that worker's shapes), a worker's answers in order."""
        by_item: dict[str, list[tuple[str, Sequence[S]]]] = {}
        for item, worker, shapes in rows:
            by_item.setdefault(item, []).append((worker, shapes))
        self.results_ = {item: self.merge(answers) for item, answers in by_item.items()}
        return self

    def predict(self) -> dict[str, ShapeResult[S]]:
        if not hasattr(self, "results_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")
        return self.results_

    def fit_predict(self, rows: Iterable[tuple[str, str, Sequence[S]]]
                    ) -> dict[str, ShapeResult[S]]:
        return self.fit(rows).predict()

    def merge(self, answers: Sequence[tuple[str, Sequence[S]]]) -> ShapeResult[S]:
        """One image: each worker's shapes, in the order the workers answered."""
        workers = len({worker for worker, _ in answers})
        clusters = self._clusters(answers)
        kept: list[Merged[S]] = []
        dropped: list[Merged[S]] = []
        for cluster in clusters:
            center = self._center([shape for _, shape in cluster.members])
            share = len({w for w, _ in cluster.members}) / workers
            agreement = statistics.fmean(self._agreement(shape, center)
                                         for _, shape in cluster.members)
            (kept if share > 0.5 else dropped).append(Merged(center, share, agreement))
        doubts = [m.confidence for m in kept] + [1 - m.share for m in dropped]
        return ShapeResult(tuple(kept), min(doubts, default=1.0), workers, tuple(dropped))

    def _clusters(self, answers: Sequence[tuple[str, Sequence[S]]]) -> list[_Cluster[S]]:
        clusters: list[_Cluster[S]] = []
        for worker, shapes in answers:
            pairs = match(list(shapes), [c.center for c in clusters], self._cost)
            for i, j, _cost in pairs:
                cluster = clusters[j]
                cluster.members.append((worker, shapes[i]))
                cluster.center = self._center([s for _, s in cluster.members])
            taken = {i for i, _, _ in pairs}
            clusters += [_Cluster([(worker, shape)], shape)
                         for i, shape in enumerate(shapes) if i not in taken]
        return clusters

    def _cost(self, shape: S, center: S) -> float | None:
        raise NotImplementedError

    def _center(self, shapes: Sequence[S]) -> S:
        raise NotImplementedError

    def _agreement(self, shape: S, center: S) -> float:
        raise NotImplementedError


class BoxMerge(_Merge[Box]):
    """Boxes matched by label and IoU, merged by the coordinate-wise median."""

    def __init__(self, match_iou: float = MATCH_IOU) -> None:
        self.match_iou = match_iou

    def _cost(self, shape: Box, center: Box) -> float | None:
        if shape.label != center.label:
            return None
        overlap = iou(shape, center)
        return 1.0 - overlap if overlap >= self.match_iou else None

    def _center(self, shapes: Sequence[Box]) -> Box:
        return _median_box(shapes)

    def _agreement(self, shape: Box, center: Box) -> float:
        return iou(shape, center)


class PointMerge(_Merge[Point]):
    """Points matched within ``tolerance`` of the image's diagonal (or by position in an
    ordered set), merged by the coordinate-wise median. ``aspect`` is width / height;
    :meth:`merge` takes the image's own."""

    def __init__(self, tolerance: float = 0.05, ordered: bool = False,
                 aspect: float = 1.0) -> None:
        self.tolerance = tolerance
        self.ordered = ordered
        self.aspect = aspect

    def for_image(self, aspect: float) -> PointMerge:
        return PointMerge(self.tolerance, self.ordered, aspect)

    def _clusters(self, answers: Sequence[tuple[str, Sequence[Point]]]
                  ) -> list[_Cluster[Point]]:
        if not self.ordered:
            return super()._clusters(answers)
        clusters: list[_Cluster[Point]] = []
        for worker, points in answers:
            for i, point in enumerate(points):
                if i == len(clusters):
                    clusters.append(_Cluster([], point))
                clusters[i].members.append((worker, point))
        return clusters

    def _cost(self, shape: Point, center: Point) -> float | None:
        gap = distance(shape, center, self.aspect)
        return gap if gap <= self.tolerance else None

    def _center(self, shapes: Sequence[Point]) -> Point:
        return _median_point(shapes)

    def _agreement(self, shape: Point, center: Point) -> float:
        return max(0.0, 1.0 - distance(shape, center, self.aspect) / self.tolerance)
