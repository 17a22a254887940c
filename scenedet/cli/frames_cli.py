"""``-O [NAME.]KEY=VALUE`` of ``scenedet run`` and ``scenedet batch``: options per detector."""

from __future__ import annotations

from typing import Any

import click

from scenedet.cli.output import parse_options


def split_options(values: tuple[str, ...], detectors: list[str]) -> dict[str, dict[str, Any]]:
    """``-O KEY=VALUE`` (to the only detector) or ``-O NAME.KEY=VALUE`` -> options per detector."""
    out: dict[str, dict[str, Any]] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        name, dot, option = key.rpartition(".")
        if not dot:
            if len(detectors) != 1:
                raise click.BadParameter(f"{value!r}: with several detectors, name one: "
                                         f"NAME.KEY=VALUE", param_hint="--option")
            name, option = detectors[0], key
        elif name not in detectors:
            raise click.BadParameter(f"{value!r}: {name!r} is not a detector of this run",
                                     param_hint="--option")
        out.setdefault(name, {}).update(parse_options((f"{option}{sep}{raw}",)))
    return out
