"""click parameter types shared by the commands."""

from __future__ import annotations

from typing import Any

import click

from scenedet.timefmt import parse_time


class TimeParam(click.ParamType):
    """Seconds given as ``123``, ``12.5s`` or ``00:02:03.500``."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_time(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


TIME = TimeParam()
