"""``scenedet plugins``: what is installed and what each plugin registers."""

from __future__ import annotations

import json

import click

from scenedet.cli import cli


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a listing.")
def plugins_command(as_json: bool) -> None:
    """List installed plugins, their versions and every component each registers.

    Plugins are found through the ``scenedet`` entry-point group of installed packages. A plugin
    that fails to load is listed with the reason; the others keep working.
    """
    from scenedet.plugin._host import get_host

    host = get_host()
    rows = [
        {"name": info.name, "version": info.version, "module": info.module, "hooks": info.hooks,
         "components": info.components}
        for info in sorted(host.plugins.values(), key=lambda i: i.name)
    ]
    failed = [{"name": name, "error": reason} for name, reason in sorted(host.failures.items())]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "failed": failed}, indent=2))
        return
    if not rows and not failed:
        click.echo("No plugins installed.")
    for row in rows:
        click.echo(f"{row['name']} {row['version'] or ''}".rstrip() + f"  ({row['module']})")
        for kind, names in sorted(row["components"].items()):
            click.echo(f"  {kind + 's:':12} {', '.join(names)}")
    for row in failed:
        click.echo(f"{row['name']}  FAILED: {row['error']}")
