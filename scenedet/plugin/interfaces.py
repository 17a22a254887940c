"""The contracts between components. Plugins implement these; the pipeline only calls these.

Data path for one film (see docs/architecture.md)::

    decoder --Second--> Extractor --array--> Backbone.preprocess --tensor--> Backbone (batched)
        --features--> concatenate --> Head --logits--> softmax --> scores --> Aggregator --> scenes

and for frame-level detectors, one decode of every frame, small::

    decoder --FrameBatch, AudioChunk--> Detector.add_frames / add_audio
        --finish(StreamInfo)--> [FrameSegment, ...]

A result is written by an :class:`Exporter` chosen by the output path's suffix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import torch

    from scenedet.media.frames.stream import AudioChunk, FrameBatch, FrameSegment, StreamInfo
    from scenedet.media.types import MediaRequest, Second
    from scenedet.outputs import SceneList


@runtime_checkable
class Extractor(Protocol):
    """Turns each :class:`~scenedet.media.types.Second` into one array (the backbone's input).

    An extractor may keep state across seconds of one film (a rolling clip), so ``reset()`` is
    called before each film. ``request`` tells the decoder what to decode.
    """

    name: str
    request: MediaRequest

    def reset(self) -> None: ...

    def __call__(self, second: Second) -> np.ndarray: ...


@runtime_checkable
class Backbone(Protocol):
    """A ``torch.nn.Module`` in eval mode mapping a batch of inputs to ``(B, feature_dim)``.

    ``preprocess`` turns one extractor output into a CPU tensor (resize, crop, normalise); the
    pipeline runs it on the decoding thread, so it must not touch the GPU. ``input`` is the name
    of the extractor that feeds it; ``weights_id`` says which weights it carries (recorded in
    model files so a head is never used over different backbone weights).
    """

    name: str
    input: str
    feature_dim: int
    weights_id: str

    def preprocess(self, item: np.ndarray) -> torch.Tensor: ...

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Detector(Protocol):
    """A frame-level detector, as ``DetectorSpec.factory(**options)`` returns it (one per film).

    The run calls, in film order, ``add_frames(batch)`` for each
    :class:`~scenedet.media.frames.stream.FrameBatch` (only when the spec asked for pictures:
    ``width`` x ``height``; ``batch.frames((width, height))`` is ``(n, height, width, 3)`` uint8
    RGB, ``batch.index`` the film index of the batch's first frame, ``batch.times`` each frame's
    time in seconds) and ``add_audio(chunk)`` for each :class:`~scenedet.media.frames.stream.AudioChunk`
    (only when the spec has ``audio=True``), then ``finish(info)`` once, with the
    :class:`~scenedet.media.frames.stream.StreamInfo` of the pass; it returns the found intervals as
    :class:`~scenedet.media.frames.stream.FrameSegment` values (``FrameSegment(start=, end=,
    start_frame=None, end_frame=None, score=None, label="")``, half-open). A detector keeps only
    a few frames between calls: memory must stay flat with the film's length.

    Optional: a ``settings`` dict attribute. It is recorded in the result's ``settings``, over the
    options the run passed (``device`` excepted): put there what the result depends on and the
    options do not say, such as the defaults in effect (``{"threshold": 0.5}``) or a model's
    name, so that a result file says how it was made. Plain JSON values only.
    """

    def add_frames(self, batch: FrameBatch) -> None: ...

    def add_audio(self, chunk: AudioChunk) -> None: ...

    def finish(self, info: StreamInfo) -> list[FrameSegment]: ...


@runtime_checkable
class Exporter(Protocol):
    """An output format's function, as ``ExporterSpec.function`` holds it.

    ``function(scenes)`` gets a :class:`scenedet.outputs.SceneList` (the film, its frame rate,
    the settings and the scenes with seconds, frames and timecodes) and returns the file's whole
    content: ``str`` (written as UTF-8) or ``bytes``. The host writes it atomically; an exporter
    never opens the output itself. An exception it raises is one line naming the exporter, and no
    file is left behind.
    """

    def __call__(self, scenes: SceneList) -> str | bytes: ...
