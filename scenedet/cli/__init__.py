"""The ``scenedet`` command line: parses arguments, calls the library, prints results.

Nothing here imports torch at module level, so ``scenedet --help`` stays fast. Exit codes:
0 success, 1 a failure while working, 2 a usage error (bad argument, file or name), always as
one line on stderr without a traceback; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), each
after the decoding threads have stopped and partial outputs are removed ("Interrupted." /
"Terminated."). Standard output closed early (``scenedet plugins | head -1``) is not an error
(exit 0, quietly); standard output on a full device is one line and exit 1.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from typing import Any

import click

from scenedet import __version__
from scenedet.cli._plugins import strict_option, traceback_option, with_plugin_commands
from scenedet.errors import NoModelError, ScenedetError, UsageError


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` and partial-output cleanup runs."""


#: Exit codes of the two ways a run is stopped from outside (128 + signal number, as shells do).
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: How long the decoding threads get to stop after an interrupt before the process exits hard.
STOP_TIMEOUT = 10.0

_STDOUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one clean-up, not one per signal
    raise Terminated()


def _install_signal_handlers() -> None:
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (the CLI called from a thread): leave them
        pass


def _stop_workers() -> bool:
    """Stop the decoding threads (if any ran); whether they all stopped."""
    stream = sys.modules.get("scenedet.inference.stream")
    if stream is None:
        return True
    return stream.stop_all(timeout=STOP_TIMEOUT)


def _interrupted(exc: KeyboardInterrupt) -> int:
    """After Ctrl-C or SIGTERM: stop the threads, say one line, the exit code."""
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the clean-up short
        try:
            signal.signal(sig, signal.SIG_IGN)
        except ValueError:
            pass
    stopped = _stop_workers()
    terminated = isinstance(exc, Terminated)
    code = EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    try:
        click.echo("Terminated." if terminated else "Interrupted.", err=True)
    except OSError:
        pass
    if not stopped:  # a decoder thread stuck in C: do not let the interpreter tear it down
        _flush_quietly()
        os._exit(code)
    return code


def _flush_quietly() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _stdout_failed(exc: OSError) -> int:
    """Standard output cannot be written: a closed pipe is fine (exit 0), a full disk is not."""
    _silence_stdout()
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        return 0
    reason = exc.strerror or os.strerror(exc.errno or 0)
    try:
        click.echo(f"Error: cannot write standard output: {reason}", err=True)
    except OSError:
        pass
    return 1


def _is_stdout_error(exc: OSError) -> bool:
    return (isinstance(exc, BrokenPipeError)
            or (exc.filename is None and exc.errno in _STDOUT_ERRNOS | {errno.EPIPE}))


class ScenedetGroup(click.Group):
    """A group that turns every user mistake into one line on stderr and exit code 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        _install_signal_handlers()
        try:
            try:
                rv = super().main(*args, **kwargs)
            except click.UsageError as exc:  # click's own: bad option, value, missing argument
                hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
                click.echo(f"Error: {exc.format_message()}{hint}", err=True)
                sys.exit(2)
            except click.Abort:
                click.echo("Aborted.", err=True)
                sys.exit(1)
            sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        except KeyboardInterrupt as exc:  # outside a command (while parsing, importing)
            sys.exit(_interrupted(exc))
        except OSError as exc:
            if not _is_stdout_error(exc):
                raise
            sys.exit(_stdout_failed(exc))
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NoModelError as exc:  # the library's words, with the command line's way out
            click.echo(f"Error: no model for scene {exc.scene!r}: pass --model FILE, or install "
                       f"one at {exc.path} (scenedet train --plugin {exc.scene} ... --install)",
                       err=True)
            ctx.exit(2)
        except UsageError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except ScenedetError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (see Terminated)
            ctx.exit(_interrupted(exc))
        except OSError as exc:
            if _is_stdout_error(exc):
                ctx.exit(_stdout_failed(exc))
            if exc.filename is None:
                raise
            reason = exc.strerror or os.strerror(exc.errno or 0)
            click.echo(f"Error: {exc.filename}: {reason}", err=True)
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
    try:
        cli(prog_name="scenedet")
    except SystemExit as exc:
        if exc.code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            # Everything was cleaned up on the way out; end now, with this code. Interpreter
            # teardown after a signal can still find a thread in FFmpeg (an abort, exit 134), or
            # a KeyboardInterrupt flag left by C code that makes Python re-kill itself (-2).
            _flush_quietly()
            os._exit(exc.code)
        raise
