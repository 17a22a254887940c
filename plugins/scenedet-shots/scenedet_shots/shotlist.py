"""From cut frames to shots: the segments both detectors return, from a run or a re-cut."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from scenedet.plugin import FrameSegment


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Each maximal run of ``True`` in ``mask`` as ``(first, last)`` indices, inclusive."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[0::2], edges[1::2])]


def shots_from_cuts(cuts: Sequence[tuple[int, float]], times: np.ndarray, n_frames: int,
                    duration: float) -> list[FrameSegment]:
    """Shots ``[cut_k, cut_k+1)`` for sorted ``(frame, confidence)`` cuts; the first shot starts
    at frame 0 with no score (no cut opens it)."""
    if n_frames == 0:
        return []
    bounds = [(0, None)] + [(int(f), float(c)) for f, c in cuts if 0 < f < n_frames]
    out = []
    for k, (start, score) in enumerate(bounds):
        end = bounds[k + 1][0] if k + 1 < len(bounds) else n_frames
        out.append(FrameSegment(start=float(times[start]),
                                end=float(times[end]) if end < n_frames else float(duration),
                                start_frame=start, end_frame=end, score=score))
    return out


def nominal_times(n_frames: int, fps: Any) -> np.ndarray:
    """Seconds of frames ``0 .. n_frames - 1`` at ``fps`` (exact: ``Fraction(fps)``), each the
    float nearest ``k / fps``, which is the time a constant-rate film's own timestamps give."""
    rate = Fraction(fps)
    if rate <= 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    return np.arange(int(n_frames), dtype=np.int64) * rate.denominator / rate.numerator


def rounded_scores(values: Any) -> np.ndarray:
    """Per-frame scores as the result keeps them (float64, rounded to 6 decimals): a detector
    cuts from these, so re-cutting the saved file gives exactly its segments."""
    return np.round(np.asarray(values, dtype=np.float64).reshape(-1), 6)


def recut_duration(n_frames: int, fps: Any, duration: float | None) -> float:
    """``duration`` or, when not known, ``n_frames`` frames at ``fps``."""
    return float(duration) if duration is not None else float(Fraction(int(n_frames)) / Fraction(fps))


class FrameClock:
    """Keeps every frame's time (8 bytes a frame: the only per-frame state a detector holds)."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []

    def add(self, times: np.ndarray) -> None:
        self._parts.append(np.asarray(times, dtype=np.float64))

    def times(self) -> np.ndarray:
        return np.concatenate(self._parts) if self._parts else np.zeros(0)
