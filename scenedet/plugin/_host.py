"""The plugin host: finds plugins through the ``scenedet`` entry-point group and fills registries.

Each plugin is imported and asked to register on its own: one that fails to import or to register
is recorded in :attr:`PluginHost.failures` (and warned about) while the others keep working. Set
``SCENEDET_LOAD_PLUGINS`` to a comma-separated list of entry-point names to load only those
(an empty value loads none), e.g. to isolate a broken plugin.
"""

from __future__ import annotations

import importlib.metadata
import os
import warnings
from typing import Any

import attrs
import pluggy

from scenedet.plugin import hookspecs
from scenedet.plugin._registry import Registry
from scenedet.plugin.specs import (AggregatorSpec, BackboneSpec, DetectorSpec, ExtractorSpec,
                                   HeadSpec, SceneSpec)

ENTRY_POINT_GROUP = "scenedet"

#: hook name -> (registry kind, spec type accepted by that hook's ``register``)
REGISTER_HOOKS: dict[str, tuple[str, type]] = {
    "register_extractors": ("extractor", ExtractorSpec),
    "register_backbones": ("backbone", BackboneSpec),
    "register_heads": ("head", HeadSpec),
    "register_aggregators": ("aggregator", AggregatorSpec),
    "register_scenes": ("scene", SceneSpec),
    "register_detectors": ("detector", DetectorSpec),
}


@attrs.define
class PluginInfo:
    """One loaded plugin, as ``scenedet plugins`` shows it."""

    name: str
    version: str | None
    module: str
    hooks: list[str] = attrs.Factory(list)
    components: dict[str, list[str]] = attrs.Factory(dict)


class PluginHost:
    """A pluggy manager plus one :class:`Registry` per component kind."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("scenedet")
        self.pm.add_hookspecs(hookspecs)
        self.registries: dict[str, Registry[Any]] = {
            kind: Registry(kind) for kind, _ in REGISTER_HOOKS.values()
        }
        self.plugins: dict[str, PluginInfo] = {}
        self.failures: dict[str, str] = {}

    # -- loading ---------------------------------------------------------------------------
    def load_entry_points(self) -> None:
        """Import every installed plugin of the ``scenedet`` group, each on its own."""
        wanted = os.environ.get("SCENEDET_LOAD_PLUGINS")
        allowed = None if wanted is None else {w.strip() for w in wanted.split(",") if w.strip()}
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if allowed is not None and ep.name not in allowed:
                continue
            version = ep.dist.version if ep.dist is not None else None
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not break the others
                self._fail(ep.name, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.add_plugin(module, ep.name, version=version, module_name=ep.value)

    def add_plugin(self, plugin: object, name: str, *, version: str | None = None,
                   module_name: str | None = None) -> None:
        """Register ``plugin`` (a module or object with hook implementations) and its components."""
        self.pm.register(plugin, name=name)
        info = PluginInfo(name=name, version=version,
                          module=module_name or getattr(plugin, "__name__", type(plugin).__name__))
        self.plugins[name] = info
        info.hooks = sorted(impl.name for impl in self._hookcallers(name))
        for hook_name, (kind, spec_type) in REGISTER_HOOKS.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                if impl.plugin_name != name:
                    continue
                register = self._register_callback(name, kind, spec_type)
                try:
                    impl.function(register=register)
                except Exception as exc:
                    self._fail(name, f"{hook_name} failed: {type(exc).__name__}: {exc}")

    def _hookcallers(self, name: str) -> list[Any]:
        plugin = self.pm.get_plugin(name)
        callers = self.pm.get_hookcallers(plugin) or []
        return callers

    def _register_callback(self, plugin: str, kind: str, spec_type: type):
        def register(spec: Any) -> None:
            if not isinstance(spec, spec_type):
                raise TypeError(f"register() in {kind} hook takes a {spec_type.__name__}, "
                                f"got {type(spec).__name__}")
            self.registries[kind].add(spec, plugin)
            self.plugins[plugin].components.setdefault(kind, []).append(spec.name)

        return register

    def _fail(self, name: str, reason: str) -> None:
        self.failures[name] = reason
        warnings.warn(f"scenedet plugin {name!r} skipped: {reason}", RuntimeWarning, stacklevel=3)


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host, loading installed plugins on first use."""
    global _host
    if _host is None:
        host = PluginHost()
        host.load_entry_points()
        _host = host
    return _host


def reset_host(host: PluginHost | None = None) -> None:
    """Forget the loaded plugins (next :func:`get_host` reloads), or install ``host`` (tests)."""
    global _host
    _host = host
