"""``scenedet plugins [NAME]``: what is installed, what each plugin registers and what went wrong."""

from __future__ import annotations

import difflib
import json
from typing import Any

import attrs
import click

from scenedet.cli import cli
from scenedet.cli._plugins import STRICT_KEY, flag, strict_error
from scenedet.errors import UsageError


@cli.command("plugins")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a listing.")
@click.pass_context
def plugins_command(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """List installed plugins in load order: version, module, hooks, components and problems.

    Plugins are found through the ``scenedet`` entry-point group of installed packages. A plugin
    that fails to load, or part of one (a misspelt hook, a refused component, a scene whose
    components are missing), is listed with the reason and its file:line; everything else keeps
    working. With --strict, exit 1 after the listing if there is any problem.

    With NAME, show one distribution (`scenedet plugins scenedet-shots`: its plugins and
    everything they registered), one component of any kind by name or alias (`scenedet plugins
    shots`: kind, summary, options with type, default and help, suffixes of an exporter, aliases,
    owner) or one plugin by its entry-point name. An unknown NAME is one line, exit 2.

    \b
    Status: ok, problems (partly loaded), failed (nothing loaded), disabled (by
    SCENEDET_PLUGINS or SCENEDET_DISABLE_PLUGINS). See docs/plugin-host.md.
    """
    from scenedet.plugin.host import get_host

    host = get_host()
    rows = host.report()
    if name is not None:
        _show_one(host, rows, name, as_json)
    elif as_json:
        failed = [{"name": r["name"], "error": r["problems"][0]["message"]}
                  for r in rows if r["status"] == "failed"]
        click.echo(json.dumps({"plugins": rows, "failed": failed}, indent=2))
    elif not rows:
        click.echo("No plugins installed.")
    for row in [] if as_json or name is not None else rows:
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


# -- scenedet plugins NAME ------------------------------------------------------------------------
def _lookup(host: Any, rows: list[dict], name: str) -> tuple[str, list[dict], list[tuple[str, Any]]]:
    """``(what matched, plugin rows, (kind, spec) components)`` for NAME, or a one-line error.

    A distribution first (``scenedet-shots``), then components of any kind (``shots``), then a
    plugin's entry-point name (``segmentors``).
    """
    from scenedet.plugin.host import normalize

    by_dist = [r for r in rows if r["distribution"] and normalize(r["distribution"]) == normalize(name)]
    if by_dist:
        return "distribution", by_dist, _components_of(host, by_dist)
    found = [(kind, reg.get(name)) for kind, reg in host.registries.items() if name in reg]
    if found:
        owners = {host.registries[kind].owner(spec.name) for kind, spec in found}
        return "component", [r for r in rows if r["name"] in owners], found
    by_plugin = [r for r in rows if r["name"] == name]
    if by_plugin:
        return "plugin", by_plugin, _components_of(host, by_plugin)
    raise UsageError(_unknown(host, rows, name))


def _components_of(host: Any, rows: list[dict]) -> list[tuple[str, Any]]:
    return [(kind, host.registries[kind].get(component)) for row in rows
            for kind, names in row["components"].items() for component in names
            if kind in host.registries]


def _unknown(host: Any, rows: list[dict], name: str) -> str:
    names: dict[str, str] = {}  # anything one may type -> what to suggest
    for row in rows:
        names[row["name"]] = row["name"]
        if row["distribution"]:
            names[row["distribution"]] = row["distribution"]
    for reg in host.registries.values():
        for key in reg.keys():
            names.setdefault(key, reg.get(key).name)
    near = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    hint = f"; did you mean {names[near[0]]!r}?" if near else ""
    dists = sorted({r["distribution"] for r in rows if r["distribution"]})
    return (f"no plugin, distribution or component named {name!r}{hint} (distributions: "
            f"{', '.join(dists) or 'none installed'}; `scenedet plugins` lists every one)")


def _jsonable(value: Any) -> Any:
    if attrs.has(type(value)) and hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def component_info(host: Any, kind: str, spec: Any) -> dict[str, Any]:
    """One component as ``scenedet plugins NAME --json`` shows it: every field of its spec but
    the callable, with its owner."""
    reg = host.registries[kind]
    owner = reg.owner(spec.name)
    info = host.plugins.get(owner)
    out: dict[str, Any] = {"name": spec.name, "kind": kind, "owner": owner,
                           "distribution": info.distribution if info else None,
                           "version": info.version if info else None}
    for field in attrs.fields(type(spec)):
        if field.name not in ("name", "factory", "function"):
            out[field.name] = _jsonable(getattr(spec, field.name))
    if kind == "detector":
        out.setdefault("options", [])
    return out


def _show_one(host: Any, rows: list[dict], name: str, as_json: bool) -> None:
    matched, plugin_rows, components = _lookup(host, rows, name)
    infos = [component_info(host, kind, spec) for kind, spec in components]
    if as_json:
        click.echo(json.dumps({"query": name, "match": matched, "plugins": plugin_rows,
                               "components": infos}, indent=2))
        return
    if matched != "component":
        for row in plugin_rows:
            _show(row)
    for info in infos:
        _show_component(info, host)


def _show_component(info: dict[str, Any], host: Any) -> None:
    owner = info["owner"]
    click.echo(f"{info['name']}  {info['kind']} from plugin {owner!r} ({host.describe(owner)})")
    if info.get("summary"):
        click.echo(f"  {info['summary']}")
    fields = dict(info)
    if info["kind"] == "detector":  # its picture size in one line
        w, h = fields.pop("width"), fields.pop("height")
        fields = {"frames": f"every frame at {w}x{h}" if w and h else "none (no pictures)", **fields}
    skip = {"name", "kind", "owner", "distribution", "version", "summary", "options"}
    for key, value in fields.items():
        if key in skip or (value in ((), [], "", None) and key != "feature_dim"):
            continue
        shown = (", ".join(map(str, value)) if isinstance(value, list)
                 else ("yes" if value else "no") if isinstance(value, bool) else value)
        click.echo(f"  {key + ':':16} {shown}")
    options = info.get("options")
    if options:
        click.echo(f"  {'options:':16} -O KEY=VALUE")
        kinds = [o["type"] + ("" if o["default"] is None else f" = {o['default']}") for o in options]
        name_width, kind_width = max(len(o["name"]) for o in options), max(map(len, kinds))
        for o, kind in zip(options, kinds):
            choices = f" (one of: {', '.join(map(str, o['choices']))})" if o["choices"] else ""
            click.echo(f"    {o['name']:{name_width}}  {kind:{kind_width}}  {o['help']}{choices}".rstrip())
    elif info["kind"] == "detector":
        click.echo(f"  {'options:':16} none declared (keywords pass to its factory as typed)")
