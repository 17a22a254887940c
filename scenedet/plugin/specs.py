"""Value types a plugin hands to ``register(...)``: one spec per component.

A spec names a component and holds a *factory*, not an instance, so that listing plugins never
imports torch or builds a network. ``create_*`` in :mod:`scenedet.plugin._factory` calls the factory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs


def _names(value: Any) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class ExtractorSpec:
    """A per-second input extractor.

    ``factory(**options)`` returns an object following :class:`scenedet.plugin.interfaces.Extractor`.
    ``output`` describes one second's array for people (``"(96, 64) float32 log-mel"``).
    """

    name: str
    factory: Callable[..., Any]
    summary: str = ""
    output: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_names)

    kind = "extractor"


@attrs.frozen(kw_only=True)
class BackboneSpec:
    """A feature backbone: extractor output in, one ``feature_dim`` vector per second out.

    ``factory(weights=..., **options)`` returns a :class:`scenedet.plugin.interfaces.Backbone`. ``input`` names
    the extractor that feeds it. ``modality`` is ``"visual"`` or ``"audio"``. A ``prefix`` backbone
    answers every name ``"<name>:<variant>"`` (``timm:convnext_tiny``) and gets ``variant=`` in
    its factory; its ``feature_dim`` may then be ``None`` (known once built).
    """

    name: str
    factory: Callable[..., Any]
    input: str
    modality: str = attrs.field(validator=attrs.validators.in_(("visual", "audio")))
    feature_dim: int | None
    summary: str = ""
    prefix: bool = False
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_names)

    kind = "backbone"


@attrs.frozen(kw_only=True)
class HeadSpec:
    """A classifier head: ``factory(in_features=..., num_classes=...)`` returns a torch module."""

    name: str
    factory: Callable[..., Any]
    summary: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_names)

    kind = "head"


@attrs.frozen(kw_only=True)
class AggregatorSpec:
    """An aggregator (segmentor).

    ``function(labels, min_length, threshold)`` takes a 1-D ``bool`` NumPy array, an ``int >= 1``
    and a ``fractions.Fraction`` in ``(0, 1]`` (already validated by the host) and returns the
    scenes as ``(start, end)`` pairs of second indices, **end inclusive**, sorted and
    non-overlapping. :func:`scenedet.segment` wraps it with validation and value objects.
    """

    name: str
    function: Callable[..., Any]
    summary: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_names)

    kind = "aggregator"


@attrs.frozen(kw_only=True)
class SceneSpec:
    """A named recipe: which backbones feed which head, and how scenes are cut.

    ``backbones`` are concatenated in this order into the head's input. The numbers are the
    defaults of ``scenedet run``; every one of them can be overridden per call.
    """

    name: str
    backbones: tuple[str, ...] = attrs.field(converter=_names)
    summary: str = ""
    head: str = "linear"
    aggregator: str = "runs"
    min_length: int = 10
    threshold: float = 0.7
    label_threshold: float = 0.5
    labels: tuple[str, str] = ("negative", "positive")
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_names)

    kind = "scene"


@attrs.frozen(kw_only=True)
class DetectorSpec:
    """A frame-level detector: small frames (and optionally audio) in, timed segments out.

    Shot cuts and technical cues need frame-accurate times, not whole seconds: such a detector
    declares its time grid as one picture per decoded frame, scaled to ``width`` x ``height``
    (``0`` x ``0``: no pictures), and ``audio=True`` when it wants the sound. One decode feeds
    every detector of a run (:mod:`scenedet.inference.framerun`).

    ``factory(**options)`` returns an object with ``add_frames(batch)`` (a
    :class:`scenedet.media.frames.FrameBatch`), ``add_audio(chunk)`` (a
    :class:`scenedet.media.frames.AudioChunk`; called only when ``audio``) and
    ``finish(info) -> list[FrameSegment]`` (``info``: :class:`scenedet.media.frames.StreamInfo`).
    The factory receives ``device=`` and ``batch_size=`` only when its signature names them.
    """

    name: str
    factory: Callable[..., Any]
    width: int = 0
    height: int = 0
    audio: bool = False
    summary: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_names)

    kind = "detector"

    @property
    def size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the frames it gets, ``None`` when it wants no pictures."""
        return (self.width, self.height) if self.width and self.height else None


Spec = ExtractorSpec | BackboneSpec | HeadSpec | AggregatorSpec | SceneSpec | DetectorSpec
