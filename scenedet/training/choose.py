"""The segmentation settings a model file recommends, chosen on its validation films.

A run turns per-second scores into scenes with a ``threshold`` (the smallest fraction of
positive seconds in a scene) and a ``min_length`` (the shortest scene, in seconds). Guessed, they
fit one head and not another: a temporal head's scores are smooth, a linear head's flicker. So
``train`` tries every pair of a small grid (:data:`THRESHOLDS` x :data:`MIN_LENGTHS`) on the
validation films' scores, with the scene's aggregator and label threshold, and keeps the pair
with the best **segment-level F1 at tIoU 0.5** (a found scene counts when it overlaps a true one
by at least half their union, each true scene matched once: ``scenedet.evaluation.metrics``).
Ties go to the higher mAP over tIoU 0.5:0.05:0.95, then to the pair nearest the scene recipe's
own (a flat optimum does not drift to the grid's edge). The test films play no part, so the test metrics stay honest.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from scenedet.segmentation.segments import fraction_text, segment
from scenedet.values import to_fraction

THRESHOLDS = tuple(Fraction(k, 10) for k in range(3, 11))
MIN_LENGTHS = (1, 2, 3, 5, 8, 10, 15, 20, 30)
CRITERION = "segment F1 at tIoU 0.5 on the validation films (ties: mAP at tIoU 0.5:0.05:0.95)"


def truth_segments(name: str, labels: np.ndarray) -> list[Any]:
    """The true scenes of a film: its runs of positive seconds (unlabelled seconds are not)."""
    from scenedet.evaluation.metrics import Segment

    positive = np.concatenate([[False], np.asarray(labels) == 1, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(positive))
    return [Segment(name, int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def predicted_segments(name: str, scores: np.ndarray, settings: Mapping[str, Any]) -> list[Any]:
    """A film's found scenes under ``settings`` (``segment``'s keywords), ranked by mean score."""
    from scenedet.evaluation.metrics import Segment

    return [Segment(name, s.start, s.end, 1.0 if s.score is None else s.score)
            for s in segment(scores, **settings)]


def segment_scores(scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray],
                   settings: Mapping[str, Any]) -> dict[str, Any]:
    """Segment-level F1 at tIoU 0.5 and mAP over tIoU 0.5:0.05:0.95 of ``scores`` (per film)
    cut with ``settings``, against the runs of ``labels``."""
    from scenedet.evaluation.metrics import detection_map, segment_metrics

    truth = [s for name, y in labels.items() for s in truth_segments(name, y)]
    found = [s for name, p in scores.items() for s in predicted_segments(name, p, settings)]
    at_half = segment_metrics(truth, found, 0.5)
    return {"f1": at_half.f1, "precision": at_half.precision, "recall": at_half.recall,
            "mAP": detection_map(truth, found).mean_ap if truth else None,  # None: no true scene
            "scenes": len(found), "true_scenes": len(truth)}


def choose_settings(scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray], *,
                    aggregator: str, label_threshold: Any, recipe_min_length: int = 10,
                    recipe_threshold: Any = "0.7") -> dict[str, Any] | None:
    """The grid's best ``{"min_length", "threshold", ...}`` on these films (see the module), or
    ``None`` when they hold no true scene (nothing to choose by)."""
    recipe_t = to_fraction(recipe_threshold)
    if not any(len(truth_segments(n, y)) for n, y in labels.items()):
        return None
    best: tuple[float, float, float, dict[str, Any]] | None = None
    for threshold in THRESHOLDS:
        for min_length in MIN_LENGTHS:
            settings = {"aggregator": aggregator, "label_threshold": label_threshold,
                        "min_length": min_length, "threshold": threshold}
            found = segment_scores(scores, labels, settings)
            near = -(abs(min_length - recipe_min_length) / recipe_min_length
                     + abs(float(threshold - recipe_t)))
            key = (found["f1"], float(found["mAP"] or 0.0), near)
            if best is None or key > best[:3]:
                best = (*key, {"min_length": min_length, "threshold": fraction_text(threshold),
                               "validation": found})
    assert best is not None
    return {**best[3], "criterion": CRITERION, "aggregator": aggregator,
            "label_threshold": float(label_threshold)}
