"""The core's own aggregator, ``runs``: each unbroken run of positive seconds long enough is a scene.

It is the default of :class:`~scenedet.plugin.SceneSpec` and :func:`scenedet.segment`, so a scene
plugin that depends on scenedet alone works with defaults. Every run is 100 % positive, so the
density threshold is always met; use a gap-tolerant aggregator (the reference set's ``interval``,
Algorithm 1 of the paper) to bridge short negative gaps inside a scene.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def positive_runs(labels: np.ndarray, min_length: int, threshold: Fraction) -> list[tuple[int, int]]:
    """Maximal runs of ``True`` at least ``min_length`` long, as half-open ``(start, end)`` pairs."""
    padded = np.concatenate(([False], np.asarray(labels, dtype=bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    keep = (ends - starts) >= min_length
    return [(int(s), int(e)) for s, e in zip(starts[keep], ends[keep])]
