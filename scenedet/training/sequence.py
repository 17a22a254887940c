"""Training a sequence head (``temporal``) from the feature cache, on windows of the films.

A sequence head learns from runs of consecutive seconds, not shuffled single seconds: an epoch
shuffles *windows* (``WINDOW`` seconds, starting every ``STRIDE`` seconds, so each second is in
several), and each window is given to the head with ``look_back`` seconds of features before it
and ``look_ahead`` after it (fewer at the film's ends), its loss counted on the window's own
seconds only. The head therefore sees, for every second it learns from, exactly the context it
sees in a run (the film's zero padding at the film's ends, real features elsewhere). No film is
decoded again: the features come from the memory-mapped cache, and the standardisation is
folded into the head's per-second projection afterwards, as for the linear head.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scenedet.inference.temporal import context_of
from scenedet.training.trainers import Film, HeadTrainer

#: Seconds of a training window (the loss is counted on these) and between window starts.
WINDOW = 64
STRIDE = 16
#: Seconds of windows per optimiser step, relative to the per-second batch size.
SECONDS_PER_WINDOW_ROW = 16


class SequenceTrainer(HeadTrainer):
    """Windows of cached features with their context; only the (sequence) head learns."""

    def index(self, films: Sequence[Film]) -> np.ndarray:
        """``(film, first second)`` of every window holding a labelled second."""
        rows = [(i, s) for i, f in enumerate(films) for s in range(0, len(f.labels), STRIDE)
                if (f.labels[s:s + WINDOW] >= 0).any()]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 2)

    def step(self, batch_size: int) -> int:
        """A batch of 64 seconds is 4 windows of 64 seconds: the same order of seconds per step
        would be 1-2 steps an epoch on a small dataset."""
        return max(1, batch_size // SECONDS_PER_WINDOW_ROW)

    def threads(self) -> Any:
        """One intra-op thread: a window's convolutions are too small to split (the CPU path;
        on CUDA the setting does not matter)."""
        from scenedet.inference.temporal import one_thread

        return one_thread()

    def batch(self, films: Sequence[Film], pairs: np.ndarray, *, augment: bool
              ) -> tuple[list[Any], Any]:
        """Each window's features with its context (a list: windows differ in length) and the
        labels of all their rows concatenated, ``-1`` (ignored) outside the windows."""
        import torch

        back, ahead = context_of(self.model.head)
        inputs, labels = [], []
        for f, start in pairs:
            film = films[f]
            n = len(film.labels)
            stop = min(n, start + WINDOW)
            first, last = max(0, start - back), min(n, stop + ahead)
            rows = np.concatenate([np.asarray(a[first:last], dtype=np.float32)
                                   for a in film.arrays], 1)
            if self.mean is not None and self.std is not None:
                rows = (rows - self.mean) / self.std
            y = np.full(last - first, -1, dtype=np.int64)
            y[start - first:stop - first] = film.labels[start:stop]
            inputs.append(torch.from_numpy(np.ascontiguousarray(rows)))
            labels.append(torch.from_numpy(y))
        return inputs, torch.cat(labels)

    def logits(self, x: Any) -> Any:
        import torch

        return torch.cat([self.model.head.sequence(w.to(self.device)) for w in x])

    def evaluate(self, films: Sequence[Film], batch_size: int) -> dict[str, Any]:
        """Per-second precision, recall and F1 of whole films scored at once (argmax)."""
        from scenedet.training.trainers import _f1_of

        truth, preds = [], []
        for film in films:
            labelled = film.labels >= 0
            truth.append(film.labels[labelled])
            preds.append((self.film_scores(film)[labelled] > 0.5).astype(np.int8))
        if not truth:
            return _f1_of(np.zeros(0, np.int8), np.zeros(0, np.int8))
        return _f1_of(np.concatenate(truth), np.concatenate(preds))
