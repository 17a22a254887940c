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


def _suffixes(value: Any) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value)
    out = tuple(s.lower() if s.startswith(".") else "." + s.lower() for s in items)
    if not out:
        raise ValueError("an exporter needs at least one suffix")
    return out


@attrs.frozen(kw_only=True)
class ExporterSpec:
    """An output format, chosen by the suffix of the output path (``-o film.edl``).

    ``function(scenes)`` takes a :class:`scenedet.outputs.SceneList` (the scenes with frames,
    timecodes and the film's frame rate) and returns the file's content, ``str`` (written as
    UTF-8) or ``bytes``; the host writes it atomically. ``suffixes`` are matched
    case-insensitively, with or without the dot (``(".edl",)``).
    """

    name: str
    suffixes: tuple[str, ...] = attrs.field(converter=_suffixes)
    function: Callable[..., Any]
    summary: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_names)

    kind = "exporter"


Spec = ExtractorSpec | BackboneSpec | HeadSpec | AggregatorSpec | SceneSpec | ExporterSpec
