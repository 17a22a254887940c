"""Regenerate docs/cli.md from the commands' own --help:  python docs/gen_cli.py > docs/cli.md

tests/test_docs.py fails when docs/cli.md and the CLI disagree, so the reference cannot rot. Only
scenedet's own commands (and the reference plugin set's) are rendered: a third-party plugin that
adds a command changes neither this file nor the test's verdict.
"""

from __future__ import annotations

import copy

import click

INTRO = """# CLI reference

Generated from `--help` by `python docs/gen_cli.py > docs/cli.md`; a test keeps it current.

Conventions (as PySceneDetect and llm): times are accepted as `123`, `12.5s` or `00:02:03.500`;
exit code 0 is success, 1 a failure while working, 2 a usage error (bad argument, file or name),
always as one line on stderr without a traceback; progress goes to stderr and only when it is a
terminal; results go to stdout or `-o FILE` (written atomically: a failed run leaves no file).
"""


#: Modules whose commands are scenedet's own: the core and the reference plugin set.
OWN_MODULES = ("scenedet", "scenedet_kissing")


def is_own(command: click.Command) -> bool:
    """Whether ``command`` is defined by scenedet itself (or its reference set), not by a plugin."""
    module = getattr(command.callback, "__module__", None) or type(command).__module__
    return module.split(".")[0] in OWN_MODULES


def own_group(group: click.Group) -> click.Group:
    """A copy of ``group`` holding only its own commands (the original is left as it is)."""
    own = copy.copy(group)
    own.commands = {name: cmd for name, cmd in group.commands.items() if is_own(cmd)}
    return own


def render(group: click.Group | None = None) -> str:
    """The reference for ``group`` (default: the ``scenedet`` group), own commands only."""
    if group is None:
        from scenedet.cli import cli as group
    cli = own_group(group)

    parts = [INTRO]
    ctx = click.Context(cli, info_name="scenedet", terminal_width=100, max_content_width=100,
                        help_option_names=["-h", "--help"])
    ctx.meta["scenedet.builtin_only"] = True  # scenedet.cli._plugins.BUILTIN_ONLY: no plugin commands
    parts.append("## scenedet\n\n```\n" + cli.get_help(ctx) + "\n```\n")
    for name in sorted(cli.commands):
        command = cli.commands[name]
        sub = click.Context(command, info_name=name, parent=ctx,
                            terminal_width=100, max_content_width=100)
        parts.append(f"## scenedet {name}\n\n```\n" + command.get_help(sub) + "\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
