"""``scenedet run``: find the scenes of one scene plugin in a film."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.errors import UsageError
from scenedet.files import check_output

from scenedet.cli import cli
from scenedet.cli.export_cmd import _OUTPUT_HELP, output_options, plan_from
from scenedet.cli.output import parse_weight_overrides
from scenedet.cli.params import TIME, part_options, resolve_part


@cli.command("run")
@click.option("--plugin", "-p", "scene", required=True, metavar="NAME",
              help="Scene to detect, as registered by a plugin (see `scenedet plugins`).")
@click.argument("video", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--model", "-m", type=click.Path(path_type=Path), metavar="PATH",
              help="Model file (default: the scene's installed model, see `scenedet train --install`).")
@click.option("-o", "--output", "outputs", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help=_OUTPUT_HELP + " Default: the JSON on stdout.")
@click.option("--aggregator", metavar="NAME", help="Segmentor (default: the scene's; `scenedet plugins` lists them).")
@click.option("--min-length", "-l", type=TIME, metavar="TIME", help="Shortest scene, whole seconds (default: the scene's, 10 for kissing).")
@click.option("--threshold", "-t", metavar="T", help="Least fraction of positive seconds in a scene, in (0, 1] (default: the scene's).")
@click.option("--label-threshold", type=float, metavar="P", help="Probability from which a second counts as positive (default 0.5).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1), help="Seconds per model batch.")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for the models (default: one per core).")
@click.option("--weights", "weights", multiple=True, metavar="NAME=PATH",
              help="Backbone weight file for offline use, e.g. resnet18=resnet18-f37072fd.pth (repeatable).")
@part_options
@click.option("--no-audio", is_flag=True,
              help="Ignore the film's audio track: the audio model hears silence (recorded in the settings).")
@output_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
def run_command(scene: str, video: Path, model: Path | None, outputs: tuple[Path, ...],
                aggregator: str | None, min_length: float | None, threshold: str | None,
                label_threshold: float | None, device: str, batch_size: int, threads: int | None,
                weights: tuple[str, ...], start: float | None, end: float | None,
                duration: float | None, no_audio: bool, quiet: bool, **output_opts: object) -> None:
    """Score every whole second of VIDEO and cut the scenes.

    \b
    Examples:
      scenedet run --plugin kissing film.mp4                 JSON to stdout
      scenedet run -p kissing film.mp4 -o film.json --device cuda --batch-size 64
      scenedet run -p kissing film.mp4 --min-length 15s --threshold 0.8
      scenedet run -p kissing film.mp4 --weights resnet18=~/w/resnet18-f37072fd.pth
      scenedet run -p kissing film.mp4 -o film.json -o film.edl -o film.csv
      scenedet run -p kissing film.mp4 -o film.json --clips clips/ --report film.html
      scenedet run -p kissing film.mp4 --start 00:20:00 --duration 5:00   a part only

    The JSON has "segments" ([{"start", "end", "score"}], seconds of film time, end
    exclusive, score = mean probability inside, plus frames and SMPTE timecodes at the film's
    frame rate), "frame_rate", "scores" (one probability per second from second "start" on:
    0 unless --start) and, when packets of a damaged film were skipped, "damage" (how many,
    which seconds; those seconds got silence or the previous still). Re-cut it later without
    the models: `scenedet segment --min-length 20 film.json`; convert it with `scenedet export`.
    """
    from scenedet.inference.pipeline import run_scene
    from scenedet.segmentation.segments import to_fraction, to_label_threshold

    # The settings first (one parser, shared with `scenedet segment`): a mistake there is
    # reported before any model is looked for or loaded.
    start, end = resolve_part(start, end, duration)
    fraction = to_fraction(threshold, "--threshold") if threshold is not None else None
    if label_threshold is not None:
        to_label_threshold(label_threshold, "--label-threshold")
    min_len = None
    if min_length is not None:
        if min_length != int(min_length) or min_length < 1:
            raise click.BadParameter("must be a whole number of seconds >= 1", param_hint="--min-length")
        min_len = int(min_length)
    to_stdout = not outputs or any(str(o) == "-" for o in outputs)  # "-o -": JSON on stdout
    plan = plan_from(tuple(o for o in outputs if str(o) != "-"), output_opts)  # checked before
    # the models load: an unknown suffix fails at once
    for out in outputs:
        if str(out) != "-":
            check_output(out)  # before the film is scored, not after

    if model is None:
        from scenedet.paths import default_model_path
        from scenedet.plugin._factory import check_scene_usable, get_scene

        # an unusable scene (components missing) says so, not "no model" (run_scene checks too)
        installed = default_model_path(check_scene_usable(get_scene(scene)).name)
        if not installed.is_file():
            raise UsageError(f"no model for scene {scene!r}: pass --model FILE, or install one at "
                             f"{installed} (scenedet train --plugin {scene} ... --install)")
    result = run_scene(video, scene=scene, model=model, aggregator=aggregator, min_length=min_len,
                       threshold=fraction, label_threshold=label_threshold, device=device,
                       batch_size=batch_size, threads=threads,
                       weights=parse_weight_overrides(weights), progress=False if quiet else None,
                       start=start, end=end, use_audio=not no_audio)
    _write_outputs(result, plan, quiet, to_stdout)


def _write_outputs(result, plan, quiet: bool, to_stdout: bool) -> None:
    """The scenes with frames and timecodes, to every output ``plan`` names (JSON on stdout
    when no -o is given)."""
    from scenedet.outputs.document import scenes_of
    from scenedet.outputs.formats import to_json
    from scenedet.outputs.produce import produce, summary_lines

    scenes = scenes_of(result)
    say = (lambda _line: None) if quiet else (lambda line: click.echo(line, err=True))
    produce(scenes, plan, progress=False if quiet else None, say=say)
    if to_stdout:
        click.echo(to_json(scenes), nl=False)
    elif not quiet:
        click.echo(f"{len(scenes.scenes)} {result.scene} scene(s) in {result.video} "
                   f"({len(result.scores)} s scored):", err=True)
        for line in summary_lines(scenes):
            click.echo(line, err=True)
