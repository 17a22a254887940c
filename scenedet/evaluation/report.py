"""Score a detector's output for some films against their annotations: what ``evaluate`` prints.

Kept apart from the CLI so that training code, notebooks and benchmarks get the same numbers.
NumPy only. Definitions (see ``docs/evaluation.md``):

* Per second: second ``i`` is predicted positive when ``scores[i] >= label_threshold``; its true
  label comes from :meth:`AnnotationSet.labels` (centre-of-second rule); unlabelled seconds (-1,
  files with explicit negatives) are left out. Counts are pooled over all films (micro average);
  each film's own numbers are kept too.
* Per segment: the annotated positive scenes of the evaluated films are the ground truth; the
  predicted segments with their scores are the detections. In a file with explicit negatives, a
  detection that touches no annotated time at all (positive or negative) lies in time nobody
  labelled and is left out, counted in ``ignored_segments``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np

from scenedet.evaluation.annotations.model import AnnotationSet, video_key
from scenedet.errors import UsageError
from scenedet.evaluation.metrics import (TIOU_THRESHOLDS, BinaryMetrics, DetectionMetrics, Segment, SegmentMetrics,
                      binary_metrics, detection_map, format_number, format_table,
                      segment_metrics)


def _scores(value: Any) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"scores must be one number per second, got shape {array.shape}")
    if array.size and not np.isfinite(array).all():
        raise ValueError("scores must be finite numbers")
    return array


@attrs.frozen
class VideoPrediction:
    """What a detector said about one film: a score per second and the scenes it cut.

    ``segments``: ``(start, end, score)`` triples in seconds, ``[start, end)``.
    """

    scores: np.ndarray = attrs.field(converter=_scores, eq=False)
    segments: tuple[tuple[float, float, float], ...] = attrs.field(default=(), converter=tuple)

    @classmethod
    def coerce(cls, value: Any) -> VideoPrediction:
        """Accept a ``VideoPrediction``, a ``(scores, segments)`` pair, or a run result dict.

        A segment may be a ``(start, end[, score])`` sequence, a dict, or an object with
        ``start``/``end``/``score``. A segment without a score gets the mean of the per-second
        scores it covers (1.0 when it covers none).
        """
        if isinstance(value, VideoPrediction):
            return value
        if isinstance(value, Mapping):
            scores, raw = value.get("scores", []), value.get("segments", [])
        else:
            scores, raw = value
        scores = _scores(scores)
        return cls(scores, tuple(_segment_triple(s, scores) for s in raw))


def _segment_triple(item: Any, scores: np.ndarray) -> tuple[float, float, float]:
    if isinstance(item, Mapping):
        start, end, score = item.get("start"), item.get("end"), item.get("score")
    elif hasattr(item, "start") and hasattr(item, "end"):
        start, end, score = item.start, item.end, getattr(item, "score", None)
    else:
        seq = tuple(item)
        if len(seq) not in (2, 3):
            raise ValueError(f"a segment is (start, end[, score]), got {item!r}")
        start, end, score = seq[0], seq[1], seq[2] if len(seq) == 3 else None
    if start is None or end is None:
        raise ValueError(f"a segment needs start and end, got {item!r}")
    start, end = float(start), float(end)
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise ValueError(f"segment end {end} before start {start}")
    if score is None:
        covered = scores[max(0, int(math.floor(start))):max(0, int(math.ceil(end)))]
        score = float(covered.mean()) if covered.size else 1.0
    return start, end, float(score)


@attrs.frozen
class EvaluationReport:
    """Every number ``scenedet evaluate`` shows; ``to_dict()`` is its JSON report."""

    label_threshold: float
    videos: tuple[str, ...]
    per_second: BinaryMetrics
    per_video: Mapping[str, BinaryMetrics]
    segments: SegmentMetrics
    detection: DetectionMetrics
    not_evaluated: tuple[str, ...] = ()
    ignored_segments: int = 0
    explicit_negatives: bool = False
    annotations: str | None = None
    #: The segmentation settings every evaluated run was cut with (``aggregator``,
    #: ``min_length``, ``threshold``; ``"chosen_on_validation": True`` when they are the ones
    #: the model file recommends), or None when the runs differ or do not say.
    segmentation: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "segmentation": None if self.segmentation is None else dict(self.segmentation),
            "annotations": self.annotations,
            "videos": list(self.videos),
            "not_evaluated": list(self.not_evaluated),
            "explicit_negatives": self.explicit_negatives,
            "per_second": {"label_threshold": self.label_threshold, **self.per_second.to_dict()},
            "per_video": {v: m.to_dict() for v, m in self.per_video.items()},
            "segments": {**self.segments.to_dict(), "ignored": self.ignored_segments},
            "detection": self.detection.to_dict(),
        }

    def format_table(self, *, per_video: bool = True) -> str:
        """The report as plain-text tables, for a terminal."""
        ps = self.per_second
        head = ["", "precision", "recall", "f1", "accuracy", "tp", "fp", "fn", "tn"]

        def row(name: str, m: BinaryMetrics) -> list[Any]:
            return [name, m.precision, m.recall, m.f1, m.accuracy, m.tp, m.fp, m.fn, m.tn]

        rows = [row("all films", ps)]
        if per_video and len(self.per_video) > 1:
            rows += [row(v, m) for v, m in self.per_video.items()]
        n = len(self.videos)
        ignored = f", {ps.ignored} unlabelled s ignored" if ps.ignored else ""
        parts = [format_table(head, rows, title=(
            f"Per second (score >= {format_number(self.label_threshold, 2)} is positive; "
            f"{n} film{'s' if n != 1 else ''}, {ps.support} s{ignored})"))]
        sm = self.segments
        seg_head = ["", "precision", "recall", "f1", "tp", "fp", "fn"]
        ignored_seg = f"; {self.ignored_segments} in unlabelled time ignored" \
            if self.ignored_segments else ""
        parts.append(format_table(seg_head, [
            [f"tIoU {sm.threshold:.2f}", sm.precision, sm.recall, sm.f1, sm.tp, sm.fp, sm.fn]],
            title=(f"Scenes ({sm.n_predictions} found, {sm.n_ground_truth} annotated"
                   f"{ignored_seg})")))
        det = self.detection
        parts.append(format_table(
            ["tIoU", *(f"{t:.2f}" for t in det.thresholds), "mean"],
            [["AP", *det.ap, det.mean_ap]], title="Average precision (ActivityNet)"))
        if self.segmentation is not None:
            seg = self.segmentation
            chosen = " (chosen on validation by train)" if seg.get("chosen_on_validation") else ""
            parts.append(f"Scenes cut with: {seg.get('aggregator')} aggregator, min_length "
                         f"{seg.get('min_length')}, threshold {seg.get('threshold')}{chosen}")
        if self.not_evaluated:
            parts.append(f"Not evaluated (annotated, no prediction): "
                         f"{', '.join(self.not_evaluated)}")
        return "\n\n".join(parts)


def evaluate_predictions(predictions: Mapping[str, Any], annotations: AnnotationSet, *,
                         label_threshold: float = 0.5, tiou: float = 0.5,
                         thresholds: Iterable[float] = TIOU_THRESHOLDS) -> EvaluationReport:
    """Score ``predictions`` (video key -> :class:`VideoPrediction` or ``(scores, segments)``).

    Every predicted video must be one the annotations declare (else :class:`UsageError`); annotated
    videos without a prediction are listed in ``not_evaluated`` and take no part.
    """
    if not 0.0 <= label_threshold <= 1.0:
        raise UsageError(f"label threshold must be in [0, 1], got {label_threshold}")
    declared = set(annotations.videos)
    preds: dict[str, VideoPrediction] = {}
    for video, value in predictions.items():
        key = video_key(video)
        if key not in declared:
            raise UsageError(f"prediction for {video!r}, which the annotations"
                             f"{' in ' + annotations.source if annotations.source else ''} do not "
                             f"list (a film without scenes needs a row with empty start and end)")
        if key in preds:
            raise UsageError(f"two predictions for {key!r}")
        try:
            preds[key] = VideoPrediction.coerce(value)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"prediction for {key!r}: {exc}") from None
    if not preds:
        raise UsageError("no predictions to evaluate")

    per_video: dict[str, BinaryMetrics] = {}
    ground_truth: list[Segment] = []
    detections: list[Segment] = []
    ignored = 0
    for key, pred in preds.items():
        y_true = annotations.labels(key, len(pred.scores))
        per_video[key] = binary_metrics(y_true, pred.scores >= label_threshold)
        film = annotations.for_video(key)
        ground_truth += [Segment(key, a.start, a.end) for a in film if a.label == 1]
        for start, end, score in pred.segments:
            if annotations.explicit_negatives and not any(
                    min(end, a.end) > max(start, a.start) for a in film):
                ignored += 1
                continue
            detections.append(Segment(key, start, end, score))
    pooled = sum(per_video.values(), BinaryMetrics(0, 0, 0, 0))
    return EvaluationReport(
        label_threshold=float(label_threshold),
        videos=tuple(preds),
        per_second=pooled,
        per_video=per_video,
        segments=segment_metrics(ground_truth, detections, tiou),
        detection=detection_map(ground_truth, detections, tuple(thresholds)),
        not_evaluated=tuple(v for v in annotations.videos if v not in preds),
        ignored_segments=ignored,
        explicit_negatives=annotations.explicit_negatives,
        annotations=annotations.source,
    )
