"""``scenedet train``: train a scene's classifier on annotated films."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.cli import cli
from scenedet.cli.params import OUTPUT_HELP
from scenedet.errors import UsageError


@cli.command("train")
@click.option("--plugin", "-p", "scene", required=True, metavar="NAME", help="Scene to train (see `scenedet plugins`).")
@click.option("--annotations", "-a", required=True, type=click.Path(path_type=Path), metavar="FILE",
              help="Annotations CSV or JSON (video,start,end[,label]).")
@click.option("--videos", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Where the annotated films are (default: the annotation file's folder).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="MODEL", help="Model file to write. " + OUTPUT_HELP)
@click.option("--visual", default="default", show_default=True, metavar="NAME",
              help="Visual backbone: the scene's (default), another (resnet18, densenet121, r3d34, timm:<model>) or none.")
@click.option("--audio", default="default", show_default=True, metavar="NAME",
              help="Audio backbone: the scene's (default), another, or none.")
@click.option("--head", default="default", show_default=True, metavar="NAME",
              help="Head: the scene's (default), linear (each second alone) or temporal (the seconds around each one; docs/heads.md).")
@click.option("--backbone-weights", default="pretrained", show_default=True, metavar="W",
              help="pretrained, or random:SEED where no pretrained weights can be had.")
@click.option("--train-all", is_flag=True, help="Fine-tune the backbones too (slow on CPU), with the paper's augmentation.")
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--seed", default=0, show_default=True, type=int, help="Seeds the film split and the training.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--install", is_flag=True, help="Also install the model where `scenedet run --plugin NAME` finds it.")
@click.option("--metrics", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write per-epoch and final metrics as JSON here too (they are in the model file anyway).")
@click.option("--quiet", "-q", is_flag=True, help="Only the final line.")
def train_command(scene: str, annotations: Path, videos: Path | None, output: Path, visual: str,
                  audio: str, head: str, backbone_weights: str, train_all: bool, epochs: int, batch_size: int,
                  lr: float, seed: int, device: str, install: bool, metrics: Path | None,
                  quiet: bool) -> None:
    """Train the classifier of a scene: the paper's recipe by default.

    \b
    Films are split 80/10/10 by film (seeded), so no film is in two splits. Head-only training
    (default) reads per-second features from the feature cache: each film is decoded once, and
    later runs with other settings are fast. The best epoch on validation F1 is kept; the
    min_length and threshold with the best segment F1 on the validation films are stored in
    the model file, and `run` uses them unless told otherwise.

    \b
    Examples:
      scenedet train -p kissing -a annotations.csv -o kissing.pt --install
      scenedet train -p kissing -a data/annotations.csv --visual densenet121 --audio none -o dn.pt
      scenedet train -p kissing -a data/annotations.csv --train-all --epochs 5 -o ft.pt
      scenedet train -p kissing -a data/annotations.csv --head temporal -o temporal.pt
    """
    from scenedet.training.train import BackboneChoiceError, TrainConfig, train_scene

    config = TrainConfig(scene=scene, annotations=str(annotations), output=str(output),
                         videos=str(videos) if videos else None, visual=visual, audio=audio,
                         head=head,
                         backbone_weights=backbone_weights, train_all=train_all, epochs=epochs,
                         batch_size=batch_size, lr=lr, seed=seed, device=device, install=install)
    log = (lambda _msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    try:
        result = train_scene(config, log=log, progress=False if quiet else None)
    except BackboneChoiceError as exc:  # name the option the user gave
        raise UsageError(f"--{exc.modality} {exc.choice!r} is not a {exc.modality} backbone "
                         f"(it is {exc.actual})") from None
    if metrics is not None:
        from scenedet.cli.output import write_json

        write_json(result.metrics(), metrics)
    chosen = result.segmentation
    settings = (f"; min_length {chosen['min_length']}, threshold {chosen['threshold']} chosen on "
                f"validation" if chosen else "")
    click.echo(f"{result.model_path}: test F1 {result.test['f1']:.3f} "
               f"(val F1 {result.val['f1']:.3f}, best epoch {result.best_epoch}{settings})")
