"""``scenedet segment``: cut cached per-second scores into scenes, without the model.

Imports no torch and no media code: re-segmenting with new parameters answers in well under a
second, so ``min_length`` and ``threshold`` can be tuned interactively on a film's saved scores.
"""

from __future__ import annotations


import click

from scenedet.errors import UsageError
from scenedet.cli import cli
from scenedet.cli.output import write_json
from scenedet.cli.params import TIME


@cli.command("segment")
@click.argument("scores", metavar="SCORES", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--aggregator", metavar="NAME",
              help="Registered aggregator (segmentor); `scenedet plugins` lists them: 'runs' "
                   "(the core's), 'interval' (the paper's), 'algorithm1' (its slow reference).  "
                   "[default: runs]")
@click.option("--min-length", "-l", type=TIME,
              help="Shortest scene: a whole number of seconds (10, 15s, 00:01:30).  [default: 10]")
@click.option("--threshold", "-t", metavar="T",
              help="Smallest fraction of positive seconds in a scene, in (0, 1]: 0.7 or 2/3 "
                   "(compared exactly, no float rounding).  [default: 0.7]")
@click.option("--label-threshold", type=float, metavar="P",
              help="Probability at or above which a second is positive (ignored for 0/1 "
                   "labels).  [default: 0.5]")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, allow_dash=True),
              default="-", help="Write the JSON here instead of stdout.")
def segment_command(scores: str, aggregator: str | None, min_length: float | None,
                    threshold: str | None, label_threshold: float | None, output: str) -> None:
    """Cut per-second SCORES into scenes and print them as JSON.

    \b
    SCORES is a file, or - for stdin, holding one value per second of film:
      * the JSON written by `scenedet run` (its "scores" are used);
      * a JSON list: [0.02, 0.91, 0.97, ...];
      * plain text, one number per line (line 1 is second 0).
    Integers (0/1) and true/false are labels. Numbers with a decimal point
    are probabilities in [0, 1]: a second is positive when its probability
    is >= --label-threshold, and each scene reports its mean probability.

    \b
    A scene is at least --min-length seconds long, starts and ends on a
    positive second, and holds at least --threshold positive seconds; of
    overlapping candidates the longer wins (docs/segmentors.md).
    An option left out takes the value the `scenedet run` output recorded
    in its "settings", else the default shown below.

    \b
    Output, on stdout or in --output (seconds; start inclusive, end exclusive):
      {"segments": [{"start": 1800, "end": 1921, "score": 0.93}, ...]}

    \b
    Examples:
      scenedet run --plugin kissing film.mp4 -o film.json
      scenedet segment film.json                        the run's scenes, instantly
      scenedet segment --min-length 15 --threshold 2/3 film.json
      printf '1\\n1\\n0\\n1\\n' | scenedet segment -l 3 -t 0.7 -
      scenedet segment --aggregator algorithm1 scores.txt -o scenes.json
    """
    from scenedet.segmentation.scorefiles import load_scores_and_settings
    from scenedet.segmentation.segments import segment
    from scenedet.segmentation.settings import resolve_settings

    values, recorded = load_scores_and_settings(scores)
    where = f"{'<stdin>' if scores == '-' else scores}: settings"
    given = {"aggregator": aggregator, "min_length": min_length, "threshold": threshold,
             "label_threshold": label_threshold}
    settings = resolve_settings(given, (recorded, where),
                                names={k: "--" + k.replace("_", "-") for k in given})
    segments = segment(values, **settings)
    write_json({"segments": [s.to_dict() for s in segments]}, output)
