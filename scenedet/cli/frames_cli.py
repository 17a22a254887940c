"""The part of ``scenedet run`` for frame-level detectors and several plugins in one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from scenedet.cli.output import parse_options, parse_weight_overrides
from scenedet.errors import UsageError


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


def run_many(scenes: tuple[str, ...], video: Path, *, model: Path | None,
             outputs: tuple[Path, ...], aggregator: str | None, min_length: float | None,
             threshold: str | None, label_threshold: float | None, device: str, batch_size: int,
             threads: int | None, weights: tuple[str, ...], options: tuple[str, ...],
             snap_to: str | None, snap_tolerance: float, quiet: bool,
             batch_size_given: bool = False, precision: str = "fp32",
             device_preprocess: bool = False, media: Any = None, start: float | None = None,
             end: float | None = None, use_audio: bool = True,
             decode_workers: int | None = None) -> None:
    """``scenedet run`` with detectors or several plugins, over one decode of the film.

    ``outputs`` and ``media`` (an ``OutputPlan``'s clips, stills, plot, report): see
    :mod:`scenedet.outputs.several` (one plugin: any path; several: one combined JSON, or
    ``{scene}`` templates); no ``outputs``: the JSON on stdout. ``start``/``end``/``use_audio``/
    ``decode_workers``: :func:`~scenedet.inference.framerun.run_plugins`'s. ``--batch-size`` reaches the detectors
    only when given.
    """
    from scenedet.inference.framerun import FrameResult, run_plugins
    from scenedet.outputs.several import plan_outputs, write_outputs
    from scenedet.paths import default_model_path
    from scenedet.plugin._factory import get_scene, is_detector
    from scenedet.timefmt import format_time

    detectors = [s for s in scenes if is_detector(s)]
    learned = [s for s in scenes if not is_detector(s)]
    for scene in learned:
        get_scene(scene)  # an unknown name is the first thing to say
    # every output checked before any model loads or the film decodes
    planned = plan_outputs(outputs or ("-",), scenes, media)
    if len(learned) > 1 and model is not None:
        raise UsageError("--model goes with one scene; run the scenes one at a time")
    for scene in learned:
        if model is None and not default_model_path(get_scene(scene).name).is_file():
            raise UsageError(f"no model for scene {scene!r}: pass --model FILE, or install one at "
                             f"{default_model_path(get_scene(scene).name)} (scenedet train "
                             f"--plugin {scene} ... --install)")
    min_len = None
    if min_length is not None:
        if min_length != int(min_length) or min_length < 1:
            raise click.BadParameter("must be a whole number of seconds >= 1", param_hint="--min-length")
        min_len = int(min_length)
    scene_kwargs = dict(model=model, batch_size=batch_size, aggregator=aggregator, min_length=min_len, threshold=threshold,
                        label_threshold=label_threshold, threads=threads,
                        weights=parse_weight_overrides(weights), progress=False if quiet else None,
                        precision=precision, device_preprocess=device_preprocess)
    results = run_plugins(video, scenes, options=split_options(options, detectors + (
                              [snap_to] if snap_to and snap_to not in detectors else [])),
                          snap_to=snap_to, snap_tolerance=snap_tolerance,
                          scene_kwargs=scene_kwargs, device=device,
                          batch_size=batch_size if batch_size_given else None,
                          progress=False if quiet else None, start=start, end=end,
                          use_audio=use_audio, decode_workers=decode_workers)
    say = (lambda _line: None) if quiet else (lambda line: click.echo(line, err=True))
    written, stdout = write_outputs(results, planned, video, progress=False if quiet else None,
                                    say=say)
    if stdout is not None:
        click.echo(stdout, nl=False)
    if not written or quiet:
        return
    dicts = [r if isinstance(r, dict) else r.to_dict() for r in results]
    for result, data in zip(results, dicts):
        unit = "frames" if isinstance(result, FrameResult) else "s scored"
        count = data.get("n_frames", len(data.get("scores", [])))
        click.echo(f"{len(data['segments'])} {data['scene']} segment(s) in {data['video']} "
                   f"({count} {unit})", err=True)
        for s in data["segments"][:20]:
            score = "" if s.get("score") is None else f"  score {s['score']:.2f}"
            label = f"  {s['label']}" if s.get("label") else ""
            click.echo(f"  {format_time(s['start'])} - {format_time(s['end'])}{score}{label}", err=True)
    for target in planned.targets:  # the media files had their line as they were written
        if target.path is not None:
            click.echo(f"-> {target.path}", err=True)
