"""Checking a plugin's hook implementations before the host uses any of them.

A misspelt hook is reported with the nearest real name; a wrapper, or a hook whose arguments
are not the hookspec's, is skipped with a one-line reason, while the plugin's valid hooks still
load. pluggy checks signatures only when a whole plugin registers, and one bad hook would then
refuse the lot; so each hook is tried alone on a scratch plugin manager first.
"""

from __future__ import annotations

import difflib
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pluggy

from scenedet.errors import one_line
from scenedet.plugin import hookspecs
from scenedet.plugin._identity import PluginInfo
from scenedet.plugin._problems import source_of

#: every hook a plugin may implement, with the arguments the host passes
HOOK_NAMES = tuple(sorted(n for n in dir(hookspecs) if n.startswith("register_")))


class Report(Protocol):
    """How the checker records a problem on a plugin (the host's ``_problem``)."""

    def __call__(self, info: PluginInfo, kind: str, message: str, *, where_: str = "") -> None: ...


def hooks_module(impls: Mapping[str, Callable[..., Any]]) -> types.ModuleType:
    """The hook implementations of one plugin that passed the checks: what pluggy registers
    (a bare module: pluggy scans it without the cost of an object's many attributes)."""
    hooks = types.ModuleType("scenedet-checked-hooks")
    hooks.__dict__.update(impls)
    return hooks


def _scratch_manager() -> pluggy.PluginManager:
    checker = pluggy.PluginManager("scenedet")
    checker.add_hookspecs(hookspecs)
    return checker


class HookChecker:
    """Sorts a plugin's attributes into valid hook implementations and reported problems."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._scratch = _scratch_manager()

    def check(self, plugin: object, info: PluginInfo, report: Report) -> dict[str, Callable[..., Any]]:
        """The plugin's hook implementations that name a real hook with the hookspec's arguments
        (attribute name -> function); their hook names go to ``info.hooks``."""
        good: dict[str, Callable[..., Any]] = {}
        marker = f"{self.pm.project_name}_impl"
        names = ([a for a, v in vars(plugin).items() if a in HOOK_NAMES or hasattr(v, marker)]
                 if inspect.ismodule(plugin) else dir(plugin))  # a module has no properties to trip
        for attr in names:
            try:
                opts = self.pm.parse_hookimpl_opts(plugin, attr)
                function = getattr(plugin, attr)
            except Exception:  # an attribute that raises when read is not a hook
                continue
            if opts is None:
                if attr in HOOK_NAMES and callable(function):
                    report(info, "unmarked-hook", f"{attr} is not marked @hookimpl and is "
                           "ignored", where_=source_of(function))
                continue
            hook_name = opts.get("specname") or attr
            if hook_name not in HOOK_NAMES:
                close = difflib.get_close_matches(hook_name, HOOK_NAMES, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (hooks: {', '.join(HOOK_NAMES)})"
                report(info, "unknown-hook", f"unknown hook {hook_name!r}{hint}; it is ignored",
                       where_=source_of(function))
                continue
            if opts.get("wrapper") or opts.get("hookwrapper"):
                report(info, "bad-hook", f"hook {hook_name} is a wrapper, which scenedet "
                       "hooks do not support; it is skipped", where_=source_of(function))
                continue
            try:  # pluggy's own signature check, on this hook alone
                self._scratch.register(hooks_module({attr: function}), name="checked")
                self._scratch.unregister(name="checked")
            except pluggy.PluginValidationError as exc:
                self._scratch = _scratch_manager()  # a failed register leaves pluggy half-updated
                report(info, "bad-hook", _mismatch(hook_name, function,
                       getattr(self.pm.hook, hook_name).spec.argnames, exc),
                       where_=source_of(function))
                continue
            good[attr] = function
            info.hooks = sorted({*info.hooks, hook_name})
        return good


def _mismatch(hook_name: str, function: Callable[..., Any], spec_args: tuple[str, ...],
              exc: Exception) -> str:
    """``register_scenes(reg) does not match the hookspec register_scenes(register): ...``."""
    try:
        params = inspect.signature(function).parameters
        shown = f"{hook_name}({', '.join(params)})"
        extra = [n for n, p in params.items() if p.default is p.empty and n not in spec_args
                 and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):
        shown, extra = hook_name, []
    why = (f"argument{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} "
           f"{'are' if len(extra) > 1 else 'is'} not the hookspec's" if extra else
           one_line(str(exc).strip().splitlines()[-1]))
    return (f"hook {shown} does not match the hookspec {hook_name}({', '.join(spec_args)}): "
            f"{why}; it is skipped")
