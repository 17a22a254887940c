"""Commands from ``register_commands(cli)``, added beside the built-in ones, never in their place.

Each plugin's hook gets a scratch click group holding the commands that exist before it (the
built-ins, then those of plugins earlier in load order). Afterwards the host compares: a command
the plugin replaced or removed is put back and reported with both owners; a new one is kept. The
real ``scenedet`` group is never handed to a plugin, so nothing a plugin does to it can stick.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scenedet.plugin._problems import describe, plugin_roots, source_of

if TYPE_CHECKING:
    from scenedet.plugin._host import PluginHost

HOOK = "register_commands"


def collect_commands(host: PluginHost, builtin: Mapping[str, Any]) -> dict[str, Any]:
    """The commands plugins add (name -> click command); problems go on each plugin's info.

    A hook that raises keeps none of its commands (all or nothing, as the ``register_*`` hooks).
    Called again (after a plugin was added), it starts over: earlier command problems and
    components are forgotten first.
    """
    import click

    from scenedet.plugin._host import CORE_DISTRIBUTION

    for info in host.plugins.values():
        info.components.pop("command", None)
        info.problems = [p for p in info.problems if not p.kind.startswith("command-")]
    scratch = click.Group("scenedet", commands=dict(builtin))
    owners = {name: CORE_DISTRIBUTION for name in builtin}

    def problem(info: Any, kind: str, message: str, **kwargs: Any) -> None:
        host._problem(info, f"command-{kind}", message, **kwargs)

    for info in host.ordered():
        if HOOK not in info.hooks or not info.loaded:
            continue
        before = dict(scratch.commands)
        try:
            host._call(info.name, HOOK, cli=scratch)
        except (Exception, SystemExit) as exc:
            scratch.commands = before
            problem(info, "raised", f"{HOOK} failed: {describe(exc)}; none of its commands were kept",
                    exc=exc, roots=plugin_roots(module_name=info.module))
            continue
        added, scratch.commands = dict(scratch.commands), before
        for name, command in added.items():
            if name in before and _same(command, before[name]):
                continue
            if name in before:
                problem(info, "clash", f"command {name!r} from plugin {info.name!r} is already registered "
                              f"by {owners[name]!r} ({host.describe(owners[name])}); refused",
                        where_=source_of(getattr(command, "callback", None)))
            elif not isinstance(command, click.Command):
                problem(info, "refused", f"command {name!r} is not a click command "
                              f"({type(command).__name__}); refused")
            else:
                scratch.commands[name] = command
                owners[name] = info.name
                info.components.setdefault("command", []).append(name)
        for name in sorted(set(before) - set(added)):
            problem(info, "refused", f"{HOOK} removed command {name!r}; it is kept")
    return {n: c for n, c in scratch.commands.items() if n not in builtin}


def _same(command: Any, existing: Any) -> bool:
    """The same command, or one built by the same code (a plugin's ``register_commands`` that
    already ran on this group): not a clash."""
    if command is existing:
        return True
    code = getattr(getattr(command, "callback", None), "__code__", None)
    return code is not None and code is getattr(getattr(existing, "callback", None), "__code__", None)
