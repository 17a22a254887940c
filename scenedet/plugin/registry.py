"""The registries, read through one public module (code outside ``plugin/`` imports this).

Placeholder until the declared-options work lands: ``find_plugin`` and ``check_options``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from scenedet.errors import UnknownComponentError
from scenedet.plugin._factory import (check_scene_usable, create_detector, get_aggregator_spec,
                                      get_detector_spec, get_exporter_for_suffix, get_scene,
                                      is_detector, list_detectors, list_scenes)


def find_plugin(name: str) -> tuple[str, Any]:
    """``("scene" | "detector", spec)`` for a registered name or alias; else one line listing
    both kinds, with the closest names."""
    try:
        return "detector", get_detector_spec(name)
    except KeyError:
        pass
    try:
        return "scene", get_scene(name)
    except KeyError:
        pass
    scenes, detectors = list_scenes(), list_detectors()
    close = difflib.get_close_matches(name, scenes + detectors, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UnknownComponentError(
        f"unknown plugin {name!r}{hint}; scenes: {', '.join(scenes) or 'none'}; "
        f"detectors: {', '.join(detectors) or 'none'}")


def check_options(plugin: str, spec: Any, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The options as the plugin declares them (placeholder: passed through)."""
    return dict(raw)


__all__ = ["check_options", "check_scene_usable", "create_detector", "find_plugin",
           "get_aggregator_spec", "get_detector_spec", "get_exporter_for_suffix", "get_scene",
           "is_detector", "list_detectors", "list_scenes"]
