"""The ``temporal`` head: a small dilated 1-D convolution stack over a film's per-second features.

The paper's ``linear`` head labels each second alone. A scene lasts tens of seconds and its cues
come and go within it, so this head looks at the seconds around each one: a per-second
projection (the features to ``channels``), then residual blocks of a dilated convolution
(kernel 3, dilations 1, 2, 4, 8, 16 by default) and a pointwise one, then a per-second
classifier. Each block reaches ``dilation`` seconds either side, so a second's score depends on
the ``look_back`` seconds before it and the ``look_ahead`` seconds after it (31 each by default;
``receptive_field`` = 63 s), and on nothing further away.

The sequence is zero-padded at every convolution, at the film's ends; there is no normalisation
across time. That is what makes streaming exact: :mod:`scenedet.inference.sequence` scores a
film chunk by chunk, each chunk with ``look_back`` seconds of features before it and
``look_ahead`` after, and gets what scoring the whole film at once gives.

``forward`` takes ``(T, F)`` (one sequence) or ``(N, T, F)`` (a batch of sequences) and returns
logits per second; while :func:`scenedet.inference.sequence.streamed` holds it, a ``(B, F)``
batch of seconds from the run's pipeline is handed to the stream instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

DEFAULT_DILATIONS = (1, 2, 4, 8, 16)


class _Block(nn.Module):
    """``h + pointwise(relu(dilated(h)))``, then ReLU: reaches ``dilation`` seconds either side."""

    def __init__(self, channels: int, dilation: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.dilated = nn.Conv1d(channels, channels, kernel, dilation=dilation,
                                 padding=dilation * (kernel - 1) // 2)
        self.pointwise = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.relu(h + self.dropout(self.pointwise(torch.relu(self.dilated(h)))))


class TemporalHead(nn.Module):
    """Per-second logits from a window of seconds around each one (see the module docstring)."""

    def __init__(self, *, in_features: int, num_classes: int = 2, channels: int = 64,
                 dilations: Sequence[int] = DEFAULT_DILATIONS, kernel: int = 3,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel must be odd, got {kernel}")
        self.num_classes = num_classes
        self.project = nn.Linear(in_features, channels)
        self.blocks = nn.ModuleList(_Block(channels, d, kernel, dropout) for d in dilations)
        self.classify = nn.Linear(channels, num_classes)
        reach = sum(d * (kernel - 1) // 2 for d in dilations)
        #: Seconds before / after a second that its score depends on.
        self.look_back = self.look_ahead = reach
        #: Seconds one score sees: ``look_back + 1 + look_ahead``.
        self.receptive_field = 2 * reach + 1
        #: Set by :func:`scenedet.inference.sequence.streamed` while a run streams through it.
        self.stream: Any = None

    def sequence(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(T, C)`` for ``x`` ``(T, F)``, or ``(N, T, C)`` for ``(N, T, F)``: each row a
        whole sequence, zero-padded at its ends."""
        one = x.dim() == 2
        h = self.project(x[None] if one else x).transpose(1, 2)
        for block in self.blocks:
            h = block(h)
        out = self.classify(h.transpose(1, 2))
        return out[0] if one else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stream is not None and x.dim() == 2:
            # A batch of consecutive seconds from the run's pipeline: the stream scores them once
            # their look-ahead has arrived; these placeholder logits are replaced by its scores.
            self.stream.push(x)
            return x.new_zeros((x.shape[0], self.num_classes))
        return self.sequence(x)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the ``with`` body on one intra-op thread, then restore torch's setting.

    The head's convolutions are small (64 channels, a few hundred seconds): split over threads
    they spend more time synchronising than computing, and on a busy machine far more (measured
    in docs/performance.md). Process-wide, as torch's setting is, for the body's duration only.
    """
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def temporal_head(*, in_features: int, num_classes: int = 2) -> TemporalHead:
    """The registered ``temporal`` head's factory (its defaults: 64 channels, dilations 1-16)."""
    return TemporalHead(in_features=in_features, num_classes=num_classes)


def sequence_logits(head: Any, features: torch.Tensor) -> torch.Tensor:
    """A whole film's logits ``(T, C)`` from its features ``(T, F)``, for any head: a sequence
    head sees the film at once, a per-second one (``linear``) each row alone."""
    if hasattr(head, "sequence"):
        return head.sequence(features)
    return head(features)


def context_of(head: Any) -> tuple[int, int]:
    """``(look_back, look_ahead)`` seconds a head's score depends on; ``(0, 0)`` per second."""
    return int(getattr(head, "look_back", 0)), int(getattr(head, "look_ahead", 0))
