"""scenedet: find scenes of a kind in films, per second, with plugin-supplied components.

Everything the ``scenedet`` CLI does is a call here. Heavy dependencies (torch, PyAV) are
imported only by the functions that need them, so ``import scenedet`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    # registries (timm style)
    "list_extractors": "plugin.registry", "list_backbones": "plugin.registry",
    "list_heads": "plugin.registry", "list_aggregators": "plugin.registry",
    "list_scenes": "plugin.registry", "list_detectors": "plugin.registry",
    "list_exporters": "plugin.registry", "find_plugin": "plugin.registry",
    "create_extractor": "plugin.registry", "create_backbone": "plugin.registry",
    "create_head": "plugin.registry", "create_aggregator": "plugin.registry",
    "get_scene": "plugin.registry", "get_backbone_spec": "plugin.registry",
    "get_extractor_spec": "plugin.registry",
    # specs and hooks for plugin authors (the full SDK is scenedet.plugin)
    "ExtractorSpec": "plugin.specs", "BackboneSpec": "plugin.specs", "HeadSpec": "plugin.specs",
    "AggregatorSpec": "plugin.specs", "SceneSpec": "plugin.specs", "hookimpl": "plugin.hookspecs",
    # running: the one engine, any mix of scenes and detectors
    "run": "engine", "RunSettings": "engine", "RunResult": "engine", "Engine": "engine",
    "PluginError": "errors", "UsageError": "errors", "MediaError": "errors",
    "ScenedetError": "errors",
    # one scene, segmentation
    "run_scene": "inference.pipeline", "SceneResult": "inference.pipeline",
    "segment": "segmentation.segments", "Segment": "segmentation.segments",
    # time formats
    "parse_time": "timefmt", "format_time": "timefmt",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scenedet' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
