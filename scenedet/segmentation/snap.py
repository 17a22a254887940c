"""Move scene boundaries onto shot cuts.

A per-second scene starts and ends on whole seconds, but an edit happens on a frame: a kiss
begins with a cut, mid-second. Snapping moves each boundary to the nearest shot cut within a
tolerance, so the learned scenes inherit the frame accuracy of a shot detector.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from scenedet.errors import UsageError


def nearest_cut(time: float, cuts: Sequence[float], tolerance: float) -> float | None:
    """The cut in sorted ``cuts`` nearest ``time`` when within ``tolerance`` seconds (ties: earlier)."""
    i = bisect.bisect_left(cuts, time)
    best: float | None = None
    for j in (i - 1, i):
        if 0 <= j < len(cuts):
            d = abs(cuts[j] - time)
            if d <= tolerance and (best is None or d < abs(best - time)):
                best = cuts[j]
    return best


def snap_segments(segments: Sequence[tuple[float, float]], cuts: Sequence[float], *,
                  tolerance: float = 2.0, end: float | None = None) -> list[tuple[float, float]]:
    """Each ``(start, end)`` with both bounds moved to the nearest cut within ``tolerance`` s.

    A bound at the film's start (0) or end (``end``) stays: no cut is needed there. ``segments``
    are sorted and non-overlapping, and so is the result: an end never snaps past the next
    segment's start, a start never before the previous segment's (snapped) end, and a segment
    that snapping would empty keeps its own bounds.
    """
    if tolerance < 0:
        raise UsageError(f"tolerance must be >= 0 seconds, got {tolerance:g}")
    ordered = sorted(float(c) for c in cuts)
    out: list[tuple[float, float]] = []
    for i, (start, stop) in enumerate(segments):
        following = float(segments[i + 1][0]) if i + 1 < len(segments) else float("inf")
        previous_end = out[-1][1] if out else float("-inf")
        new_start = start if start <= 0 else _or(nearest_cut(start, ordered, tolerance), start)
        if new_start < previous_end:
            new_start = start  # the previous end never passed this start, so this one fits
        at_end = end is not None and stop >= end
        new_stop = stop if at_end else _or(nearest_cut(stop, ordered, tolerance), stop)
        if new_stop > following:
            new_stop = stop
        if new_start >= new_stop:
            new_start, new_stop = start, stop
        out.append((float(new_start), float(new_stop)))
    return out


def _or(found: float | None, default: float) -> float:
    return default if found is None else found
