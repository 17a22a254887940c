"""scenedet: find scenes of a kind in films, per second, with plugin-supplied components.

Everything the ``scenedet`` CLI does is a call here. Heavy dependencies (torch, PyAV) are
imported only by the functions that need them, so ``import scenedet`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    # registries
    "list_extractors": "api", "list_backbones": "api", "list_heads": "api",
    "list_aggregators": "api", "list_scenes": "api", "create_extractor": "api",
    "create_backbone": "api", "create_head": "api", "create_aggregator": "api",
    "get_scene": "api", "get_backbone_spec": "api", "get_extractor_spec": "api",
    # specs and hooks for plugin authors
    "ExtractorSpec": "specs", "BackboneSpec": "specs", "HeadSpec": "specs",
    "AggregatorSpec": "specs", "SceneSpec": "specs", "hookimpl": "hookspecs",
    # segmentation
    "segment": "segmentation", "Segment": "segmentation",
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
