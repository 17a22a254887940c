"""``scenedet evaluate``: score scenes found in films against their annotations."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scenedet.errors import UsageError
from scenedet.cli import cli
from scenedet.cli.params import OUTPUT_HELP


@cli.command("evaluate")
@click.option("--annotations", "-a", "annotations_path", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Annotated scenes: CSV (video,start,end[,label]) or JSON.")
@click.option("--predictions", "prediction_files", multiple=True, metavar="RESULT.json",
              type=click.Path(dir_okay=False, path_type=Path),
              help="A `scenedet run` JSON output (repeat for more films; a file may also hold a "
                   "list of them).")
@click.option("--model", "-m", metavar="MODEL", type=click.Path(dir_okay=False, path_type=Path),
              help="Run this model file on the annotated films instead (as `scenedet run`).")
@click.option("--plugin", "-p", "scene", metavar="SCENE", default=None,
              help="With --model: the scene to run (default: the one the model was trained for).")
@click.option("--split", type=click.Choice(["train", "val", "test", "all"]), default="all",
              show_default=True,
              help="With --model: only the films of this split of the model's training.")
@click.option("--device", default="cpu", show_default=True, help="With --model: cpu, cuda, cuda:N or auto.")
@click.option("--videos", "videos_dir", metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder the annotation's video names are relative to; checks that every film "
                   "exists and that no scene runs past its end.")
@click.option("--label-threshold", default=None, metavar="P", type=click.FloatRange(0.0, 1.0),
              help="A second is predicted positive when its score is at least P.  [default: the "
                   "label_threshold the runs used, else 0.5]")
@click.option("-o", "--output", metavar="REPORT.json",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the full report as JSON (per film, per threshold). " + OUTPUT_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report instead of tables.")
@click.option("--frame-tolerance", "frame_tolerances", multiple=True, type=click.IntRange(min=0),
              metavar="N", help="Cut annotations: a found cut within N frames of a transition "
                                "matches it (repeatable; default 0 and 2).")
def evaluate_command(annotations_path: Path, prediction_files: tuple[Path, ...],
                     model: Path | None, scene: str | None, split: str, device: str,
                     videos_dir: Path | None, label_threshold: float | None,
                     output: Path | None, as_json: bool, frame_tolerances: tuple[int, ...]) -> None:
    """Score found scenes against annotated ones, per second and per scene.

    \b
    Per second (the paper's measure): precision, recall, F1, accuracy and the
    confusion counts, pooled over all films; a second is positive when its
    score reaches --label-threshold, and truly positive when its centre lies
    inside an annotated scene.
    Per scene (as ActivityNet scores temporal localisation): precision and
    recall at temporal IoU 0.5, and average precision at tIoU 0.50, 0.55, ...
    0.95 with their mean (mAP).

    \b
    Examples:
      scenedet synth -o synth --films 4 --seed 1          films + annotations
      scenedet run -p kissing synth/film_000.mp4 -o out/film_000.json   (each film)
      scenedet evaluate --annotations synth/annotations.csv \\
          --predictions out/film_000.json --predictions out/film_001.json -o report.json
      scenedet evaluate --annotations synth/annotations.csv --model m.pt --split test

    Predictions are matched to the annotation's videos by file name (the path
    relative to --videos, or its trailing components). Films in the
    annotations without a prediction are listed as not evaluated. See
    docs/evaluation.md for the annotation format and every definition.

    \b
    Shot cuts: when --annotations holds cuts (a CSV with frame, start_frame/
    end_frame or time columns, or the shots.json of `scenedet synth --kind
    shots`), the results of a shot detector are scored TRECVID style:
    precision, recall and F1 with greedy one-to-one matching within
    --frame-tolerance frames, hard cuts and gradual transitions apart:
      scenedet evaluate --annotations synth/cuts.csv --predictions s.json
    """
    from scenedet.cli.output import write_json
    from scenedet.evaluation.cuts import is_cut_annotation_file

    if is_cut_annotation_file(annotations_path):
        from scenedet.evaluation.cuts import evaluate_cut_files, format_cut_table

        cut_report = evaluate_cut_files(annotations_path, prediction_files,
                                        frame_tolerances or (0, 2))
        if output is not None:
            write_json(cut_report, output)
        click.echo(json.dumps(cut_report, indent=2) if as_json else format_cut_table(cut_report))
        return
    from scenedet.evaluation.annotations import load_annotations
    from scenedet.evaluation.evaluate import evaluate_model, evaluate_results, read_results

    if bool(prediction_files) == (model is not None):
        raise UsageError("give either --predictions RESULT.json (one or more) or --model MODEL")
    annotations = load_annotations(annotations_path, videos_dir=videos_dir)
    if model is not None:
        report = evaluate_model(model, annotations, videos_dir=videos_dir, split=split,
                                scene=scene, device=device, label_threshold=label_threshold)
    else:
        results = [item for path in prediction_files for item in read_results(path)]
        report = evaluate_results(results, annotations, videos_dir=videos_dir,
                                  label_threshold=label_threshold)
    data = report.to_dict()
    if output is not None:
        write_json(data, output)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(report.format_table())
