"""The ``scenedet`` command line: parses arguments, calls the library, prints results.

Nothing here imports torch at module level, so ``scenedet --help`` stays fast. Exit codes:
0 success, 1 a failure while working, 2 a usage error (bad argument, file or name), always as
one line on stderr without a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from scenedet import __version__
from scenedet.cli._plugins import strict_option, traceback_option, with_plugin_commands
from scenedet.errors import ScenedetError, UsageError


class ScenedetGroup(click.Group):
    """A group that turns every user mistake into one line on stderr and exit code 2."""

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
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except ScenedetError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except (BrokenPipeError, KeyboardInterrupt):
            sys.stderr.close()
            ctx.exit(1)


@click.group(cls=with_plugin_commands(ScenedetGroup), context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scenedet")
@traceback_option
@strict_option
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


def _add_commands() -> None:
    from scenedet.cli import commands  # noqa: F401  (registers the built-in commands on ``cli``)
    # Plugins' commands are not added here: they load on first lookup, beside these, after the
    # global switches are read (scenedet.cli._plugins, docs/plugin-host.md).


_add_commands()


def main() -> None:
    import warnings

    warnings.showwarning = _show_warning
    cli(prog_name="scenedet")
