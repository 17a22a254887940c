"""``scenedet evaluate``: score scenes found in films against their annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from scenedet.errors import UsageError
from scenedet.cli import cli


@cli.command("evaluate")
@click.option("--annotations", "annotations_path", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Annotated scenes: CSV (video,start,end[,label]) or JSON.")
@click.option("--predictions", "prediction_files", multiple=True, metavar="RESULT.json",
              type=click.Path(dir_okay=False, path_type=Path),
              help="A `scenedet run` JSON output (repeat for more films; a file may also hold a "
                   "list of them).")
@click.option("--model", metavar="MODEL", type=click.Path(dir_okay=False, path_type=Path),
              help="Run this model file on the annotated films instead (as `scenedet run`).")
@click.option("--plugin", "scene", metavar="SCENE", default=None,
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
              help="Also write the full report as JSON (per film, per threshold).")
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
    from scenedet.evaluation.cuts import is_cut_annotation_file

    if is_cut_annotation_file(annotations_path):
        from scenedet.evaluation.cuts import evaluate_cuts_cli

        evaluate_cuts_cli(annotations_path, prediction_files, frame_tolerances or (0, 2),
                          output, as_json)
        return
    from scenedet.evaluation.annotations import AnnotationSet, load_annotations, match_video, validate
    from scenedet.evaluation.report import evaluate_predictions
    from scenedet.cli.output import write_json

    if bool(prediction_files) == (model is not None):
        raise UsageError("give either --predictions RESULT.json (one or more) or --model MODEL")
    annotations = load_annotations(annotations_path, videos_dir=videos_dir)
    keys = set(annotations.videos)
    if model is not None:
        results = _predict_with_model(model, annotations.videos, videos_dir, annotations_path,
                                      scene, split, device)
        if split != "all":  # score the split alone, not "the other films were not evaluated"
            chosen = tuple(result["video"] for _origin, result in results)
            annotations = AnnotationSet([a for a in annotations if a.video in chosen],
                                        videos=chosen, source=annotations.source)
            keys = set(chosen)
    else:
        results = [item for path in prediction_files for item in _read_results(path)]

    predictions: dict[str, dict[str, Any]] = {}
    durations: dict[str, float] = {}
    sources: dict[str, str] = {}
    for origin, result in results:
        video = result.get("video")
        if not isinstance(video, str) or not video:
            raise UsageError(f"{origin}: no \"video\" in this result")
        key = match_video(video, keys, videos_dir=videos_dir)
        if key is None:
            raise UsageError(f"{origin}: video {video!r} is not in {annotations_path} "
                             f"(matched by file name; a film without scenes needs a row with "
                             f"empty start and end)")
        if key in predictions:
            raise UsageError(f"{origin}: a second prediction for {key!r} (first in {sources[key]})")
        predictions[key], sources[key] = result, origin
        if isinstance(result.get("duration"), (int, float)):
            durations[key] = float(result["duration"])
    # The films' durations as the runs saw them: no annotated scene may run past a film's end.
    validate(annotations, durations)
    if label_threshold is None:
        label_threshold = _runs_label_threshold(predictions.values())
    report = evaluate_predictions(predictions, annotations, label_threshold=label_threshold)
    data = report.to_dict()
    if output is not None:
        write_json(data, output)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(report.format_table())


def _runs_label_threshold(results: Any) -> float:
    """The ``settings.label_threshold`` every run used, or 0.5 when they differ or do not say."""
    found = {r.get("settings", {}).get("label_threshold") for r in results
             if isinstance(r.get("settings"), dict)}
    if len(found) == 1:
        (value,) = found
        if isinstance(value, (int, float)) and 0.0 <= value <= 1.0:
            return float(value)
    return 0.5


def _read_results(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """The run results in one JSON file (an object or a list of them), tagged with their origin."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"predictions file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    items = data if isinstance(data, list) else [data]
    out = []
    for index, item in enumerate(items):
        origin = f"{path}" if not isinstance(data, list) else f"{path}: item {index}"
        if not isinstance(item, dict) or "scores" not in item:
            raise UsageError(f"{origin}: not a `scenedet run` result (needs \"video\", "
                             f"\"scores\" and \"segments\")")
        out.append((origin, item))
    return out


# ---- hook for the model route ------------------------------------------------------------
# The lead wires `--model` here: run the pipeline on every annotated film found under --videos and
# return the same dicts `scenedet run` writes. Everything above stays the same.
def _predict_with_model(model: Path, videos: tuple[str, ...], videos_dir: Path | None,
                        annotations_path: Path, scene: str | None, split: str,
                        device: str) -> list[tuple[str, dict[str, Any]]]:
    """Run ``model`` on the annotated films (those of ``split`` of its training, if asked)."""
    from scenedet.inference.modelfile import load_model_file
    from scenedet.inference.pipeline import run_scene

    meta = load_model_file(model).meta
    videos_dir = videos_dir or annotations_path.parent
    if split != "all":
        chosen = meta.training.get("splits", {}).get(split)
        if chosen is None:
            raise UsageError(f"{model} records no training splits: use --split all")
        missing = sorted(set(chosen) - set(videos))
        if missing:
            raise UsageError(f"{model}'s {split} film {missing[0]!r} is not in {annotations_path}")
        videos = tuple(v for v in videos if v in set(chosen))
    out = []
    for key in videos:
        path = videos_dir / key
        result = run_scene(path, scene=scene or meta.scene, model=model, device=device,
                           progress=False).to_dict()
        result["video"] = key
        out.append((str(path), result))
    return out