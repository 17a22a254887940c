"""``scenedet suggest``: the stretches of a library where a model is least sure, to label first."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.cli import cli
from scenedet.cli.params import OUTPUT_HELP


@cli.command("suggest")
@click.argument("library", metavar="FILM|FOLDER", type=click.Path(path_type=Path))
@click.option("--model", "-m", "models", required=True, multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="A trained model; give two (a temporal and a linear head) to rank their "
                   "disagreement too.")
@click.option("-n", "count", default=20, show_default=True, type=click.IntRange(min=1),
              help="How many stretches.")
@click.option("--length", default=10, show_default=True, type=click.IntRange(min=1),
              help="Seconds per stretch.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              default=Path("suggested.json"), show_default=True,
              help="Suggestions file for `scenedet review --suggested`. " + OUTPUT_HELP)
@click.option("--rule", type=click.Choice(["uncertain+positive", "uncertain"]),
              default="uncertain+positive", show_default=True,
              help="How a second scores: uncertainty plus the probability of the scene (finds "
                   "the rare scene's positives), or uncertainty alone.")
@click.option("--annotations", "-a", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Leave out what this annotations file labels already (if it exists).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--quiet", "-q", is_flag=True, help="Only the final line.")
def suggest_command(library: Path, models: tuple[Path, ...], count: int, length: int,
                    output: Path, rule: str, annotations: Path | None, device: str,
                    quiet: bool) -> None:
    """Rank the stretches of a library where the model is least sure: label those first.

    \b
    Each second scores 1 - |2p - 1| (p the model's probability), plus the spread between the
    models when several are given, plus p itself (--rule uncertain+positive, the default: a
    rare scene's positives are found, not only its look-alikes); a stretch scores its seconds'
    mean. The best N stretches that do not overlap are written, best first.

    \b
    Examples:
      scenedet suggest --model fight.pt films/ -n 20 -o suggested.json
      scenedet suggest -m fight.pt films/ -a labels.csv -o suggested.json
      scenedet review films/ --suggested suggested.json
    """
    from scenedet.review.suggest import save_suggestions, suggest

    log = (lambda _msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    stretches = suggest(library, models, count, length=length, device=device, rule=rule,
                        annotations=annotations, log=log)
    save_suggestions(output, stretches, library)
    click.echo(f"{output}: {len(stretches)} stretch(es) of {length} s to label, best first")
