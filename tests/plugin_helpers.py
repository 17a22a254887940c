"""A throw-away in-process plugin for the tests that need their own detectors (or exporters)."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator, Sequence
from typing import Any

from scenedet.plugin import hookimpl
from scenedet.plugin._host import PluginHost, get_host, reset_host

#: The project's plugins with its own detectors (the ``reference_detectors`` fixture's).
WITH_DETECTORS = "scenedet,scenedet-kissing,scenedet-shots,scenedet-cues"


@contextlib.contextmanager
def plugin_with(*, detectors: Sequence[Any] = (), exporters: Sequence[Any] = (),
                name: str = "toy") -> Iterator[PluginHost]:
    """A fresh host with the installed plugins plus one named ``name`` registering these specs;
    the host is forgotten again on exit."""
    module = types.ModuleType(f"{name}_plugin")
    if detectors:
        module.register_detectors = hookimpl(lambda register: [register(s) for s in detectors])
    if exporters:
        module.register_exporters = hookimpl(lambda register: [register(s) for s in exporters])
    reset_host(None)
    host = get_host()
    host.add_plugin(module, name, version="0")
    try:
        yield host
    finally:
        reset_host(None)
