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
    "list_extractors": "plugin._factory", "list_backbones": "plugin._factory",
    "list_heads": "plugin._factory", "list_aggregators": "plugin._factory",
    "list_scenes": "plugin._factory",
    "create_extractor": "plugin._factory", "create_backbone": "plugin._factory",
    "create_head": "plugin._factory", "create_aggregator": "plugin._factory",
    "get_scene": "plugin._factory", "get_backbone_spec": "plugin._factory",
    "get_extractor_spec": "plugin._factory",
    # specs and hooks for plugin authors (the full SDK is scenedet.plugin)
    "ExtractorSpec": "plugin.specs", "BackboneSpec": "plugin.specs", "HeadSpec": "plugin.specs",
    "AggregatorSpec": "plugin.specs", "SceneSpec": "plugin.specs", "hookimpl": "plugin.hookspecs",
    # running, segmentation
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
