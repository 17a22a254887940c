"""bf16 windows with the fp32 cuts: :class:`GuardedBf16`.

TransNetV2's cuts depend on its probabilities in three ways only: which frames exceed the
threshold, which frame of each run above it is the most probable (the cut goes after it), and
whether a run's peak is under ``flash_confidence``. bf16 moves the probabilities a little
(the largest difference from fp32 measured on the test film is in ``docs/performance.md``).
A window whose bf16 probabilities leave every one of those decisions at least :data:`MARGIN`
away from changing keeps them; any other window is run again in fp32 and its fp32
probabilities are kept. A run of frames above the threshold that touches either end of a
window's kept frames may go on in the neighbouring window, whose values its peak is compared
with: such a window is re-run too (so is the neighbour, which touches the same run). The cuts
are then those of fp32 whenever bf16 is within :data:`MARGIN` of fp32 on every frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scenedet_shots.shotlist import true_runs

#: How far a bf16 probability may be from fp32's for the guard's promise to hold: several times
#: the largest difference measured (``docs/performance.md``).
MARGIN = 0.02
WINDOW, STEP, CONTEXT = 100, 50, 25


def needs_fp32(probs: np.ndarray, threshold: float, flash_confidence: float,
               margin: float = MARGIN) -> bool:
    """Whether a window's kept probabilities (bf16) leave a cut decision within ``margin`` of
    changing."""
    p = np.asarray(probs, np.float64)
    if np.any(np.abs(p - threshold) < margin):
        return True
    above = p > threshold
    if not above.any():
        return False
    if above[0] or above[-1]:
        return True
    if flash_confidence > 0 and np.any(above & (np.abs(p - flash_confidence) < margin)):
        return True
    for i, j in true_runs(above):
        if j > i:
            top2 = np.sort(p[i:j + 1])[-2:]
            if top2[1] - top2[0] < 2 * margin:
                return True
    return False


class GuardedBf16:
    """Runs batches of windows in bf16 (``fast``), re-running in fp32 the windows that
    :func:`needs_fp32`; ``counts``: windows re-run in fp32, windows in all."""

    def __init__(self, fast: Any, threshold: float, flash_confidence: float) -> None:
        self.fast, self.threshold, self.flash_confidence = fast, threshold, flash_confidence
        self.counts = [0, 0]

    def __call__(self, windows: np.ndarray, exact: Any) -> np.ndarray:
        """The kept probabilities ``[len(windows), 50]``; ``exact``: the fp32 network."""
        probs = np.asarray(self.fast(windows), np.float32)[:, CONTEXT:CONTEXT + STEP].copy()
        again = [k for k, row in enumerate(probs)
                 if needs_fp32(row, self.threshold, self.flash_confidence)]
        if again:
            exact_probs = np.asarray(exact(windows[again]), np.float32)
            probs[again] = exact_probs[:, CONTEXT:CONTEXT + STEP]
        self.counts[0] += len(again)
        self.counts[1] += len(windows)
        return probs
