"""``scenedet plugins``: what is installed, what each plugin registers and what went wrong."""

from __future__ import annotations

import json

import click

from scenedet.cli import cli
from scenedet.cli._plugins import STRICT_KEY, flag, strict_error


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a listing.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins in load order: version, module, hooks, components and problems.

    Plugins are found through the ``scenedet`` entry-point group of installed packages. A plugin
    that fails to load, or part of one (a misspelt hook, a refused component, a scene whose
    components are missing), is listed with the reason and its file:line; everything else keeps
    working. With --strict, exit 1 after the listing if there is any problem.

    \b
    Status: ok, problems (partly loaded), failed (nothing loaded), disabled (by
    SCENEDET_PLUGINS or SCENEDET_DISABLE_PLUGINS). See docs/plugin-host.md.
    """
    from scenedet.plugin._host import get_host

    host = get_host()
    rows = host.report()
    if as_json:
        failed = [{"name": r["name"], "error": r["problems"][0]["message"]}
                  for r in rows if r["status"] == "failed"]
        click.echo(json.dumps({"plugins": rows, "failed": failed}, indent=2))
    elif not rows:
        click.echo("No plugins installed.")
    for row in [] if as_json else rows:
        _show(row)
    problems = host.problems()
    if problems and flag(ctx, STRICT_KEY):
        raise strict_error(problems)


def _show(row: dict) -> None:
    head = f"{row['name']} {row['version'] or ''}".rstrip() + f"  ({row['module']})"
    problems = row["problems"]
    if row["status"] in ("failed", "disabled"):
        first = problems[0]
        where = f" ({first['where']})" if first["where"] else ""
        click.echo(f"{head}  {row['status'].upper()}: {first['message']}{where}")
        problems = problems[1:]
    elif problems:
        click.echo(f"{head}  {len(problems)} problem{'s' if len(problems) > 1 else ''}")
    else:
        click.echo(head)
    if row["hooks"]:
        click.echo(f"  {'hooks:':12} {', '.join(row['hooks'])}")
    for kind, names in sorted(row["components"].items()):
        click.echo(f"  {kind + 's:':12} {', '.join(names)}")
    for problem in problems:
        where = f" ({problem['where']})" if problem["where"] else ""
        click.echo(f"  {'problem:':12} {problem['message']}{where}")
