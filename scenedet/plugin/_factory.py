"""timm-style ``list_*`` / ``create_*`` functions over the components that plugins register.

These are the calls a user or another plugin makes: ``create_backbone("resnet18")`` works in any
plugin without importing the plugin that registered it.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from scenedet.errors import ScenedetError, UnknownComponentError, UsageError
from scenedet.plugin._host import exporter_precedence, get_host
from scenedet.plugin._problems import describe
from scenedet.plugin.options import RUN_KEYWORDS, check_options
from scenedet.plugin.specs import (AggregatorSpec, BackboneSpec, DetectorSpec, ExporterSpec,
                                   ExtractorSpec, HeadSpec, SceneSpec)


def _registry(kind: str):
    return get_host().registries[kind]


def list_extractors(pattern: str = "") -> list[str]:
    """Names of registered extractors, optionally filtered by a shell pattern."""
    return _registry("extractor").names(pattern)


def list_backbones(pattern: str = "", modality: str | None = None) -> list[str]:
    """Names of registered backbones; ``modality`` keeps ``"visual"`` or ``"audio"`` ones only."""
    reg = _registry("backbone")
    return [n for n in reg.names(pattern) if modality is None or reg.get(n).modality == modality]


def list_heads(pattern: str = "") -> list[str]:
    return _registry("head").names(pattern)


def list_aggregators(pattern: str = "") -> list[str]:
    return _registry("aggregator").names(pattern)


def list_scenes(pattern: str = "") -> list[str]:
    return _registry("scene").names(pattern)


def get_extractor_spec(name: str) -> ExtractorSpec:
    return _registry("extractor").get(name)


def get_backbone_spec(name: str) -> BackboneSpec:
    return _registry("backbone").get(name)


def get_head_spec(name: str) -> HeadSpec:
    return _registry("head").get(name)


def get_aggregator_spec(name: str) -> AggregatorSpec:
    return _registry("aggregator").get(name)


def get_scene(name: str) -> SceneSpec:
    """The recipe registered under ``name`` (the ``--plugin`` of ``scenedet run``)."""
    return _registry("scene").get(name)


def check_scene_usable(spec: SceneSpec) -> SceneSpec:
    """``spec`` if every component it names is registered, else a one-line :class:`UsageError`.

    A scene plugin may name backbones, a head or an aggregator that another plugin provides; if
    that plugin is missing, broken or disabled, say so before loading models or decoding a film.
    """
    reasons = get_host().scene_problems(spec)
    if reasons:
        raise UsageError(f"scene {spec.name!r} cannot be used: {'; '.join(reasons)} "
                         "(is the plugin that provides it installed and loading?)")
    return spec


def _call(kind: str, name: str, factory: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a plugin's factory; options it does not take are a usage error, not a traceback."""
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise UsageError(f"{kind} {name!r} does not take these options: {exc}") from None
    except ValueError:  # no signature available (a builtin): let the call decide
        pass
    return factory(**kwargs)


def create_extractor(name: str, **options: Any):
    """A fresh extractor (extractors may keep per-film state, so do not share one across films)."""
    return _call("extractor", name, get_extractor_spec(name).factory, **options)


def create_backbone(name: str, *, weights: str | None = "pretrained", **options: Any):
    """Build backbone ``name`` in eval mode.

    ``weights``: ``"pretrained"`` (the official weights, from the local cache or downloaded
    once), ``"random:SEED"`` (seeded random initialisation, for tests and demos without
    weights), or a path to a weight file (offline use). ``timm:<model>`` names any timm model.
    """
    spec = get_backbone_spec(name)
    if spec.prefix:
        _head, sep, variant = name.partition(":")
        if not sep or not variant:
            raise UsageError(f"backbone {spec.name!r} needs a variant: {spec.name}:<model name>, "
                             f"e.g. {spec.name}:resnet18")
        options["variant"] = variant
    return _call("backbone", name, spec.factory, weights=weights, **options)


def create_head(name: str, *, in_features: int, num_classes: int = 2, **options: Any):
    """A classifier head module taking ``in_features`` and returning ``num_classes`` logits."""
    return _call("head", name, get_head_spec(name).factory, in_features=in_features,
                 num_classes=num_classes, **options)


def create_aggregator(name: str):
    """The raw aggregator function (see :class:`AggregatorSpec`); prefer :func:`scenedet.segment`."""
    return get_aggregator_spec(name).function


# -- exporters (output formats chosen by suffix) -------------------------------------------------
def list_exporters(pattern: str = "") -> list[str]:
    """Names of registered output formats (``json``, ``csv``, ``edl``, ...)."""
    return _registry("exporter").names(pattern)


def get_exporter_spec(name: str) -> ExporterSpec:
    return _registry("exporter").get(name)


def exporter_suffixes() -> dict[str, ExporterSpec]:
    """Every known output suffix -> the exporter that writes it.

    When two exporters claim one suffix, the core's (plugin ``scenedet``) wins, then the one of
    the plugin ranked first (the reference set, then third parties in load order), then the
    exporter whose name sorts first: an installed plugin cannot silently change what ``.json``
    means. The host reports the loser as a ``clash`` (``scenedet plugins``).
    """
    reg = _registry("exporter")
    ranked = sorted(reg.specs(), key=lambda s: exporter_precedence(reg, s))
    out: dict[str, ExporterSpec] = {}
    for spec in ranked:
        for suffix in spec.suffixes:
            out.setdefault(suffix, spec)
    return dict(sorted(out.items()))


def path_suffixes(path: str) -> list[str]:
    """Every suffix of ``path``'s file name, longest first, lower case:
    ``"a/film.yt.TXT"`` -> ``[".yt.txt", ".txt"]``; ``"results"`` -> ``[]``."""
    name = str(path).rsplit("/", 1)[-1].lower()
    parts = name.split(".")
    return ["." + ".".join(parts[i:]) for i in range(1, len(parts))]


def get_exporter_for_suffix(path_or_suffix: str) -> ExporterSpec:
    """The exporter for an output path's suffix (``"film.edl"`` or ``".edl"``), case-insensitive.

    Suffixes may have several parts: the longest registered one that ends the file name wins
    (``film.yt.txt``: ``.yt.txt`` before ``.txt``). A path without a suffix (``/dev/stdout``, a
    FIFO, ``results``) gets JSON, the default format. An unknown suffix is a :class:`UsageError`
    listing the known ones.
    """
    text = str(path_or_suffix)
    candidates = path_suffixes(text)
    known = exporter_suffixes()
    if not candidates and ".json" in known:
        return known[".json"]
    for suffix in candidates:
        if suffix in known:
            return known[suffix]
    what = f"suffix {candidates[-1]!r}" if candidates else "no suffix"
    raise UsageError(f"{text}: {what} names no output format (known: "
                     f"{', '.join(known) or 'none installed'})")


def create_exporter(name: str) -> Callable[..., Any]:
    """The exporter function registered as ``name``: ``function(scenes) -> str | bytes``."""
    return get_exporter_spec(name).function


def list_detectors(pattern: str = "") -> list[str]:
    """Names of registered frame-level detectors (``scenedet run --plugin NAME`` takes them too)."""
    return _registry("detector").names(pattern)


def get_detector_spec(name: str) -> DetectorSpec:
    return _registry("detector").get(name)


def is_detector(name: str) -> bool:
    """Whether ``name`` (or an alias) is a registered frame-level detector."""
    try:
        get_detector_spec(name)
    except KeyError:
        return False
    return True


def create_detector(name: str, **options: Any):
    """A fresh detector (it keeps per-film state).

    ``options`` are checked and converted by :func:`~scenedet.plugin.options.check_options`
    against the spec's declared options (a string ``"0.4"`` becomes the float ``0.4``; an unknown
    key or a bad value is a one-line :class:`UsageError`). The run's offers (``device``, ``batch_size``,
    ``runtime``, ``threads``, ``precision``) are dropped unless its factory names them: they are offers from the run, not the user's options. A
    detector that declares no options gets them as given; if its factory then raises
    ``ValueError`` or ``TypeError`` on them, that is a one-line :class:`UsageError` too.
    """
    spec = get_detector_spec(name)
    factory = spec.factory
    options = check_options(name, spec, options)
    try:
        params = inspect.signature(factory).parameters
    except ValueError:
        params = {}
    for offered in RUN_KEYWORDS:  # only to factories that name them
        if offered in options and offered not in params:
            del options[offered]
    given = {k: v for k, v in options.items() if k not in RUN_KEYWORDS}
    if spec.options or not given:
        return _call("detector", name, factory, **options)
    try:
        return _call("detector", name, factory, **options)
    except ScenedetError:
        raise
    except (ValueError, TypeError) as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in given.items())
        raise UsageError(f"{name}: its options were refused ({shown}): {describe(exc)}") from exc


# -- one lookup for what `scenedet run --plugin NAME` takes ---------------------------------------
#: The kinds :func:`find_plugin` looks in, in the order it looks (a detector wins a name both have,
#: as in ``scenedet run``).
PLUGIN_KINDS = ("detector", "scene")


def find_plugin(name: str) -> tuple[str, Any]:
    """``(kind, spec)`` for what ``scenedet run --plugin NAME`` names: a frame-level detector
    (``"detector"``, a :class:`DetectorSpec`) or a learned scene (``"scene"``, a
    :class:`SceneSpec`), by name or alias.

    An unknown name is one :class:`UnknownComponentError` line (a :class:`UsageError`) with the
    closest name of either kind and every available one: ``unknown plugin 'shot'; did you mean
    'shots'? (scenes: kissing; detectors: black, colour-bars, cues, shots, shots-content,
    silence)``.
    """
    host = get_host()
    registries = [(kind, host.registries[kind]) for kind in PLUGIN_KINDS]
    if isinstance(name, str):
        for kind, reg in registries:
            if name in reg:
                return kind, reg.get(name)
    keys = {key: reg.get(key).name for _, reg in registries for key in reg.keys()}
    near = difflib.get_close_matches(name, list(keys), n=1, cutoff=0.6) if isinstance(name, str) else []
    hint = f"; did you mean {keys[near[0]]!r}?" if near else ""
    available = "; ".join(f"{kind}s: {', '.join(reg.names()) or 'none installed'}"
                          for kind, reg in reversed(registries))
    what = f"{name!r}" if isinstance(name, str) else f"name {name!r} (not a string)"
    raise UnknownComponentError(f"unknown plugin {what}{hint} ({available})")
