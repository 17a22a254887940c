"""Scores for per-second labels and found scenes. NumPy only: importing this costs nothing.

Two families of numbers:

* **Per second** (the paper's evaluation, section 6.1): every second is a binary decision;
  :func:`binary_metrics` counts the confusion and derives precision, recall, F1 and accuracy.
* **Per segment** (temporal localisation, as ActivityNet / MMAction2 score it): a found scene is a
  true positive when its temporal IoU with a not-yet-matched ground-truth scene of the same film
  reaches a threshold. :func:`average_precision` follows ActivityNet's
  ``compute_average_precision_detection``: predictions of all films are ranked by score
  (descending; ties keep their given order), each in turn takes the unmatched ground truth with
  the highest tIoU at or above the threshold (each ground truth is matched at most once), and AP
  is the area under the monotone precision envelope of the resulting precision/recall points
  (VOC 2011 interpolation). :func:`detection_map` averages AP over tIoU 0.5:0.05:0.95.

Conventions, fixed here so that every caller agrees:

* A ratio with a zero denominator (precision with no predicted positive, recall with no actual
  positive, F1 with both zero) is 0.0, as scikit-learn's ``zero_division=0``; the counts are
  always reported beside it so a reader can tell "0 of 0" from "0 of 10".
* Average precision with **no ground truth** is undefined: it is NaN (``null`` in JSON, ``n/a`` in
  tables), whatever the predictions. With ground truth but **no predictions** it is 0.0.
* A tIoU equal to a threshold counts as reaching it. Thresholds are exact decimals
  (``k / 100``) and comparisons allow 1e-9 of float slack, so ``[0, 6)`` vs ``[0, 10)`` (tIoU 0.6)
  counts at 0.6 however the division rounds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np

#: tIoU 0.5:0.05:0.95, as exact decimals (``np.linspace`` gives 0.6000000000000001).
TIOU_THRESHOLDS: tuple[float, ...] = tuple(k / 100 for k in range(50, 100, 5))
_SLACK = 1e-9


def safe_div(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or 0.0 when the denominator is 0 (see module conventions)."""
    return float(numerator) / float(denominator) if denominator else 0.0


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall; 0.0 when both are 0."""
    return safe_div(2.0 * precision * recall, precision + recall)


def _none_if_nan(value: float) -> float | None:
    return None if isinstance(value, float) and math.isnan(value) else value


# ------------------------------------------------------------------------------- per second


@attrs.frozen
class BinaryMetrics:
    """Confusion counts of binary decisions and the ratios derived from them."""

    tp: int
    fp: int
    fn: int
    tn: int
    ignored: int = 0

    @property
    def support(self) -> int:
        """Decisions counted (ignored ones excluded)."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return safe_div(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return safe_div(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return f1_score(self.precision, self.recall)

    @property
    def accuracy(self) -> float:
        return safe_div(self.tp + self.tn, self.support)

    def __add__(self, other: BinaryMetrics) -> BinaryMetrics:
        """Pool the counts of two sets of decisions (micro-averaging across films)."""
        return BinaryMetrics(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                             self.tn + other.tn, self.ignored + other.ignored)

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "accuracy": self.accuracy, "support": self.support,
                "confusion": {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn},
                "ignored": self.ignored}


def binary_metrics(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, *,
                   ignore: int | None = -1) -> BinaryMetrics:
    """Count the confusion of ``y_pred`` against ``y_true`` (both 0/1, same length).

    Positions where ``y_true == ignore`` are left out (and counted as ``ignored``): the -1
    "unlabelled" seconds of :func:`scenedet.evaluation.annotations.per_second_labels`. ``y_pred`` may be bool.
    """
    t = np.asarray(y_true).reshape(-1)
    p = np.asarray(y_pred).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    keep = np.ones(t.shape, dtype=bool) if ignore is None else t != ignore
    t, p = t[keep], p[keep]
    for name, values in (("y_true", t), ("y_pred", p)):
        if values.size and not np.isin(values, (0, 1)).all():
            also = f" (and {ignore} to ignore)" if name == "y_true" and ignore is not None else ""
            raise ValueError(f"{name} must hold only 0 and 1{also}")
    t, p = t.astype(bool), p.astype(bool)
    tp = int(np.count_nonzero(t & p))
    fp = int(np.count_nonzero(~t & p))
    fn = int(np.count_nonzero(t & ~p))
    tn = int(t.size - tp - fp - fn)
    return BinaryMetrics(tp, fp, fn, tn, ignored=int(keep.size - keep.sum()))


# ------------------------------------------------------------------------------ per segment


@attrs.frozen
class Segment:
    """``[start, end)`` seconds of ``video``; ``score`` ranks predictions (ignored for truth)."""

    video: str
    start: float = attrs.field(converter=float)
    end: float = attrs.field(converter=float)
    score: float = attrs.field(default=1.0, converter=float)

    def __attrs_post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.end < self.start:
            raise ValueError(f"segment end {self.end} before start {self.start}")
        if math.isnan(self.score):
            raise ValueError("segment score is NaN")


def temporal_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two intervals ``(start, end)``; 0.0 when the union is empty."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def pairwise_temporal_iou(candidates: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """tIoU of every candidate ``(N, 2)`` with every target ``(M, 2)``: an ``(N, M)`` array."""
    c = np.asarray(candidates, dtype=np.float64).reshape(-1, 2)
    t = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
    inter = np.clip(np.minimum(c[:, None, 1], t[None, :, 1])
                    - np.maximum(c[:, None, 0], t[None, :, 0]), 0.0, None)
    union = (c[:, 1] - c[:, 0])[:, None] + (t[:, 1] - t[:, 0])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


@attrs.frozen
class Matching:
    """Outcome of greedy matching at several thresholds.

    ``order``: prediction indices by descending score (the rank order). ``true_positive``:
    ``(T, N)`` bool, row per threshold, column per *ranked* prediction. ``matched``: ``(T, N)``
    index of the ground truth each ranked prediction took, -1 for none.
    """

    thresholds: tuple[float, ...]
    order: np.ndarray
    true_positive: np.ndarray
    matched: np.ndarray
    n_ground_truth: int


def match_segments(ground_truth: Sequence[Segment], predictions: Sequence[Segment],
                   thresholds: Sequence[float] = TIOU_THRESHOLDS) -> Matching:
    """Greedy ActivityNet matching of ``predictions`` to ``ground_truth`` at each threshold.

    Predictions are taken by descending score (stable: equal scores keep their given order); each
    takes, among its own film's ground truths not yet taken at that threshold, the one with the
    highest tIoU, if that tIoU reaches the threshold. Otherwise it is a false positive, as is any
    prediction for a film without ground truth.
    """
    thresholds = tuple(float(t) for t in thresholds)
    n_pred = len(predictions)
    scores = np.array([p.score for p in predictions], dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    tp = np.zeros((len(thresholds), n_pred), dtype=bool)
    matched = np.full((len(thresholds), n_pred), -1, dtype=np.int64)
    by_video: dict[str, list[int]] = {}
    for index, gt in enumerate(ground_truth):
        by_video.setdefault(gt.video, []).append(index)
    spans = {video: np.array([[ground_truth[i].start, ground_truth[i].end] for i in indices])
             for video, indices in by_video.items()}
    taken = np.zeros((len(thresholds), len(ground_truth)), dtype=bool)
    for rank, index in enumerate(order):
        pred = predictions[index]
        indices = by_video.get(pred.video)
        if not indices:
            continue
        ious = pairwise_temporal_iou(np.array([[pred.start, pred.end]]), spans[pred.video])[0]
        by_iou = np.argsort(-ious, kind="stable")
        for k, threshold in enumerate(thresholds):
            for j in by_iou:
                if ious[j] < threshold - _SLACK:
                    break
                gt_index = indices[j]
                if not taken[k, gt_index]:
                    taken[k, gt_index] = True
                    tp[k, rank] = True
                    matched[k, rank] = gt_index
                    break
    return Matching(thresholds, order, tp, matched, len(ground_truth))


def interpolated_average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the monotone (non-increasing) envelope of a precision/recall curve.

    Points are taken in rank order (recall non-decreasing). The curve is closed with
    ``(recall 0, precision 0)`` and ``(recall 1, precision 0)``; each precision is replaced by the
    highest precision at any later point, and the area is summed over the steps where recall grows.
    """
    p = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    r = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    steps = np.flatnonzero(r[1:] != r[:-1]) + 1
    return float(np.sum((r[steps] - r[steps - 1]) * p[steps]))


def average_precision(ground_truth: Sequence[Segment], predictions: Sequence[Segment],
                      thresholds: Sequence[float] = TIOU_THRESHOLDS) -> np.ndarray:
    """AP at each tIoU threshold (see the module docstring); NaN everywhere with no ground truth."""
    thresholds = tuple(thresholds)
    if not ground_truth:
        return np.full(len(thresholds), np.nan)
    if not predictions:
        return np.zeros(len(thresholds))
    m = match_segments(ground_truth, predictions, thresholds)
    tp = np.cumsum(m.true_positive, axis=1, dtype=np.float64)
    fp = np.cumsum(~m.true_positive, axis=1, dtype=np.float64)
    recall = tp / len(ground_truth)
    precision = tp / (tp + fp)
    return np.array([interpolated_average_precision(precision[k], recall[k])
                     for k in range(len(thresholds))])


@attrs.frozen
class SegmentMetrics:
    """Found scenes against true ones at one tIoU threshold, every prediction counted."""

    threshold: float
    tp: int
    n_predictions: int
    n_ground_truth: int

    @property
    def fp(self) -> int:
        return self.n_predictions - self.tp

    @property
    def fn(self) -> int:
        return self.n_ground_truth - self.tp

    @property
    def precision(self) -> float:
        return safe_div(self.tp, self.n_predictions)

    @property
    def recall(self) -> float:
        return safe_div(self.tp, self.n_ground_truth)

    @property
    def f1(self) -> float:
        return f1_score(self.precision, self.recall)

    def to_dict(self) -> dict[str, Any]:
        return {"tiou": self.threshold, "precision": self.precision, "recall": self.recall,
                "f1": self.f1, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "predictions": self.n_predictions, "ground_truth": self.n_ground_truth}


def segment_metrics(ground_truth: Sequence[Segment], predictions: Sequence[Segment],
                    threshold: float = 0.5) -> SegmentMetrics:
    """Precision and recall of found scenes at one tIoU, with the same greedy matching as AP."""
    m = match_segments(ground_truth, predictions, (threshold,))
    return SegmentMetrics(float(threshold), int(m.true_positive.sum()), len(predictions),
                          len(ground_truth))


@attrs.frozen
class DetectionMetrics:
    """AP at each tIoU threshold and their mean (ActivityNet's "average mAP").

    With one kind of scene, the mean over classes is the AP itself, so ``mean_ap`` is the average
    over thresholds. NaN when there is no ground truth.
    """

    thresholds: tuple[float, ...]
    ap: tuple[float, ...]

    @property
    def mean_ap(self) -> float:
        return float(np.mean(self.ap)) if self.ap else math.nan

    def ap_at(self, threshold: float) -> float:
        for t, value in zip(self.thresholds, self.ap):
            if abs(t - threshold) < 1e-9:
                return value
        raise KeyError(f"no AP computed at tIoU {threshold}")

    def to_dict(self) -> dict[str, Any]:
        return {"thresholds": list(self.thresholds),
                "ap": {f"{t:.2f}": _none_if_nan(a) for t, a in zip(self.thresholds, self.ap)},
                "mAP": _none_if_nan(self.mean_ap)}


def detection_map(ground_truth: Sequence[Segment], predictions: Sequence[Segment],
                  thresholds: Sequence[float] = TIOU_THRESHOLDS) -> DetectionMetrics:
    """AP at every threshold in ``thresholds`` (default tIoU 0.5:0.05:0.95) and their mean."""
    ap = average_precision(ground_truth, predictions, thresholds)
    return DetectionMetrics(tuple(float(t) for t in thresholds), tuple(float(a) for a in ap))


# ------------------------------------------------------------------------------------ tables


def format_number(value: float | int | None, digits: int = 3) -> str:
    """A cell: integers as they are, floats to ``digits`` places, NaN/None as ``n/a``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return f"{float(value):.{digits}f}"


def format_table(header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                 title: str | None = None) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned.

    Numbers go through :func:`format_number`; anything else through ``str``.
    """
    def cell(value: Any) -> str:
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return format_number(value)
        return "n/a" if value is None else str(value)

    body = [[cell(v) for v in row] for row in rows]
    table = [list(header), *body]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    out = [title] if title else []
    out += [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in body]
    return "\n".join(out)

