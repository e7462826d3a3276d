"""``python -m bench.boxes`` runs as the README says, and on its synthetic crowd merged
boxes and points are closer to the truth than one worker's answers."""

from __future__ import annotations

import json

from tests.bench_module import run_bench


def test_merging_beats_one_worker_on_the_synthetic_crowd() -> None:
    figures = json.loads(run_bench("boxes", "--images", "300", "--json", timeout=120))
    boxes, points = figures["boxes"], figures["points"]
    one, three, five = (boxes[k] for k in ("one worker", "merged, 3 workers",
                                           "merged, 5 workers"))
    assert one["mean_iou"] < three["mean_iou"] < five["mean_iou"]
    assert three["stray_per_picture"] < one["stray_per_picture"] / 5
    assert points["merged, 3 workers"]["within_0.05"] > points["one worker"]["within_0.05"]
