"""Value types a plugin hands to ``register(...)``: one spec per component.

A spec names a component and holds a *factory*, not an instance, so that listing plugins never
imports torch or builds a network. ``create_*`` in :mod:`scenedet.plugin._factory` calls the factory.

Every field is checked when the spec is built: a malformed spec raises :class:`SpecError` with a
one-line reason right there, inside the plugin's hook, so the host can refuse it and say why
instead of accepting it and failing later, in the middle of a film.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import attrs

from scenedet.errors import UsageError
from scenedet.plugin.options import OptionSpec, check_declared
from scenedet.values import to_fraction, to_label_threshold, to_min_length

MODALITIES = ("visual", "audio")


class SpecError(UsageError, TypeError):
    """A spec field that cannot work (an empty name, a non-callable factory, ``min_length=0``).

    A ``ValueError`` (through :class:`UsageError`) and a ``TypeError``, so callers who catch
    either keep working.
    """


def _fail(instance: Any, attribute: attrs.Attribute, reason: str) -> None:
    name = getattr(instance, "name", None)
    owner = f"{type(instance).__name__}({name!r})" if isinstance(name, str) and name else type(instance).__name__
    raise SpecError(f"{owner}: {attribute.name} {reason}")


def _bad_name(value: Any) -> str | None:
    """Why ``value`` cannot be a component name (``None`` when it can)."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__} {value!r}"
    if not value:
        return "must not be empty"
    if value != value.strip() or any(c.isspace() for c in value) or ":" in value:
        return f"must be one word without spaces or ':', got {value!r}"
    return None


def _name(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    reason = _bad_name(value)
    if reason:
        _fail(instance, attribute, reason)


def _reference(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """A name of another component; ``timm:convnext_tiny`` (prefix and variant) is allowed."""
    head, _, variant = value.partition(":") if isinstance(value, str) else (value, "", "")
    reason = _bad_name(head) or (f"has an empty variant after ':', got {value!r}"
                                 if isinstance(value, str) and ":" in value and not variant else None)
    if reason:
        _fail(instance, attribute, reason)


def _names(value: Any) -> Any:
    """A list becomes a tuple; anything else but a tuple is left for :func:`_each` to refuse."""
    return tuple(value) if isinstance(value, list) else value


def _each(check: Callable[[Any, attrs.Attribute, Any], None]):
    """A tuple of names, each passing ``check``; a plain string is refused, not split into letters."""
    def validate(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if isinstance(value, str):
            _fail(instance, attribute, f"must be a tuple of names, got the string {value!r} "
                                       f"(write ({value!r},) for one)")
        if not isinstance(value, tuple):
            _fail(instance, attribute, f"must be a tuple of names, got {type(value).__name__} {value!r}")
        for item in value:
            check(instance, attribute, item)
    return validate


def _non_empty(instance: Any, attribute: attrs.Attribute, value: tuple[Any, ...]) -> None:
    if not value:
        _fail(instance, attribute, "must name at least one component")


def _callable(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not callable(value):
        _fail(instance, attribute, f"must be callable, got {type(value).__name__} {value!r}")


def _text(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str):
        _fail(instance, attribute, f"must be a string, got {type(value).__name__} {value!r}")


def _flag(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, bool):
        _fail(instance, attribute, f"must be True or False, got {value!r}")


def _modality(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value not in MODALITIES:
        _fail(instance, attribute, f"must be one of {', '.join(map(repr, MODALITIES))}, got {value!r}")


def _feature_dim(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1
    if value is not None and not ok:
        _fail(instance, attribute, f"must be a whole number >= 1 (or None for a prefix backbone), got {value!r}")


def _setting(check: Callable[[Any, str], Any]):
    """A scene default checked exactly as ``scenedet run`` will check it, so it cannot fail later."""
    def validate(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        try:
            check(value, attribute.name)
        except UsageError as exc:
            _fail(instance, attribute, str(exc).removeprefix(attribute.name + " "))
    return validate


def _labels(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, tuple) or len(value) != 2 or not all(isinstance(v, str) and v for v in value):
        _fail(instance, attribute, f"must be two non-empty strings (negative, positive), got {value!r}")


def _name_field() -> Any:
    return attrs.field(validator=_name)


def _aliases_field() -> Any:
    return attrs.field(default=(), converter=_names, validator=_each(_name))


def _summary_field() -> Any:
    return attrs.field(default="", validator=_text)


@attrs.frozen(kw_only=True)
class ExtractorSpec:
    """A per-second input extractor.

    ``factory(**options)`` returns an object following :class:`scenedet.plugin.interfaces.Extractor`.
    ``output`` describes one second's array for people (``"(96, 64) float32 log-mel"``).
    """

    name: str = _name_field()
    factory: Callable[..., Any] = attrs.field(validator=_callable)
    summary: str = _summary_field()
    output: str = attrs.field(default="", validator=_text)
    aliases: tuple[str, ...] = _aliases_field()

    kind = "extractor"


@attrs.frozen(kw_only=True)
class BackboneSpec:
    """A feature backbone: extractor output in, one ``feature_dim`` vector per second out.

    ``factory(weights=..., **options)`` returns a :class:`scenedet.plugin.interfaces.Backbone`. ``input`` names
    the extractor that feeds it. ``modality`` is ``"visual"`` or ``"audio"``. A ``prefix`` backbone
    answers every name ``"<name>:<variant>"`` (``timm:convnext_tiny``) and gets ``variant=`` in
    its factory; its ``feature_dim`` may then be ``None`` (known once built).
    """

    name: str = _name_field()
    factory: Callable[..., Any] = attrs.field(validator=_callable)
    input: str = attrs.field(validator=_reference)
    modality: str = attrs.field(validator=_modality)
    feature_dim: int | None = attrs.field(validator=_feature_dim)
    summary: str = _summary_field()
    prefix: bool = attrs.field(default=False, validator=_flag)
    aliases: tuple[str, ...] = _aliases_field()

    kind = "backbone"


@attrs.frozen(kw_only=True)
class HeadSpec:
    """A classifier head: ``factory(in_features=..., num_classes=...)`` returns a torch module."""

    name: str = _name_field()
    factory: Callable[..., Any] = attrs.field(validator=_callable)
    summary: str = _summary_field()
    aliases: tuple[str, ...] = _aliases_field()

    kind = "head"


@attrs.frozen(kw_only=True)
class AggregatorSpec:
    """An aggregator (segmentor).

    ``function(labels, min_length, threshold)`` takes a 1-D ``bool`` NumPy array, an ``int >= 1``
    and a ``fractions.Fraction`` in ``(0, 1]`` (already validated by the host) and returns the
    scenes as ``(start, end)`` pairs of second indices, **end exclusive** (half-open, as
    :class:`~scenedet.plugin.Segment`), sorted and non-overlapping. :func:`scenedet.segment` wraps it with validation and value objects.
    """

    name: str = _name_field()
    function: Callable[..., Any] = attrs.field(validator=_callable)
    summary: str = _summary_field()
    aliases: tuple[str, ...] = _aliases_field()

    kind = "aggregator"


@attrs.frozen(kw_only=True)
class SceneSpec:
    """A named recipe: which backbones feed which head, and how scenes are cut.

    ``backbones`` are concatenated in this order into the head's input. The numbers are the
    defaults of ``scenedet run``; every one of them can be overridden per call.
    """

    name: str = _name_field()
    backbones: tuple[str, ...] = attrs.field(converter=_names, validator=[_each(_reference), _non_empty])
    summary: str = _summary_field()
    head: str = attrs.field(default="linear", validator=_reference)
    aggregator: str = attrs.field(default="runs", validator=_reference)
    min_length: int = attrs.field(default=10, validator=_setting(to_min_length))
    threshold: float = attrs.field(default=0.7, validator=_setting(to_fraction))
    label_threshold: float = attrs.field(default=0.5, validator=_setting(to_label_threshold))
    labels: tuple[str, str] = attrs.field(default=("negative", "positive"), converter=_names,
                                          validator=_labels)
    aliases: tuple[str, ...] = _aliases_field()

    kind = "scene"


def _suffixes(value: Any) -> Any:
    """``"edl"``, ``".EDL"`` or a tuple of them -> ``(".edl",)``; anything else is left for
    :func:`_suffix_list` to refuse."""
    items = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, (tuple, list)) else value
    if not isinstance(items, tuple) or not all(isinstance(s, str) for s in items):
        return value
    return tuple(s.lower() if s.startswith(".") else "." + s.lower() for s in items)


def _suffix_list(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """One or more suffixes, each ``.part`` or several (``.yt.txt``), no empty part, no spaces."""
    if not isinstance(value, tuple) or not all(isinstance(s, str) for s in value):
        _fail(instance, attribute, f"must be a suffix or a tuple of suffixes, got {value!r}")
    if not value:
        _fail(instance, attribute, "must name at least one suffix, e.g. ('.md',)")
    for suffix in value:
        parts = suffix.split(".")[1:]
        if not all(parts) or any(c.isspace() or c in "/\\" for c in suffix):
            _fail(instance, attribute, f"has a malformed suffix {suffix!r}: write '.ext' or "
                                       "'.part.ext', without spaces or slashes")
    if len(set(value)) != len(value):
        _fail(instance, attribute, f"repeats a suffix: {value!r}")


@attrs.frozen(kw_only=True)
class ExporterSpec:
    """An output format, chosen by the suffix of the output path (``-o film.edl``).

    ``function(scenes)`` takes a :class:`scenedet.outputs.SceneList` (the scenes with frames,
    timecodes and the film's frame rate) and returns the file's content, ``str`` (written as
    UTF-8) or ``bytes``; the host writes it atomically. ``suffixes`` are matched
    case-insensitively, with or without the dot (``(".edl",)``), and may have several parts
    (``(".yt.txt",)``): the longest suffix that matches an output path wins, so ``film.yt.txt``
    goes to the exporter of ``.yt.txt`` even where another claims ``.txt``. A suffix two plugins
    claim goes to the one of higher precedence (the core's first) and is reported as a clash.
    """

    name: str = _name_field()
    suffixes: tuple[str, ...] = attrs.field(converter=_suffixes, validator=_suffix_list)
    function: Callable[..., Any] = attrs.field(validator=_callable)
    summary: str = _summary_field()
    aliases: tuple[str, ...] = _aliases_field()

    kind = "exporter"


def _options(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    reason = check_declared(instance.name, value, getattr(instance, "factory", None))
    if reason:
        _fail(instance, attribute, reason)


def _options_field() -> Any:
    return attrs.field(default=(), converter=_names, validator=_options)


@attrs.frozen(kw_only=True)
class DetectorSpec:
    """A frame-level detector: small frames (and optionally audio) in, timed segments out.

    Shot cuts and technical cues need frame-accurate times, not whole seconds: such a detector
    declares its time grid as one picture per decoded frame, scaled to ``width`` x ``height``
    (``0`` x ``0``: no pictures), and ``audio=True`` when it wants the sound. One decode feeds
    every detector of a run (:mod:`scenedet.inference.framerun`).

    ``factory(**options)`` returns an object with ``add_frames(batch)`` (a
    :class:`scenedet.media.frames.stream.FrameBatch`), ``add_audio(chunk)`` (a
    :class:`scenedet.media.frames.stream.AudioChunk`; called only when ``audio``) and
    ``finish(info) -> list[FrameSegment]`` (``info``: :class:`scenedet.media.frames.stream.StreamInfo`):
    the :class:`scenedet.plugin.interfaces.Detector` protocol.

    ``options`` declares the keywords a person may give the factory (``-O KEY=VALUE``), each an
    :class:`~scenedet.plugin.options.OptionSpec`; :func:`~scenedet.plugin.options.check_options`
    converts and checks them before the factory is called. With none declared, keys are passed
    through as typed. The factory receives ``device=`` and ``batch_size=`` only when its
    signature names them: those are the run's offers, never declared options.

    The result model (``docs/outputs.md``), two optional fields:

    * ``shots``: the detector's segments are shots, so each one's start but the first is a cut
      (its result lists ``cuts``; ``scenedet evaluate --annotations cuts.csv`` scores it). Other
      detectors (black, silence, flicker) find intervals, not cuts.
    * ``resegment``: re-cuts a saved result without the film. A detector that keeps per-frame
      scores (an attribute ``scores`` after ``finish()``: a 1-D float array, one per frame
      decoded, written into its result) may give ``resegment(scores, *, fps, duration,
      **options) -> list[FrameSegment]``: the segments ``finish()`` would have returned for
      these scores with these options (share one function with ``finish()``). ``scores[0]`` is
      the first frame decoded, ``fps`` the exact frame rate (a ``Fraction``), ``duration`` the
      seconds decoded; segments count frames and seconds from the first frame decoded, as
      ``finish()``'s do, and the host moves both to film time. ``options``: the run's recorded
      settings the function names, then the caller's. ``scenedet segment`` calls it.
    """

    name: str = _name_field()
    factory: Callable[..., Any] = attrs.field(validator=_callable)
    width: int = 0
    height: int = 0
    audio: bool = False
    summary: str = _summary_field()
    aliases: tuple[str, ...] = _aliases_field()
    options: tuple[OptionSpec, ...] = _options_field()
    # -- the result model (docs/outputs.md) --
    shots: bool = attrs.field(default=False, validator=_flag)
    resegment: Callable[..., Any] | None = attrs.field(
        default=None, validator=attrs.validators.optional(_callable))

    kind = "detector"

    @property
    def size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the frames it gets, ``None`` when it wants no pictures."""
        return (self.width, self.height) if self.width and self.height else None


Spec = (ExtractorSpec | BackboneSpec | HeadSpec | AggregatorSpec | SceneSpec | ExporterSpec
        | DetectorSpec)
