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


#: What every ``-o`` option's help says about the file it writes (see :mod:`scenedet.files`).
OUTPUT_HELP = ("Missing folders are created; an existing file is replaced only once the new one "
               "is complete; a device or FIFO (/dev/stdout) is written into.")


def part_options(func: Any) -> Any:
    """``--start``, ``--end`` and ``--duration``: score a part of the film (seeking to it)."""
    for option in reversed((
        click.option("--start", "start", type=TIME, metavar="TIME",
                     help="Begin here (film time; seeks, does not decode what is before)."),
        click.option("--end", "end", type=TIME, metavar="TIME",
                     help="Stop here (film time, exclusive). Results keep film times."),
        click.option("--duration", "duration", type=TIME, metavar="TIME",
                     help="Stop this long after --start (instead of --end)."),
    )):
        func = option(func)
    return func


def resolve_part(start: float | None, end: float | None, duration: float | None
                 ) -> tuple[float | None, float | None]:
    """``(start, end)`` from the three options; --end and --duration together are a usage error."""
    if duration is not None:
        if end is not None:
            raise click.UsageError("give --end or --duration, not both")
        if duration <= 0:
            raise click.BadParameter("must be more than 0", param_hint="--duration")
        end = (start or 0.0) + duration
    return start, end
