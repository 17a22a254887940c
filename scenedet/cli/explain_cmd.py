"""``scenedet explain``: saliency maps of a scene model at chosen seconds of a film."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.cli import cli
from scenedet.cli.output import parse_weight_overrides
from scenedet.cli.params import part_options, resolve_part


@cli.command("explain")
@click.option("--plugin", "-p", "scene", required=True, metavar="NAME",
              help="Scene the model detects (see `scenedet plugins`).")
@click.option("--model", "-m", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Model file (default: the scene's installed model).")
@click.argument("video", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--at", "at", metavar="TIMES",
              help="Seconds to explain: 12,40,00:01:05 or ranges 10-15 (second k covers [k, k+1)). "
                   "Or give a part (--start/--end/--duration): every whole second in it.")
@part_options
@click.option("-o", "--output", "output", required=True,
              type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for the overlays (PNG) and raw maps (.npy).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--weights", "weights", multiple=True, metavar="NAME=PATH",
              help="Backbone weight file for offline use (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no summary.")
def explain_command(scene: str, model: Path | None, video: Path, at: str | None,
                    start: float | None, end: float | None, duration: float | None,
                    output: Path, device: str, weights: tuple[str, ...], quiet: bool) -> None:
    """Show which pixels drive the model's score at chosen seconds of VIDEO.

    For each second: the gradient of the positive class's score with respect to the
    input pixels, maximum of its absolute value over the colour channels (the paper's
    saliency, section 6.3.1). Writes FILM-second-00012.png (the still with the map as
    a heat overlay) and FILM-second-00012.npy (the map, still size, float32).

    \b
    Examples:
      scenedet explain -p kissing -m kissing.pt film.mp4 --at 12,40 -o saliency/
      scenedet explain -p kissing film.mp4 --at 00:30:00-00:30:05 -o saliency/
      scenedet explain -p kissing film.mp4 --start 30:00 --duration 5 -o saliency/
    """
    from scenedet.errors import NoModelError, UsageError
    from scenedet.inference.model import build_scene_model, resolve_device
    from scenedet.inference.modelfile import load_model_file
    from scenedet.outputs.produce import CountProgress
    from scenedet.outputs.saliency import parse_seconds, saliency, seconds_in_part, write_saliency
    from scenedet.paths import default_model_path
    from scenedet.plugin.registry import get_scene

    start, end = resolve_part(start, end, duration)
    if at is not None and (start is not None or end is not None):
        raise click.UsageError("give --at or a part (--start/--end/--duration), not both")
    if at is None:
        if end is None:
            raise click.UsageError("say which seconds: --at TIMES, or --start with --end/--duration")
        seconds = seconds_in_part(start or 0.0, end)
        if not seconds:
            raise click.BadParameter("the part holds no whole second", param_hint="--end")
    else:
        try:
            seconds = parse_seconds(at)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--at") from None
    spec = get_scene(scene)
    path = model if model is not None else default_model_path(spec.name)
    if not path.is_file():
        if model is None:
            raise NoModelError(spec.name, path)
        raise UsageError(f"model file not found: {path}")
    dev = resolve_device(device)
    scene_model = build_scene_model(load_model_file(path), spec.name, device=dev,
                                    weights=parse_weight_overrides(weights))
    bar = CountProgress(len(seconds), label="saliency: ", unit="seconds",
                        enabled=False if quiet else None)
    try:
        maps = saliency(scene_model, video, seconds, device=dev, progress=bar.update)
    finally:
        bar.close()
    written = write_saliency(maps, output, stem=video.stem)
    if not quiet:
        for m in maps:
            click.echo(f"  second {m.second}: P({spec.name}) = {m.probability:.2f}", err=True)
        click.echo(f"{len(maps)} saliency map(s) ({len(written)} files) -> {output}", err=True)
