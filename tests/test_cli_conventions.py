"""CLI habits that hold across every command: a short flag means one thing everywhere."""

from __future__ import annotations

from collections import defaultdict

import click

from scenedet.cli import cli


def _builtin_commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    return {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)
            if cli.get_command(ctx, name).callback.__module__.startswith("scenedet.")}


def test_each_short_flag_names_one_long_option_in_every_command():
    meaning: dict[str, set[str]] = defaultdict(set)
    where: dict[str, list[str]] = defaultdict(list)
    for name, command in _builtin_commands().items():
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            shorts = [o for o in param.opts + param.secondary_opts if len(o) == 2]
            longs = [o for o in param.opts if o.startswith("--")]
            for short in shorts:
                meaning[short] |= set(longs)
                where[short].append(f"{name} {longs}")
    clashes = {s: sorted(where[s]) for s, longs in meaning.items() if len(longs) > 1}
    assert clashes == {}


def test_the_documented_short_flags_are_used_where_the_option_exists():
    expected = {"--plugin": "-p", "--model": "-m", "--output": "-o", "--annotations": "-a",
                "--quiet": "-q"}
    missing = []
    for name, command in _builtin_commands().items():
        for param in command.params:
            if isinstance(param, click.Option):
                for long, short in expected.items():
                    if long in param.opts and short not in param.opts:
                        missing.append(f"scenedet {name} {long} lacks {short}")
    assert missing == []
