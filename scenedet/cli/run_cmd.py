"""``scenedet run``: find the scenes of one scene plugin in a film."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.errors import UsageError

from scenedet.cli import cli
from scenedet.cli.output import parse_weight_overrides, write_json
from scenedet.cli.params import TIME


@cli.command("run")
@click.option("--plugin", "-p", "scenes", required=True, multiple=True, metavar="NAME",
              help="Scene or frame-level detector to run, as registered by a plugin (see "
                   "`scenedet plugins`); repeat to run several over one decode.")
@click.argument("video", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--model", "-m", type=click.Path(path_type=Path), metavar="PATH",
              help="Model file (default: the scene's installed model, see `scenedet train --install`).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT",
              help="Write the JSON result here (default: print it to stdout).")
@click.option("--aggregator", metavar="NAME", help="Segmentor (default: the scene's; `scenedet plugins` lists them).")
@click.option("--min-length", "-l", type=TIME, metavar="TIME", help="Shortest scene, whole seconds (default: the scene's, 10 for kissing).")
@click.option("--threshold", "-t", metavar="T", help="Least fraction of positive seconds in a scene, in (0, 1] (default: the scene's).")
@click.option("--label-threshold", type=float, metavar="P", help="Probability from which a second counts as positive (default 0.5).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1), help="Seconds per model batch.")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for the models (default: one per core).")
@click.option("--weights", "weights", multiple=True, metavar="NAME=PATH",
              help="Backbone weight file for offline use, e.g. resnet18=resnet18-f37072fd.pth (repeatable).")
@click.option("--option", "-O", "options", multiple=True, metavar="[NAME.]KEY=VALUE",
              help="Option of a frame-level detector, e.g. -O threshold=0.4 or "
                   "-O shots-content.min_shot=10 (repeatable).")
@click.option("--snap-to", metavar="DETECTOR",
              help="Move each scene's start and end to the nearest cut this shot detector finds "
                   "(e.g. shots), in the same run.")
@click.option("--snap-tolerance", default="2", show_default=True, type=TIME, metavar="TIME",
              help="With --snap-to: farthest a boundary moves.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
def run_command(scenes: tuple[str, ...], video: Path, model: Path | None, output: Path | None,
                aggregator: str | None, min_length: float | None, threshold: str | None,
                label_threshold: float | None, device: str, batch_size: int, threads: int | None,
                weights: tuple[str, ...], options: tuple[str, ...], snap_to: str | None,
                snap_tolerance: float, quiet: bool) -> None:
    """Score every whole second of VIDEO and cut the scenes.

    \b
    Examples:
      scenedet run --plugin kissing film.mp4                 JSON to stdout
      scenedet run -p kissing film.mp4 -o film.json --device cuda --batch-size 64
      scenedet run -p kissing film.mp4 --min-length 15s --threshold 0.8
      scenedet run -p kissing film.mp4 --weights resnet18=~/w/resnet18-f37072fd.pth

    The JSON has "segments" ([{"start", "end", "score"}], seconds, end exclusive, score = mean
    probability inside) and "scores" (one probability per second). Re-cut it later without the
    models: `scenedet segment --min-length 20 film.json`.

    \b
    Frame-level detectors (no model to train; see docs/shots.md):
      scenedet run -p shots film.mp4                  shots, TransNetV2
      scenedet run -p shots-content film.mp4 -O threshold=2.5   classical
      scenedet run -p cues film.mp4                   black, silence, colour bars
      scenedet run -p shots -p cues film.mp4          one decode, a list of results
      scenedet run -p kissing -p shots film.mp4 --snap-to shots
    Their segments carry "start"/"end" in seconds and "start_frame"/"end_frame"
    (end exclusive) and a "score" (a shot's: the confidence of its cut).
    """
    from scenedet.plugin._factory import is_detector

    if len(scenes) > 1 or snap_to is not None or any(is_detector(s) for s in scenes):
        from scenedet.cli.frames_cli import run_many

        run_many(scenes, video, model=model, output=output, aggregator=aggregator,
                 min_length=min_length, threshold=threshold, label_threshold=label_threshold,
                 device=device, batch_size=batch_size, threads=threads, weights=weights,
                 options=options, snap_to=snap_to, snap_tolerance=snap_tolerance, quiet=quiet,
                 batch_size_given=click.get_current_context().get_parameter_source("batch_size")
                 is not click.core.ParameterSource.DEFAULT)
        return
    if options:
        raise UsageError("--option is for frame-level detectors (e.g. -p shots)")
    _run_one(scenes[0], video, model, output, aggregator, min_length, threshold, label_threshold,
             device, batch_size, threads, weights, quiet)


def _run_one(scene: str, video: Path, model: Path | None, output: Path | None,
             aggregator: str | None, min_length: float | None, threshold: str | None,
             label_threshold: float | None, device: str, batch_size: int, threads: int | None,
             weights: tuple[str, ...], quiet: bool) -> None:
    from scenedet.inference.pipeline import run_scene
    from scenedet.timefmt import format_time

    if model is None:
        from scenedet.paths import default_model_path
        from scenedet.plugin._factory import check_scene_usable, get_scene

        # an unusable scene (components missing) says so, not "no model" (run_scene checks too)
        installed = default_model_path(check_scene_usable(get_scene(scene)).name)
        if not installed.is_file():
            raise UsageError(f"no model for scene {scene!r}: pass --model FILE, or install one at "
                             f"{installed} (scenedet train --plugin {scene} ... --install)")
    min_len = None
    if min_length is not None:
        if min_length != int(min_length) or min_length < 1:
            raise click.BadParameter("must be a whole number of seconds >= 1", param_hint="--min-length")
        min_len = int(min_length)
    result = run_scene(video, scene=scene, model=model, aggregator=aggregator, min_length=min_len,
                       threshold=threshold, label_threshold=label_threshold, device=device,
                       batch_size=batch_size, threads=threads,
                       weights=parse_weight_overrides(weights), progress=False if quiet else None)
    write_json(result.to_dict(), output)
    if output is not None and not quiet:
        click.echo(f"{len(result.segments)} {result.scene} scene(s) in {result.video} "
                   f"({len(result.scores)} s scored) -> {output}", err=True)
        for s in result.segments:
            click.echo(f"  {format_time(s.start)} - {format_time(s.end)}  score {s.score:.2f}", err=True)
