"""Plugin commands and the global switches that govern plugin loading on the command line.

Plugins load lazily, the first time the group looks a command up, so that ``--traceback`` and
``--strict`` (read while the group's options are parsed) are known before any plugin is
imported. Plugin commands live beside the built-in ones, never in place of them: the group's
``commands`` holds only the built-ins (docs/plugin-host.md).
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from typing import Any

import click

from scenedet.errors import ScenedetError

DEBUG_ENV, STRICT_ENV = "SCENEDET_DEBUG", "SCENEDET_STRICT"
#: set in a click context's ``meta`` to list and resolve only the built-in commands (docs/gen_cli.py)
BUILTIN_ONLY = "scenedet.builtin_only"
TRACEBACK_KEY, STRICT_KEY = "scenedet.traceback", "scenedet.strict"


class PluginLoadError(ScenedetError):
    """``--strict``: a plugin did not load cleanly (exit 1)."""


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def flag(ctx: click.Context | None, key: str) -> bool:
    """Whether ``--traceback`` / ``--strict`` (``key``) is on, by option or environment."""
    env = DEBUG_ENV if key == TRACEBACK_KEY else STRICT_ENV
    return bool(ctx is not None and ctx.meta.get(key)) or env_flag(env)


def remember(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """Option callback: keep a global switch where every command's context can read it."""
    ctx.meta[TRACEBACK_KEY if param.name == "traceback" else STRICT_KEY] = value


traceback_option = click.option(
    "--traceback", is_flag=True, is_eager=True, expose_value=False, callback=remember,
    help="Show full tracebacks of plugin load failures and errors (or SCENEDET_DEBUG=1).")
strict_option = click.option(
    "--strict", is_flag=True, is_eager=True, expose_value=False, callback=remember,
    help="Exit 1 if any plugin fails to load cleanly (or SCENEDET_STRICT=1).")


class PluginCommands(click.Group):
    """Mixin for the ``scenedet`` group: plugin commands looked up after the built-in ones, and
    the traceback of an error shown under ``--traceback`` (the group prints its one line)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        plugin_commands = self._plugin_commands(ctx, report=cmd_name != "plugins")
        return self.commands[cmd_name] if cmd_name in self.commands else plugin_commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._plugin_commands(ctx)})

    def _plugin_commands(self, ctx: click.Context, report: bool = True) -> dict[str, click.Command]:
        if ctx.meta.get(BUILTIN_ONLY):
            return {}
        return load_plugins(ctx, self.commands, report=report)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScenedetError as exc:
            if flag(ctx, TRACEBACK_KEY) and not isinstance(exc, PluginLoadError):
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
            raise


def with_plugin_commands(group: type[click.Group]) -> type[click.Group]:
    """``group`` with :class:`PluginCommands` under it: ``group.invoke`` (which prints an error's
    one line) wraps ``PluginCommands.invoke`` (which prints its traceback first)."""
    return type(group.__name__, (group, PluginCommands), {"__doc__": group.__doc__,
                                                          "__module__": group.__module__})


def load_plugins(ctx: click.Context | None, builtin: dict[str, click.Command], *,
                 report: bool = True) -> dict[str, click.Command]:
    """Load the plugins (once per host) and their commands; report each problem once on stderr.

    With ``--traceback`` each problem is followed by its traceback. With ``--strict`` any
    problem is instead one error line and exit 1. ``report=False`` (``scenedet plugins``, which
    lists the problems itself) prints nothing and leaves ``--strict`` to the caller.
    """
    from scenedet.plugin.host import get_host

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # reported below, one line each
        host = get_host()
        commands = host.plugin_commands(builtin)
    problems = host.problems()
    if not report or not problems:
        return commands
    show_tracebacks = flag(ctx, TRACEBACK_KEY)
    if flag(ctx, STRICT_KEY):
        for _, problem in problems if show_tracebacks else ():
            if problem.traceback:
                click.echo(problem.traceback.rstrip("\n"), err=True)
        click.echo(f"Error: {strict_error(problems)}", err=True)
        sys.exit(1)  # also while options are parsed (``--strict --help``), outside any command
    if getattr(host, "_cli_reported", False):
        return commands
    host._cli_reported = True  # type: ignore[attr-defined]
    for info, problem in problems:
        click.echo(f"Warning: plugin {info.name!r}: {problem.line()}", err=True)
        if show_tracebacks and problem.traceback:
            click.echo(problem.traceback.rstrip("\n"), err=True)
    return commands


def strict_error(problems: list[Any]) -> PluginLoadError:
    """The one line ``--strict`` exits with."""
    info, problem = problems[0]
    more = f" (and {len(problems) - 1} more problem(s): see `scenedet plugins`)" if len(problems) > 1 else ""
    return PluginLoadError(f"plugin {info.name!r}: {problem.line()}{more} [--strict]")
