"""Every hook a scenedet plugin may implement, and nothing else.

Each ``register_*`` hook receives a ``register`` callback; the plugin calls it once per component
(``register(BackboneSpec(...))``). The host owns the registries, plugins never touch them.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("scenedet")
hookimpl = pluggy.HookimplMarker("scenedet")


@hookspec
def register_extractors(register):
    """Register per-second input extractors (``ExtractorSpec``): stills, clips, audio patches."""


@hookspec
def register_backbones(register):
    """Register feature backbones (``BackboneSpec``) that turn extractor output into vectors."""


@hookspec
def register_heads(register):
    """Register classifier heads (``HeadSpec``) that turn concatenated features into logits."""


@hookspec
def register_aggregators(register):
    """Register aggregators (``AggregatorSpec``) that turn per-second labels into scenes."""


@hookspec
def register_scenes(register):
    """Register scene recipes (``SceneSpec``) that name the components of one detector."""


@hookspec
def register_exporters(register):
    """Register output formats (``ExporterSpec``) chosen by the suffix of ``-o PATH``."""


@hookspec
def register_detectors(register):
    """Register frame-level detectors (``DetectorSpec``): shot cuts, black frames, silence."""


@hookspec
def register_commands(cli):
    """Add click commands to the ``scenedet`` command group."""
