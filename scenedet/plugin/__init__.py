"""The plugin SDK: the one import root for plugin authors.

Everything a plugin needs comes from here, and only names listed in ``__all__`` are promised to
stay; the underscored modules beside this file (``_host``, ``_registry``, ``_factory``) are the
host's own business (for code outside the SDK, :mod:`scenedet.plugin.registry` is the public
face of the lookups and :mod:`scenedet.plugin.host` that of the host). A plugin module implements hooks from :mod:`scenedet.plugin.hookspecs` and
registers components through the ``register`` callback each hook receives::

    from scenedet.plugin import AggregatorSpec, SceneSpec, hookimpl

    @hookimpl
    def register_scenes(register):
        register(SceneSpec(name="fight", backbones=("resnet18", "vggish")))

Conventions that hold across the SDK (see ``docs/plugin-guide.md``):

* times and scenes are half-open: a scene ``(start, end)`` covers seconds ``start .. end - 1``;
  aggregators return such pairs and :class:`Segment` holds them;
* a spec holds a *factory* (a callable building the component on demand), never an instance;
  an aggregator spec holds a *function* (it builds nothing: it is the segmentor);
* errors meant for a person are :class:`UsageError` (the caller's fault) or
  :class:`ScenedetError` (a failure while working), each with a one-line message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scenedet.errors import (MediaError, ModelFileError, ScenedetError, UnknownComponentError,
                             UsageError, WeightsError, one_line)
from scenedet.inference.packaged import PackagedFile, packaged_file
from scenedet.inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, ImagePreprocess
from scenedet.inference.weights import (OFFLINE_ENV, PRETRAINED, RANDOM_PREFIX, KnownWeights,
                                        StateDict, WeightsRequest, build_with_weights,
                                        checkpoints_dir, drop_prefixes, fetch_pretrained,
                                        file_sha256, is_offline, load_file, make_backbone,
                                        parse_weights)
from scenedet.media.types import SAMPLE_RATE, MediaRequest, Second
from scenedet.plugin._factory import (create_aggregator, create_backbone, create_extractor,
                                      create_head, get_backbone_spec, get_extractor_spec,
                                      get_scene, list_aggregators, list_backbones,
                                      list_extractors, list_heads, list_scenes)
from scenedet.plugin._factory import (create_exporter, get_exporter_for_suffix,
                                      get_exporter_spec, list_exporters)
from scenedet.plugin._factory import create_detector, get_detector_spec, list_detectors
from scenedet.plugin._factory import find_plugin
from scenedet.plugin.hookspecs import hookimpl
from scenedet.plugin.interfaces import Backbone, Detector, Exporter, Extractor
from scenedet.plugin.options import OptionSpec, check_options
from scenedet.plugin.specs import (AggregatorSpec, BackboneSpec, DetectorSpec, ExporterSpec,
                                   ExtractorSpec, HeadSpec,
                                   SceneSpec)
from scenedet.media.frames.stream import AudioChunk, FrameBatch, FrameSegment, StreamInfo

if TYPE_CHECKING:
    from scenedet.segmentation.segments import Segment

__all__ = [
    # hooks and specs
    "hookimpl", "ExtractorSpec", "BackboneSpec", "HeadSpec", "AggregatorSpec", "SceneSpec",
    # contracts and the data they exchange
    "Extractor", "Backbone", "MediaRequest", "Second", "SAMPLE_RATE", "Segment",
    # reusing registered components by name
    "list_extractors", "list_backbones", "list_heads", "list_aggregators", "list_scenes",
    "create_extractor", "create_backbone", "create_head", "create_aggregator", "get_scene",
    "get_backbone_spec", "get_extractor_spec",
    # backbone weights
    "KnownWeights", "WeightsRequest", "StateDict", "parse_weights", "build_with_weights",
    "make_backbone", "drop_prefixes", "fetch_pretrained", "file_sha256", "load_file",
    "checkpoints_dir", "is_offline", "OFFLINE_ENV", "PRETRAINED", "RANDOM_PREFIX",
    # model files that ship inside an installed package
    "PackagedFile", "packaged_file",
    # image preprocessing
    "ImagePreprocess", "IMAGENET_MEAN", "IMAGENET_STD",
    # output formats (register_exporters)
    "ExporterSpec", "list_exporters", "create_exporter", "get_exporter_spec",
    "get_exporter_for_suffix",
    "Exporter",
    # frame-level detectors
    "DetectorSpec", "Detector", "FrameBatch", "AudioChunk", "StreamInfo", "FrameSegment",
    "list_detectors", "create_detector", "get_detector_spec",
    # declared options (-O KEY=VALUE) and one lookup for `scenedet run --plugin NAME`
    "OptionSpec", "check_options", "find_plugin",
    # a plugin's network on the CPU through OpenVINO / ONNX Runtime / torch (docs/performance.md)
    "compile_network", "Network", "RUNTIMES",
    # errors
    "ScenedetError", "UsageError", "MediaError", "WeightsError", "ModelFileError",
    "UnknownComponentError", "one_line",
]


def __getattr__(name: str) -> Any:
    """``Segment`` on first use: the SDK, its specs included, stands below segmentation, which
    looks aggregators up through the registry (docs/architecture.md, "The layout")."""
    if name == "Segment":
        from scenedet.segmentation.segments import Segment

        globals()[name] = Segment
        return Segment
    if name in ("compile_network", "Network", "RUNTIMES"):  # the runtime layer, on first use
        import scenedet.runtime as runtime

        globals()[name] = getattr(runtime, name)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
