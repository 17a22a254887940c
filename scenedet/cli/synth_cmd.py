"""``scenedet synth``: render a labelled synthetic dataset (films + annotations) from a seed."""

from __future__ import annotations

import math
import re
from pathlib import Path

import click

from scenedet.errors import UsageError
from scenedet.cli import cli
from scenedet.cli.params import TIME


def _size(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value or "")
    if not m:
        raise click.BadParameter(f"{value!r}: use WIDTHxHEIGHT, e.g. 320x240", param_hint="--size")
    return int(m.group(1)), int(m.group(2))


@cli.command("synth")
@click.option("-o", "--output", "out_dir", required=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder to create the dataset in (missing folders are created). An interrupted run leaves the finished films and no partial one.")
@click.option("--films", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many films to render.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Everything (lengths, scenes, pictures, sound) follows from it.")
@click.option("--min-length", default="60", show_default=True, type=TIME, metavar="TIME",
              help="Shortest film (whole seconds, rounded up).")
@click.option("--max-length", default="600", show_default=True, type=TIME, metavar="TIME",
              help="Longest film (whole seconds, rounded down).")
@click.option("--min-scene", default="10", show_default=True, type=TIME, metavar="TIME",
              help="Shortest scene, positive or hard negative.")
@click.option("--max-scene", default="120", show_default=True, type=TIME, metavar="TIME",
              help="Longest scene.")
@click.option("--size", "size", default="320x240", show_default=True, metavar="WxH",
              help="Frame size in pixels (even numbers).")
@click.option("--fps", default=12.0, show_default=True, type=click.FloatRange(1, 120),
              help="Frames per second.")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already in DIR.")
@click.option("--kind", type=click.Choice(["scenes", "shots"]), default="scenes", show_default=True,
              help="scenes: films with kissing-like scenes (below); shots: films of shots with "
                   "known cuts, fades, dissolves and cues (black, silence, colour bars) for the "
                   "frame-level detectors, see docs/shots.md (uses --films, --seed, --size, "
                   "--fps (default 25 here), --shots).")
@click.option("--shots", "n_shots", default=12, show_default=True, type=click.IntRange(min=2),
              help="With --kind shots: shots per film.")
@click.option("-q", "--quiet", is_flag=True, help="No line per film on stderr.")
def synth_command(out_dir: Path, films: int, seed: int, min_length: float, max_length: float,
                  min_scene: float, max_scene: float, size: str, fps: float, overwrite: bool,
                  kind: str, n_shots: int, quiet: bool) -> None:
    """Render synthetic films with known scenes: a stand-in for labelled films.

    \b
    A scene of the kind shows two cues at once, for its whole length:
      picture: a solid magenta disc (RGB 255,0,255), 55% of the frame
               height across, drifting slowly, drawn over everything;
      sound:   a steady chord of sines at 600 Hz and 900 Hz.
    Hard negatives carry exactly one of the two; everything else is
    background (moving patterns and shapes that are never magenta, some
    with a disc of the cue's size in another colour; noise and tones at
    least 60 Hz away from 600 and 900 Hz). Scenes start and end on whole
    seconds; only the positives are annotated, so all other time is negative.

    \b
    Writes to DIR: film_000.mp4 ... (H.264 + AAC), annotations.csv
    (video,start,end,label), dataset.json (settings, cues, every film's
    scenes with their kind) and README.txt.

    \b
    Examples:
      scenedet synth -o synth --films 20 --seed 1
      scenedet synth -o tiny --films 2 --min-length 20 --max-length 30 \\
          --min-scene 4 --max-scene 8 --size 160x120 --fps 10

    The same seed and settings give the same films (frame for frame; the
    encoded bytes may differ between encoder builds). See
    docs/synthetic-data.md.
    """
    from scenedet.synth import synthesize

    width, height = _size(size)
    if kind == "shots":
        from scenedet.synth.shots import synthesize_shot_set

        source = click.get_current_context().get_parameter_source("fps")
        click.echo(synthesize_shot_set(
            out_dir, films=films, seed=seed, shots=n_shots, width=width, height=height,
            fps=25 if source == click.core.ParameterSource.DEFAULT else fps, overwrite=overwrite,
            say=None if quiet else (lambda line: click.echo(line, err=True))))
        return
    lengths = (math.ceil(min_length - 1e-9), math.floor(max_length + 1e-9))
    scenes = (math.ceil(min_scene - 1e-9), math.floor(max_scene + 1e-9))
    if lengths[0] > lengths[1]:
        raise UsageError(f"--min-length {min_length:g} s is longer than --max-length "
                         f"{max_length:g} s (films are whole seconds)")

    def report(plan, seconds: float) -> None:
        if not quiet:
            kinds = [s.kind for s in plan.scenes]
            click.echo(f"{plan.file}: {plan.duration} s, {kinds.count('positive')} positive, "
                       f"{len(kinds) - kinds.count('positive')} hard negative "
                       f"({plan.duration / max(seconds, 1e-9):.0f}x real time)", err=True)

    dataset = synthesize(out_dir, films=films, seed=seed, min_seconds=lengths[0],
                         max_seconds=lengths[1], min_scene=scenes[0], max_scene=scenes[1],
                         width=width, height=height, fps=fps, overwrite=overwrite,
                         progress=report)
    total = dataset.total_duration
    elapsed = dataset.render_seconds or 0.0
    n = len(dataset.films)
    click.echo(f"{n} film{'s' if n != 1 else ''}, {total // 60} min {total % 60} s in {out_dir} "
               f"({width}x{height}, {fps:g} fps, seed {seed})")
    click.echo(f"positive scenes: {dataset.count('positive')}; hard negatives: "
               f"{dataset.count('visual_only')} picture-only, {dataset.count('audio_only')} "
               f"sound-only")
    click.echo(f"annotations: {dataset.annotations_path}")
    click.echo(f"rendered in {elapsed:.1f} s ({total / max(elapsed, 1e-9):.0f} film-seconds per "
               f"second)")
