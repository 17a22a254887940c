"""Streaming a sequence head (``temporal``) over a film: scores chunk by chunk, flat memory.

The run's pipeline hands the scene model batches of consecutive seconds and keeps one float per
second. A per-second head scores each batch alone; a sequence head needs the seconds around each
one. :func:`streamed` puts a :class:`StreamingScorer` on the head for the length of one film: the
head passes each batch of features to it, and it scores every second whose ``look_ahead``
seconds have arrived, over a window that starts ``look_back`` seconds before the first second it
scores. The window's own zero padding then never reaches a score it emits (each convolution
moves the padding's influence inward by its reach; both margins are the sum of the reaches), so
the scores equal scoring the whole film at once (``tests/test_temporal_head.py`` checks it within
1e-5 over film lengths and batch sizes). It scores at least ``chunk`` seconds at a time (256).
Memory: at most ``look_back + chunk + batch + look_ahead`` rows of features, whatever the film's
length. The last ``look_ahead`` seconds wait for the film's end
(:meth:`StreamingScorer.finish`), where the padding is the film's own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from scenedet.errors import UsageError
from scenedet.inference.temporal import context_of, one_thread


def is_sequence_head(head: Any) -> bool:
    """Whether ``head`` scores a sequence (and can stream): it has ``sequence`` and ``stream``."""
    return hasattr(head, "sequence") and hasattr(head, "stream")


#: Seconds scored at once (at least): each window costs its look-back and look-ahead again, and
#: each switch to one thread costs a little (docs/performance.md), so a few long windows beat
#: one per batch of 16. 256 rows of 640 floats: 0.7 MB.
CHUNK = 256


class StreamingScorer:
    """Positive-class probabilities of a film's seconds from its features, pushed in order."""

    def __init__(self, head: Any, *, chunk: int | None = None) -> None:
        self.head = head
        self.chunk = max(1, int(CHUNK if chunk is None else chunk))
        self.look_back, self.look_ahead = context_of(head)
        self._buffer: torch.Tensor | None = None
        self._buffer_start = 0  # the film second of the buffer's first row
        self.received = 0
        self.emitted = 0
        self._scores: list[np.ndarray] = []

    @property
    def buffered(self) -> int:
        """Rows of features held now (at most ``look_back + chunk + batch + look_ahead``)."""
        return 0 if self._buffer is None else int(self._buffer.shape[0])

    def push(self, features: torch.Tensor) -> None:
        """The features ``(B, F)`` of the next ``B`` seconds; scores what they complete."""
        rows = features.detach().float()
        self._buffer = rows if self._buffer is None else torch.cat([self._buffer, rows])
        self.received += int(rows.shape[0])
        if self.received - self.look_ahead - self.emitted >= self.chunk:
            self._emit(self.received - self.look_ahead)

    def finish(self) -> np.ndarray:
        """Score the seconds still waiting (the film has ended) and return every score."""
        self._emit(self.received)
        self._buffer = None
        return (np.concatenate(self._scores) if self._scores
                else np.zeros(0, dtype=np.float32))

    def _emit(self, stop: int) -> None:
        """Score seconds ``[emitted, stop)`` over the window from ``look_back`` before them to
        the last second received, then drop the rows no later score needs."""
        if stop <= self.emitted or self._buffer is None:
            return
        first = max(0, self.emitted - self.look_back)
        window = self._buffer[first - self._buffer_start:]
        # inference mode: finish() may come after the pipeline's; one thread: small convolutions
        with torch.inference_mode(), one_thread():
            logits = self.head.sequence(window)
            scores = torch.softmax(logits.float(), dim=-1)[self.emitted - first:stop - first, 1]
        self._scores.append(scores.cpu().numpy().astype(np.float32))
        self.emitted = stop
        keep_from = max(0, stop - self.look_back)
        self._buffer = self._buffer[keep_from - self._buffer_start:]
        self._buffer_start = keep_from


def check_streamable(head: Any, *, precision: str = "fp32", speedup: str = "none") -> None:
    """Refuse, in one line, what a sequence head cannot stream under (a per-second head passes):
    a speed-up (it runs a copy of the head) or ``precision="auto"`` (it scores some batches twice)."""
    if not is_sequence_head(head):
        return
    if speedup not in (None, "none"):
        raise UsageError(f"speed-up {speedup!r} is not available for a {type(head).__name__} "
                         f"(a sequence head): run it without a speed-up")
    if precision == "auto":
        raise UsageError("precision 'auto' is not available for a sequence head (it scores some "
                         "batches twice): use fp32 or fp16")


@contextlib.contextmanager
def streamed(model: Any, *, precision: str = "fp32",
             speedup: str = "none") -> Iterator[StreamingScorer | None]:
    """For one film: a :class:`StreamingScorer` fed by ``model.head`` as the pipeline runs the
    model, or ``None`` for a per-second head (nothing changes). After the film, the caller takes
    the scores from :meth:`StreamingScorer.finish` instead of the pipeline's per-batch ones.

    A sequence head is scored once per batch, in float32: ``precision="auto"`` (which scores
    some batches twice) and the speed-ups (which run a copy of the head) are refused.
    """
    head = model.head
    if not is_sequence_head(head):
        yield None
        return
    check_streamable(head, precision=precision, speedup=speedup)
    scorer = StreamingScorer(head)
    head.stream = scorer
    try:
        yield scorer
    finally:
        head.stream = None
