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


class DecodeWorkersParam(click.ParamType):
    """``auto`` (None: chosen from the cores and the device) or a whole number >= 1."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> int | None:
        if value is None or isinstance(value, int):
            return value
        if str(value).strip().lower() == "auto":
            return None
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            self.fail(f"{value!r} is not a whole number >= 1 or 'auto'", param, ctx)
        return n


#: ``--decode-workers``: what ``run``, ``features`` and ``batch`` say about it.
DECODE_WORKERS_HELP = ("Decode the film with N workers, each a keyframe-aligned chunk of it; "
                       "the stills, audio and detectors' frames are identical to one worker's "
                       "(a part of the film, --start/--end, with detectors: one). auto: 1 on the CPU "
                       "(the models need the cores), cores - 2 (at most 16) with a GPU; see "
                       "docs/performance.md.")


def decode_workers_option(func: Any) -> Any:
    return click.option("--decode-workers", "decode_workers", type=DecodeWorkersParam(),
                        default="auto", show_default=True, metavar="N|auto",
                        help=DECODE_WORKERS_HELP)(func)


RUNTIME_HELP = ("What runs the networks on the cpu: auto (OpenVINO, else ONNX Runtime, else "
                "torch), openvino, onnxruntime or torch. Each is converted once (cached) and "
                "checked against torch within 1e-5; recorded in the results.")


def runtime_option(func: Any) -> Any:
    """``--runtime``: :data:`scenedet.runtime.RUNTIMES` (run, batch, features)."""
    from scenedet.runtime.names import RUNTIMES

    return click.option("--runtime", type=click.Choice(list(RUNTIMES)), default="auto",
                        show_default=True, help=RUNTIME_HELP)(func)


def precision_option(*, batch: bool = False) -> Any:
    """``--precision`` of run and batch (``batch``: changing it scores finished films again)."""
    text = ("fp32 (exact), fp16 (backbones in float16, cuda only) or auto: a faster precision, "
            "guarded. Scenes: fp16 on cuda, bf16 on a cpu with native bf16, while the checked "
            "batches' scores stay within 1e-3 of fp32's (the first and every 32nd; fp32 from the "
            "first that fails; unchecked batches measured up to 1.4e-3 off, same segments, on "
            "the benchmark film). shots: bf16 windows, each near a cut decision re-run in fp32 "
            "(the same cuts).")
    if batch:
        text += " Changing it scores finished films again."

    def decorate(func: Any) -> Any:
        return click.option("--precision", type=click.Choice(["fp32", "fp16", "auto"]),
                            default="fp32", show_default=True, help=text)(func)
    return decorate


SPEEDUP_HELP = ("Opt-in CPU speed-up of the scenes' models that changes their scores: int8 "
                "(backbones quantised, calibrated on the film's first 48 s; measured on 10-minute "
                "films: scores moved by up to 0.018 with one model, up to 0.55 with segments "
                "changed with another) or compile "
                "(torch.compile, scores within 1e-5; minutes to compile, pays off on long "
                "films). See docs/performance.md.")
