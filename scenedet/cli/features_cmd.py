"""``scenedet features``: per-second inputs or features of one extractor or backbone."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.cli import cli
from scenedet.cli.params import (OUTPUT_HELP, decode_workers_option, part_options, resolve_part,
                                  runtime_option)
from scenedet.errors import UsageError


@cli.command("features")
@click.option("--extractor", "-e", "name", required=True, metavar="NAME",
              help="An extractor (still, audio-logmel, ...) or a backbone (resnet18, vggish, timm:<model>, ...).")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT.npy",
              help="Where to write the array (NumPy .npy, one row per second). Optional for "
                   "backbones: their features always go to the feature cache too. " + OUTPUT_HELP)
@click.option("--weights", default="pretrained", show_default=True, metavar="W",
              help="Backbone weights: pretrained, random:SEED or a weight file path.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for the backbone (default: one per core).")
@runtime_option
@decode_workers_option
@click.option("--option", "-O", "options", multiple=True, metavar="KEY=VALUE",
              help="Option for the extractor or backbone, e.g. -O size=224 -O clip=motion for r3d34 (repeatable).")
@part_options
@click.option("--no-audio", is_flag=True, help="Ignore the film's audio track (audio extractors get silence).")
@click.option("--yes", "-y", is_flag=True, help="Write an output larger than 2 GB (refused otherwise, with its size).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--profile", is_flag=True,
              help="Print where the time went to stderr at the end; also SCENEDET_PROFILE=1.")
def features_command(name: str, video: Path, output: Path | None, weights: str, device: str,
                     batch_size: int, options: tuple[str, ...], start: float | None,
                     end: float | None, duration: float | None, no_audio: bool, yes: bool,
                     quiet: bool, profile: bool, decode_workers: int | None = None,
                     runtime: str = "auto", threads: int | None = None) -> None:
    """Write one row per whole second of VIDEO: an extractor's input or a backbone's features.

    \b
    Examples:
      scenedet features -e audio-logmel film.mp4 -o logmel.npy     (n, 96, 64) patches
      scenedet features -e resnet18 film.mp4 -o resnet18.npy       (n, 512) features
      scenedet features -e timm:convnext_tiny --weights random:0 film.mp4 -o f.npy
      scenedet features -e r3d34 -O clip=motion -O size=112 --weights r3d34_K.pth film.mp4 -o m.npy

    Backbone features are computed once per film, backbone, weights and options and kept in
    the feature cache ($SCENEDET_HOME/features), which `scenedet train` reads: run this on
    your films once (without -o) and training never decodes them again. `scenedet plugins`
    lists every extractor and backbone. Load a result with numpy.load(OUT, mmap_mode="r").
    With --start/--end/--duration, row 0 is second floor(START) (parts are not cached: give -o).
    """
    from scenedet import profiling
    from scenedet.cli.output import parse_options
    from scenedet.errors import ConfirmationNeeded
    from scenedet.inference.extract import extract_features, is_extractor

    if profile:
        profiling.enable()
    start, end = resolve_part(start, end, duration)
    if output is None and is_extractor(name):
        raise UsageError(f"{name!r} is an extractor: give -o OUT.npy (only backbone features "
                         f"are cached)")
    try:
        array = extract_features(video, name, output, weights=weights, device=device,
                                 batch_size=batch_size, progress=False if quiet else None,
                                 start=start, end=end, use_audio=not no_audio, yes=yes,
                                 decode_workers=decode_workers, runtime=runtime, threads=threads,
                                 **parse_options(options))
    except ConfirmationNeeded as exc:
        raise ConfirmationNeeded(f"{exc}; with --yes it is written") from None
    if not quiet:
        click.echo(f"{output or 'feature cache'}: {array.shape} {array.dtype}", err=True)
    if profiling.PROFILE.enabled:
        click.echo(profiling.PROFILE.report(), err=True)
