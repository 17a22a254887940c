"""Writing results: atomically, so a failed run never leaves a partial output file behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from scenedet import files


def write_json(data: Any, output: str | Path | None) -> None:
    """Write ``data`` as JSON to ``output`` (atomically), or to stdout when ``output`` is None/-."""
    text = json.dumps(data, indent=2) + "\n"
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    files.write_text(output, text)


def parse_weight_overrides(values: tuple[str, ...]) -> dict[str, str]:
    """``--weights NAME=PATH`` (repeatable) -> ``{NAME: PATH}``."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{value!r}: use NAME=PATH, e.g. resnet18=resnet18-f37072fd.pth",
                                     param_hint="--weights")
        out[name.strip()] = path.strip()
    return out


def parse_options(values: tuple[str, ...]) -> dict[str, object]:
    """``-O KEY=VALUE`` (repeatable) -> raw keyword arguments; numbers become int or float.

    Only the syntax is checked here (``-`` in a key becomes ``_``). Whether a key exists and what
    type its value has is :func:`scenedet.plugin.check_options`'s job, against the options the
    plugin declared."""
    out: dict[str, object] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"{value!r}: use KEY=VALUE, e.g. size=224", param_hint="--option")
        out[key] = _number(raw.strip())
    return out


def _number(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
