"""Looking up what plugins registered, by name: the public face of the host's registries.

Code outside :mod:`scenedet.plugin` (the run engine, the commands, other plugins) imports lookups
from here or from :mod:`scenedet.plugin`, never from the underscored modules beside this file.

* :func:`find_plugin` resolves what ``scenedet run --plugin NAME`` names: a frame-level detector
  or a learned scene, by name or alias, with one "did you mean" over both kinds;
* :func:`check_options` checks and converts a plugin's options (``-O KEY=VALUE``) against what
  it declared (:class:`~scenedet.plugin.options.OptionSpec`);
* ``list_*`` / ``get_*`` / ``create_*`` per kind, as timm has them: an unknown name is a
  one-line :class:`~scenedet.errors.UnknownComponentError` with the closest name of that kind.

Typical engine use::

    kind, spec = find_plugin(name)                 # UsageError: unknown, with did-you-mean
    if kind == "detector":
        options = check_options(name, spec, raw)   # UsageError: unknown key, bad value
        detector = create_detector(spec.name, device=device, **options)
"""

from __future__ import annotations

from scenedet.plugin._factory import (PLUGIN_KINDS, check_scene_usable, create_aggregator,
                                      create_backbone, create_detector, create_exporter,
                                      create_extractor, create_head, exporter_suffixes,
                                      find_plugin, get_aggregator_spec, get_backbone_spec,
                                      get_detector_spec, get_exporter_for_suffix,
                                      get_exporter_spec, get_extractor_spec, get_head_spec,
                                      get_scene, is_detector, list_aggregators, list_backbones,
                                      list_detectors, list_exporters, list_extractors,
                                      list_heads, list_scenes, path_suffixes)
from scenedet.plugin.options import RUN_KEYWORDS, OptionSpec, check_options

__all__ = [
    "find_plugin", "PLUGIN_KINDS", "check_options", "OptionSpec", "RUN_KEYWORDS",
    "list_extractors", "list_backbones", "list_heads", "list_aggregators", "list_scenes",
    "list_exporters", "list_detectors",
    "get_extractor_spec", "get_backbone_spec", "get_head_spec", "get_aggregator_spec", "get_scene",
    "get_exporter_spec", "get_detector_spec", "is_detector", "check_scene_usable",
    "create_extractor", "create_backbone", "create_head", "create_aggregator", "create_exporter",
    "create_detector",
    "exporter_suffixes", "get_exporter_for_suffix", "path_suffixes",
]
