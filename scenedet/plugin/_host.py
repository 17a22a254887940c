"""The plugin host: finds plugins through the ``scenedet`` entry-point group and fills registries.

No plugin can break the others or the tool (docs/plugin-host.md is the user's account of this):

* plugins load one at a time in a fixed order: the core (distribution ``scenedet``), then the
  reference set (``scenedet-kissing``), then third parties sorted by distribution name, then
  entry-point name (ranks and tiers: :mod:`._identity`). Plugins added in-process (:meth:`PluginHost.add_plugin`) come last, in call
  order. That order is each plugin's *rank*; on a name clash the better rank keeps the name,
  whatever order the plugins were loaded in, and the other's component is refused;
* each hook implementation is checked before it is used (:mod:`._hookcheck`): a misspelt hook is
  reported (with the nearest real name) and a hook whose arguments are not the hookspec's is
  skipped, while the plugin's valid hooks still load;
* a ``register_*`` hook stages what it registers and the host commits it only if the hook
  returns: a hook that raises halfway keeps nothing (all or nothing, per hook call);
* commands come from ``register_commands(cli)`` called on a scratch copy of the group: a plugin
  cannot replace or remove a command that exists before it;
* every problem is recorded on the plugin's :class:`PluginInfo` with a one-line reason, the
  plugin's ``file:line`` and the traceback, and warned about (``RuntimeWarning``).

``SCENEDET_PLUGINS`` (allow-list; ``SCENEDET_LOAD_PLUGINS`` is its old name) and
``SCENEDET_DISABLE_PLUGINS`` (deny-list) take comma-separated entry-point or distribution names.
"""

from __future__ import annotations

import importlib.metadata
import os
import warnings
from collections.abc import Mapping
from typing import Any

import attrs
import pluggy

from scenedet.plugin._hookcheck import HookChecker, hooks_module
from scenedet.plugin._identity import (CORE_DISTRIBUTION, ENTRY_POINT_GROUP, IN_PROCESS,
                                       PluginInfo, normalize, plugin_selection, tier_of,
                                       why_not_selected)
from scenedet.plugin._problems import (Problem, caller, describe, format_traceback,
                                       plugin_roots, where)
from scenedet.plugin import hookspecs
from scenedet.plugin._registry import NameClash, Registry
from scenedet.plugin.specs import (AggregatorSpec, BackboneSpec, DetectorSpec, ExporterSpec,
                                   ExtractorSpec, HeadSpec, SceneSpec, SpecError)

#: hook name -> (registry kind, spec type accepted by that hook's ``register``)
REGISTER_HOOKS: dict[str, tuple[str, type]] = {
    "register_extractors": ("extractor", ExtractorSpec),
    "register_backbones": ("backbone", BackboneSpec),
    "register_heads": ("head", HeadSpec),
    "register_aggregators": ("aggregator", AggregatorSpec),
    "register_scenes": ("scene", SceneSpec),
    "register_exporters": ("exporter", ExporterSpec),
    "register_detectors": ("detector", DetectorSpec),
}


class PluginHost:
    """A pluggy manager plus one :class:`Registry` per component kind."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("scenedet")
        self.pm.add_hookspecs(hookspecs)
        self.registries: dict[str, Registry[Any]] = {
            kind: Registry(kind) for kind, _ in REGISTER_HOOKS.values()
        }
        self.plugins: dict[str, PluginInfo] = {}
        self.disabled: dict[str, PluginInfo] = {}
        self._commands: dict[str, Any] | None = None
        self._in_process = 0
        self._hooks = HookChecker(self.pm)

    @property
    def failures(self) -> dict[str, str]:
        """Plugin name -> its first problem, for every plugin with one."""
        return {name: info.problems[0].line() for name, info in self.plugins.items() if info.problems}

    def problems(self) -> list[tuple[PluginInfo, Problem]]:
        """Every recorded problem, in load order."""
        return [(info, p) for info in self.ordered() for p in info.problems]

    def ordered(self) -> list[PluginInfo]:
        """Plugins in load order (which is also precedence order)."""
        return sorted(self.plugins.values(), key=lambda i: i.rank)

    # -- loading ---------------------------------------------------------------------------
    def load_entry_points(self, environ: Mapping[str, str] = os.environ) -> None:
        """Import every installed plugin of the ``scenedet`` group, each on its own, in rank order."""
        allowed, denied = plugin_selection(environ)
        found = []
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.metadata["Name"] if ep.dist is not None else None
            rank = (tier_of(dist), normalize(dist or ""), ep.name)
            found.append((rank, ep, dist))
        for rank, ep, dist in sorted(found, key=lambda r: r[0]):
            version = ep.dist.version if ep.dist is not None else None
            keys = {normalize(ep.name), normalize(dist or "")}
            why = why_not_selected(keys, allowed, denied)
            if why:
                self.disabled[ep.name] = PluginInfo(ep.name, version, ep.value, dist, rank,
                                                    problems=[Problem("disabled", why)])
                continue
            if ep.name in self.plugins:
                self._name_taken(ep.name, version, ep.value, dist, rank)
                continue
            try:
                module = ep.load()
            except (Exception, SystemExit) as exc:  # a broken plugin must not break the others
                info = self._info(ep.name, version, ep.value, dist, rank)
                self._problem(info, "import", f"import failed: {describe(exc)}", exc=exc,
                              roots=plugin_roots(module_name=ep.value), fatal=True)
                continue
            self._add(module, self._info(ep.name, version, ep.value, dist, rank))

    def add_plugin(self, plugin: object, name: str, *, version: str | None = None,
                   module_name: str | None = None, distribution: str | None = None) -> PluginInfo:
        """Register ``plugin`` (a module or object with hook implementations) and its components.

        ``distribution`` gives it the rank of an installed plugin of that distribution; without
        it the plugin ranks after every installed one, in call order.
        """
        module = module_name or getattr(plugin, "__name__", type(plugin).__name__)
        if distribution is None:
            self._in_process += 1
            rank: tuple[Any, ...] = (IN_PROCESS, "", "", self._in_process)
        else:
            rank = (tier_of(distribution), normalize(distribution), name)
        if name in self.plugins:
            return self._name_taken(name, version, module, distribution, rank)
        return self._add(plugin, self._info(name, version, module, distribution, rank))

    def _info(self, name: str, version: str | None, module: str, dist: str | None,
              rank: tuple[Any, ...]) -> PluginInfo:
        info = PluginInfo(name=name, version=version, module=module, distribution=dist, rank=rank)
        self.plugins[name] = info
        self._commands = None
        return info

    def _name_taken(self, name: str, version: str | None, module: str, dist: str | None,
                    rank: tuple[Any, ...]) -> PluginInfo:
        """A second plugin under a taken name: listed under ``"name (distribution)"``, not loaded."""
        info = self._info(f"{name} ({dist or module})", version, module, dist, rank)
        self._problem(info, "name-taken", f"plugin name {name!r} is already taken by "
                      f"{self.describe(name)}; rename the entry point", fatal=True)
        return info

    def _add(self, plugin: object, info: PluginInfo) -> PluginInfo:
        impls = self._hooks.check(plugin, info, self._problem)
        try:
            self.pm.register(hooks_module(impls), name=info.name)
        except Exception as exc:  # pluggy's own checks (wrappers, historic hooks)
            self._problem(info, "bad-hook", f"rejected by pluggy: {describe(exc)}", exc=exc, fatal=True)
            return info
        roots = plugin_roots(plugin)
        for hook_name, (kind, spec_type) in REGISTER_HOOKS.items():
            if hook_name in info.hooks:
                self._call_register_hook(info, hook_name, kind, spec_type, roots)
        return info

    def _call_register_hook(self, info: PluginInfo, hook_name: str, kind: str, spec_type: type,
                            roots: tuple[str, ...]) -> None:
        """Call one ``register_*`` hook; commit what it registered only if it returns."""
        staged: list[tuple[Any, str]] = []
        returned = False

        def register(spec: Any) -> None:
            here = caller()
            if returned:  # a callback kept and called later would bypass staging
                self._problem(info, "refused", f"register() called after {hook_name} returned; "
                              "register while the hook runs", where_=here)
                return
            if not isinstance(spec, spec_type):
                self._problem(info, "refused", f"register() in {hook_name} takes a "
                              f"{spec_type.__name__}, got {type(spec).__name__}", where_=here)
                return
            try:
                attrs.validate(spec)
            except (SpecError, ValueError, TypeError) as exc:
                self._problem(info, "refused", f"{kind} refused: {exc}", where_=here)
                return
            staged.append((spec, here))

        try:
            self._call(info.name, hook_name, register=register)
        except (Exception, SystemExit) as exc:  # sys.exit() in a hook ends only the hook
            kept = "nothing it registered was kept" if staged else "it registered nothing"
            reason = f"{kind} refused: {exc}" if isinstance(exc, SpecError) else describe(exc)
            self._problem(info, "hook-raised", f"{hook_name} failed: {reason}; {kept}",
                          exc=exc, roots=roots)
            return
        finally:
            returned = True
        for spec, here in staged:
            self._commit(info, kind, spec, here)

    def _call(self, plugin: str, hook_name: str, **kwargs: Any) -> None:
        """Call ``plugin``'s implementation of one hook with the arguments it declares."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            if impl.plugin_name == plugin:
                impl.function(*[kwargs[a] for a in impl.argnames])

    def _commit(self, info: PluginInfo, kind: str, spec: Any, here: str) -> None:
        try:
            displaced = self.registries[kind].add(spec, info.name, info.rank)
        except NameClash as clash:
            self._problem(info, "clash", f"{clash} ({self.describe(clash.owner)}); refused", where_=here)
            return
        except ValueError as exc:
            self._problem(info, "refused", f"{kind} refused: {exc}", where_=here)
            return
        info.components.setdefault(kind, []).append(spec.name)
        if kind == "exporter":
            self._suffix_clashes(info, spec, here)
        for lost, owner in displaced:  # a plugin of worse rank that loaded earlier
            loser = self.plugins[owner]
            loser.components[kind].remove(lost.name)
            if not loser.components[kind]:
                del loser.components[kind]
            self._problem(loser, "clash", f"{kind} {lost.name!r} from plugin {owner!r} is also "
                          f"registered by {info.name!r} ({self.describe(info.name)}), which takes "
                          "precedence; refused")

    def _suffix_clashes(self, info: PluginInfo, spec: ExporterSpec, here: str) -> None:
        """Report each suffix of ``spec`` that another exporter claims too, on the loser's plugin.

        Both exporters stay registered (by name); the suffix goes to the one of higher
        precedence (:func:`exporter_precedence`), whatever the order they were added in.
        """
        reg = self.registries["exporter"]
        mine = exporter_precedence(reg, spec)
        for other in reg.specs():
            if other.name == spec.name:
                continue
            for suffix in (s for s in spec.suffixes if s in other.suffixes):
                mine_lost = exporter_precedence(reg, other) < mine
                loser, winner = (spec, other) if mine_lost else (other, spec)
                lost_at = here if mine_lost else ""  # the loser's own register() call, if here
                owner, keeper = reg.owner(loser.name), reg.owner(winner.name)
                if owner not in self.plugins:  # put in the registry by hand (tests)
                    continue
                self._problem(self.plugins[owner], "clash",
                              f"exporter suffix {suffix!r} of {loser.name!r} from plugin {owner!r} "
                              f"is also claimed by {winner.name!r} from plugin {keeper!r} "
                              f"({self.describe(keeper)}), which takes precedence; "
                              f"{suffix!r} writes {winner.name!r}", where_=lost_at)

    # -- commands ----------------------------------------------------------------------------
    def plugin_commands(self, builtin: Mapping[str, Any]) -> dict[str, Any]:
        """The click commands plugins add beside ``builtin``, by name (built once per host).

        See :func:`scenedet.plugin._commands.collect_commands`: a plugin cannot replace or
        remove a command that exists before it.
        """
        if self._commands is None:
            from scenedet.plugin._commands import collect_commands

            self._commands = collect_commands(self, builtin)
        return self._commands

    # -- reporting ---------------------------------------------------------------------------
    def describe(self, name: str) -> str:
        """``"scenedet-kissing 0.1.0, reference set"``: who a plugin is, for clash messages."""
        info = self.plugins.get(name)
        if info is None:
            return "core" if name == CORE_DISTRIBUTION else "unknown"
        dist = f"{info.distribution} {info.version or ''}".strip() if info.distribution else info.module
        return f"{dist}, {info.tier}"

    def scene_problems(self, spec: SceneSpec) -> list[str]:
        """Why ``spec`` cannot run here: components it names that no loaded plugin registers."""
        reasons = []
        backbones, extractors = self.registries["backbone"], self.registries["extractor"]
        for name in spec.backbones:
            if name not in backbones:
                reasons.append(f"backbone {name!r} is not registered")
            elif backbones.get(name).input not in extractors:
                reasons.append(f"backbone {name!r} needs extractor {backbones.get(name).input!r}, "
                               "which is not registered")
        for kind in ("head", "aggregator"):
            if getattr(spec, kind) not in self.registries[kind]:
                reasons.append(f"{kind} {getattr(spec, kind)!r} is not registered")
        return reasons

    def report(self) -> list[dict[str, Any]]:
        """One dict per plugin (loaded, failed, then disabled), as ``scenedet plugins --json``."""
        scenes = self.registries.get("scene")
        unusable: dict[str, list[Problem]] = {}
        for spec in scenes.specs() if scenes is not None else []:
            reasons = self.scene_problems(spec)
            if reasons:
                unusable.setdefault(scenes.owner(spec.name), []).append(
                    Problem("unusable", f"scene {spec.name!r} is unusable: {'; '.join(reasons)}"))
        rows = []
        for info in [*self.ordered(), *self.disabled.values()]:
            problems = info.problems + unusable.get(info.name, [])
            status = ("disabled" if info is self.disabled.get(info.name) else
                      "failed" if not info.loaded else "problems" if problems else "ok")
            rows.append({"name": info.name, "version": info.version, "module": info.module,
                         "distribution": info.distribution, "tier": info.tier, "status": status,
                         "hooks": info.hooks, "components": info.components,
                         "problems": [p.to_dict() for p in problems]})
        return rows

    def _problem(self, info: PluginInfo, kind: str, message: str, *, where_: str = "",
                 exc: BaseException | None = None, roots: tuple[str, ...] = (),
                 fatal: bool = False) -> None:
        problem = Problem(kind=kind, message=message, fatal=fatal,
                          where=where_ or (where(exc, roots) if exc is not None else ""),
                          traceback=format_traceback(exc) if exc is not None else "")
        info.problems.append(problem)
        warnings.warn(f"scenedet plugin {info.name!r}: {problem.line()}", RuntimeWarning, stacklevel=3)


def exporter_precedence(registry: Registry[Any], spec: ExporterSpec) -> tuple[Any, ...]:
    """Sort key of exporters claiming one suffix (first wins): the core's, then by the rank of
    the plugin that registered it, then by name."""
    owner = registry.owner(spec.name)
    return (owner != CORE_DISTRIBUTION, registry.rank(spec.name), spec.name)


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host, loading installed plugins on first use."""
    global _host
    if _host is None:
        _host = PluginHost()  # set first: a plugin that lists components at import sees a partial host
        _host.load_entry_points()
    return _host


def reset_host(host: PluginHost | None = None) -> None:
    """Forget the loaded plugins (next :func:`get_host` reloads), or install ``host`` (tests)."""
    global _host
    _host = host
