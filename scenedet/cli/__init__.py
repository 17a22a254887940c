"""The ``scenedet`` command line: parses arguments, calls the library, prints results.

Nothing here imports torch at module level, so ``scenedet --help`` stays fast. Exit codes:
0 success, 1 a failure while working, 2 a usage error (bad argument, file or name), always as
one line on stderr without a traceback (``--traceback`` or ``SCENEDET_DEBUG=1`` adds it).

Plugins load lazily, the first time a command is looked up, so that the global switches
(``--traceback``, ``--strict``) are known before any plugin is imported; their commands live
beside the built-in ones, never in place of them (see docs/plugin-host.md).
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from typing import Any

import click

from scenedet import __version__
from scenedet.errors import ScenedetError, UsageError

DEBUG_ENV, STRICT_ENV = "SCENEDET_DEBUG", "SCENEDET_STRICT"
#: set in a click context's ``meta`` to list and resolve only the built-in commands (docs/gen_cli.py)
BUILTIN_ONLY = "scenedet.builtin_only"
_TRACEBACK, _STRICT = "scenedet.traceback", "scenedet.strict"


class PluginLoadError(ScenedetError):
    """``--strict``: a plugin failed to load (exit 1)."""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def _flag(ctx: click.Context | None, key: str, env: str) -> bool:
    return bool(ctx is not None and ctx.meta.get(key)) or _env_flag(env)


def _remember(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta[_TRACEBACK if param.name == "traceback" else _STRICT] = value


class ScenedetGroup(click.Group):
    """A group that turns every user mistake into one line on stderr and exit code 2, and adds
    the commands of plugins (loaded on first lookup) beside its own."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.UsageError as exc:  # click's own: bad option, value, missing argument
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except ScenedetError as exc:  # raised while parsing, e.g. --strict under --help
            _error(None, exc)
            sys.exit(2 if isinstance(exc, UsageError) else 1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            _error(ctx, exc)
            ctx.exit(2)
        except ScenedetError as exc:
            _error(ctx, exc)
            ctx.exit(1)
        except (BrokenPipeError, KeyboardInterrupt):
            sys.stderr.close()
            ctx.exit(1)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        plugin_commands = self._plugin_commands(ctx, report=cmd_name != "plugins")
        return self.commands[cmd_name] if cmd_name in self.commands else plugin_commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._plugin_commands(ctx)})

    def _plugin_commands(self, ctx: click.Context, report: bool = True) -> dict[str, click.Command]:
        if ctx.meta.get(BUILTIN_ONLY):
            return {}
        return load_plugins(ctx, self.commands, report=report)


def _error(ctx: click.Context | None, exc: BaseException) -> None:
    if _flag(ctx, _TRACEBACK, DEBUG_ENV) and not isinstance(exc, PluginLoadError):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    click.echo(f"Error: {exc}", err=True)


def load_plugins(ctx: click.Context | None, builtin: dict[str, click.Command], *,
                 report: bool = True) -> dict[str, click.Command]:
    """Load the plugins (once per host) and their commands; report each problem once on stderr.

    With ``--traceback`` each problem is followed by its traceback. With ``--strict`` any
    problem is instead one error line (exit 1). ``report=False`` (``scenedet plugins``, which
    lists the problems itself) prints nothing and leaves ``--strict`` to the caller.
    """
    from scenedet.plugin._host import get_host

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # reported below, one line each
        host = get_host()
        commands = host.plugin_commands(builtin)
    problems = host.problems()
    if not report or not problems:
        return commands
    show_tracebacks = _flag(ctx, _TRACEBACK, DEBUG_ENV)
    if _flag(ctx, _STRICT, STRICT_ENV):
        for _, problem in problems if show_tracebacks else ():
            if problem.traceback:
                click.echo(problem.traceback.rstrip("\n"), err=True)
        raise strict_error(problems)
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


@click.group(cls=ScenedetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scenedet")
@click.option("--traceback", is_flag=True, is_eager=True, expose_value=False, callback=_remember,
              help="Show full tracebacks of plugin load failures and errors (or SCENEDET_DEBUG=1).")
@click.option("--strict", is_flag=True, is_eager=True, expose_value=False, callback=_remember,
              help="Exit 1 if any plugin fails to load cleanly (or SCENEDET_STRICT=1).")
def cli() -> None:
    """Find scenes of a kind in films, one second at a time.

    \b
    Typical use:
      scenedet plugins                      what is installed
      scenedet run --plugin kissing film.mp4 -o scenes.json
      scenedet segment --min-length 15 scenes.json   re-cut cached scores, instantly

    Times are accepted as 123, 12.5s or 00:02:03.500. Exit codes: 0 success, 1 failure while
    working, 2 bad usage (argument, file or name).
    """


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each ("Warning: ..."), not Python's two-line source dump."""
    click.echo(f"Warning: {message}", err=True)


from scenedet.cli import commands  # noqa: E402,F401  (registers the built-in commands on ``cli``)


def main() -> None:
    warnings.showwarning = _show_warning
    cli(prog_name="scenedet")
