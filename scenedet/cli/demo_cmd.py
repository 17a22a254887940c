"""``scenedet demo``: the whole path on a generated dataset, in a few minutes."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.cli import cli


@cli.command("demo")
@click.option("--dir", "root", default="scenedet-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Working folder (the dataset is reused if it is already there).")
@click.option("--films", default=10, show_default=True, type=click.IntRange(min=3))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--backbone-weights", default="random:0", show_default=True, metavar="W",
              help="random:SEED (no download needed) or pretrained (weights in the hub cache).")
@click.option("--device", default="cpu", show_default=True)
def demo_command(root: Path, films: int, seed: int, backbone_weights: str, device: str) -> None:
    """Generate a labelled dataset, train, run on held-out films, evaluate.

    The films carry an artificial scene (a magenta disc together with a 600+900 Hz chord) and
    hard negatives with only one of the two cues; see docs/synthetic-data.md. It is a test
    pattern for the toolkit, not kissing data. Takes a few minutes on 2 CPU cores.
    """
    from scenedet.demo import run_demo

    run_demo(root, films=films, seed=seed, backbone_weights=backbone_weights, device=device,
             log=lambda m: click.echo(m))
