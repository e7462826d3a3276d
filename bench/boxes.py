"""How much merging several workers' boxes (and points) helps, on a SYNTHETIC crowd.

    python -m bench.boxes [--images N] [--seed S] [--json]

No public crowd-annotated box set could be had from the package registries, so the crowd
is generated, with known truth, and the figures say only what this model of a crowd
gives:

* each picture holds 1 to 4 objects, each a ``person`` or a ``bicycle``, boxes 10 % to
  40 % of the picture on each side, placed at random;
* a pool of 30 workers: 60 % careful (each box edge off by a normal error of 4 % of the
  box's size, 5 % of objects missed, a stray box on 2 % of pictures, 2 % wrong labels),
  30 % average (8 %, 10 %, 5 %, 5 %), 10 % sloppy (20 %, 25 %, 20 %, 15 %);
* each picture is drawn by ``overlap`` distinct workers picked at random.

Scored against the truth, per true box: the IoU of the box matched to it (same label,
the best one-to-one matching; 0 when it was missed), the share found at IoU >= 0.7 (the
default ``iou`` of a project), and the boxes drawn that match no true box at IoU >= 0.5,
per picture. "one worker" scores every single answer on its own; "merged" is
``bot.aggregation.shapes.BoxMerge`` over the picture's ``overlap`` answers.

Points: five ordered keypoints per picture (a shoe's outline), each worker's off by a
normal error of 1.5 % (careful), 3 % (average) or 8 % (sloppy) of the diagonal, 5 % /
10 % / 25 % of the time the last point left out; scored by distance to the true point
(a share of the diagonal) and the share within 0.05, the default ``point_tolerance``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.aggregation.geometry import Box, Point, distance, iou, match
from bot.aggregation.shapes import BoxMerge, PointMerge

LABELS = ("person", "bicycle")


@dataclass(frozen=True)
class Worker:
    kind: str
    spread: float
    miss: float
    stray: float
    mislabel: float


KINDS = {"careful": (0.6, 0.04, 0.05, 0.02, 0.02), "average": (0.3, 0.08, 0.10, 0.05, 0.05),
         "sloppy": (0.1, 0.20, 0.25, 0.20, 0.15)}
POINT_SPREAD = {"careful": 0.015, "average": 0.03, "sloppy": 0.08}


def crowd(rng: random.Random, size: int = 30) -> list[Worker]:
    workers = []
    for kind, (share, *rest) in KINDS.items():
        workers += [Worker(kind, *rest) for _ in range(round(share * size))]
    return workers


def truth(rng: random.Random) -> list[Box]:
    boxes = []
    for _ in range(rng.randint(1, 4)):
        w, h = rng.uniform(0.1, 0.4), rng.uniform(0.1, 0.4)
        x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        boxes.append(Box(rng.choice(LABELS), x, y, x + w, y + h))
    return boxes


def _clip(v: float) -> float:
    return min(1.0, max(0.0, v))


def draw(rng: random.Random, worker: Worker, objects: Sequence[Box]) -> list[Box]:
    drawn = []
    for b in objects:
        if rng.random() < worker.miss:
            continue
        w, h = b.x1 - b.x0, b.y1 - b.y0
        e = [rng.gauss(0, worker.spread) for _ in range(4)]
        x0, x1 = sorted((_clip(b.x0 + e[0] * w), _clip(b.x1 + e[1] * w)))
        y0, y1 = sorted((_clip(b.y0 + e[2] * h), _clip(b.y1 + e[3] * h)))
        label = b.label if rng.random() >= worker.mislabel else \
            next(x for x in LABELS if x != b.label)
        if x1 - x0 > 0.005 and y1 - y0 > 0.005:
            drawn.append(Box(label, x0, y0, x1, y1))
    if rng.random() < worker.stray:
        drawn.append(truth(rng)[0])
    return drawn


@dataclass
class Score:
    ious: list[float]
    strays: int = 0
    pictures: int = 0

    def add(self, found: Sequence[Box], objects: Sequence[Box]) -> None:
        pairs = match(list(found), list(objects), lambda a, b: (
            1 - iou(a, b)) if a.label == b.label and iou(a, b) > 0 else None)
        got = {j: 1 - cost for _i, j, cost in pairs}
        self.ious += [got.get(j, 0.0) for j in range(len(objects))]
        good = {i for i, j, cost in pairs if 1 - cost >= 0.5}
        self.strays += len(found) - len(good)
        self.pictures += 1

    def row(self) -> dict[str, float]:
        return {"mean_iou": round(statistics.fmean(self.ious), 3),
                "found_at_0.7": round(sum(v >= 0.7 for v in self.ious) / len(self.ious), 3),
                "stray_per_picture": round(self.strays / self.pictures, 3)}


def boxes(images: int, overlap: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    workers = crowd(rng)
    single, merged = Score([]), Score([])
    merger = BoxMerge()
    for _ in range(images):
        objects = truth(rng)
        answers = [(str(n), draw(rng, workers[n], objects))
                   for n in rng.sample(range(len(workers)), overlap)]
        for _w, found in answers:
            single.add(found, objects)
        merged.add([m.shape for m in merger.merge(answers).shapes], objects)
    return {"one worker": single.row(), f"merged, {overlap} workers": merged.row()}


def points(images: int, overlap: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed + 1)
    workers = crowd(rng)
    errors: dict[str, list[float]] = {"one worker": [], f"merged, {overlap} workers": []}
    merger = PointMerge(0.05, ordered=True)
    for _ in range(images):
        spots = [Point(rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)) for _ in range(5)]
        answers = []
        for n in rng.sample(range(len(workers)), overlap):
            w = workers[n]
            spread = POINT_SPREAD[w.kind]
            placed = [Point(_clip(p.x + rng.gauss(0, spread)), _clip(p.y + rng.gauss(0, spread)))
                      for p in spots]
            if rng.random() < w.miss:
                placed = placed[:-1]
            answers.append((str(n), placed))
            errors["one worker"] += [distance(p, placed[k]) if k < len(placed) else 1.0
                                     for k, p in enumerate(spots)]
        result = merger.merge(answers).shapes
        errors[f"merged, {overlap} workers"] += [
            distance(spots[k], result[k].shape) if k < len(result) else 1.0
            for k in range(len(spots))]
    return {name: {"median_error": round(statistics.median(found), 4),
                   "within_0.05": round(sum(e <= 0.05 for e in found) / len(found), 3)}
            for name, found in errors.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.boxes", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--images", type=int, default=2000, help="pictures (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="figures as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = {"boxes": {**boxes(args.images, 3, args.seed), **{
        k: v for k, v in boxes(args.images, 5, args.seed).items() if k != "one worker"}},
              "points": {**points(args.images, 3, args.seed), **{
        k: v for k, v in points(args.images, 5, args.seed).items() if k != "one worker"}},
              "seconds": round(time.perf_counter() - started, 1)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"SYNTHETIC crowd, {args.images} pictures, seed {args.seed} (see the docstring)")
    print("\nboxes                 mean IoU   found at IoU>=0.7   stray boxes/picture")
    for name, row in result["boxes"].items():
        print(f"{name:<22}{row['mean_iou']:>8.3f}{row['found_at_0.7']:>20.3f}"
              f"{row['stray_per_picture']:>22.3f}")
    print("\npoints                median error (of the diagonal)   within 0.05")
    for name, row in result["points"].items():
        print(f"{name:<22}{row['median_error']:>18.4f}{row['within_0.05']:>26.3f}")
    print(f"\n{result['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
