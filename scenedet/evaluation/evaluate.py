"""Evaluating a detector end to end: run results or a model file in, an :class:`EvaluationReport` out.

What ``scenedet evaluate`` and the demo call. Two routes to the same report:

* :func:`evaluate_results`: results as ``scenedet run`` writes them (read with
  :func:`read_results`), matched to the annotated films by file name (:func:`match_results`);
* :func:`evaluate_model`: a model file is run on the annotated films (:func:`predict_with_model`),
  optionally only on one split of its training (:func:`select_split`), so a model can be scored on
  the films it never saw.

Either way the films' durations as the runs saw them are checked against the annotations (no
scene may run past a film's end), and the label threshold defaults to the one the runs used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from scenedet.errors import UsageError
from scenedet.evaluation.annotations.model import AnnotationSet, match_video
from scenedet.evaluation.annotations.validation import validate
from scenedet.evaluation.report import EvaluationReport, evaluate_predictions
from scenedet.training.splits import SPLITS as TRAINING_SPLITS

#: The splits a model file records, and ``"all"``: every annotated film.
SPLITS = (*TRAINING_SPLITS, "all")

#: A run result as ``scenedet run`` writes it, tagged with where it came from (a file, a file's
#: item, or the film a model was run on) for error messages.
TaggedResult = tuple[str, Mapping[str, Any]]


def read_results(path: str | Path) -> list[TaggedResult]:
    """The run results in one JSON file (an object or a list of them), tagged with their origin."""
    path = Path(path)
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


def runs_label_threshold(results: Iterable[Mapping[str, Any]]) -> float:
    """The ``settings.label_threshold`` every run used, or 0.5 when they differ or do not say."""
    found = {r.get("settings", {}).get("label_threshold") for r in results
             if isinstance(r.get("settings"), dict)}
    if len(found) == 1:
        (value,) = found
        if isinstance(value, (int, float)) and 0.0 <= value <= 1.0:
            return float(value)
    return 0.5


def match_results(results: Iterable[TaggedResult], annotations: AnnotationSet, *,
                  videos_dir: str | Path | None = None
                  ) -> tuple[dict[str, Mapping[str, Any]], dict[str, float]]:
    """Each result's annotated film: ``(predictions, durations)`` keyed by video key.

    A result's ``video`` matches the key equal to its path relative to ``videos_dir``, or else
    the longest key equal to its trailing components (see
    :func:`~scenedet.evaluation.annotations.match_video`). A result for a film the annotations do
    not declare, or a second result for one film, is a :class:`UsageError`. ``durations`` holds
    each film's length as its run saw it, where the result says.
    """
    keys = set(annotations.videos)
    where = f" {annotations.source}" if annotations.source else " the annotations"
    predictions: dict[str, Mapping[str, Any]] = {}
    durations: dict[str, float] = {}
    sources: dict[str, str] = {}
    for origin, result in results:
        video = result.get("video")
        if not isinstance(video, str) or not video:
            raise UsageError(f"{origin}: no \"video\" in this result")
        key = match_video(video, keys, videos_dir=videos_dir)
        if key is None:
            raise UsageError(f"{origin}: video {video!r} is not in{where} (matched by file name; "
                             f"a film without scenes needs a row with empty start and end)")
        if key in predictions:
            raise UsageError(f"{origin}: a second prediction for {key!r} (first in {sources[key]})")
        predictions[key], sources[key] = result, origin
        if isinstance(result.get("duration"), (int, float)):
            durations[key] = float(result["duration"])
    return predictions, durations


def evaluate_results(results: Iterable[TaggedResult], annotations: AnnotationSet, *,
                     videos_dir: str | Path | None = None,
                     label_threshold: float | None = None) -> EvaluationReport:
    """Score run results against ``annotations``.

    Results are matched to films by :func:`match_results`; the films' durations as the runs saw
    them are checked against the annotations first. ``label_threshold`` defaults to the one all
    runs used (:func:`runs_label_threshold`). Annotated films without a result are reported as
    not evaluated.
    """
    predictions, durations = match_results(results, annotations, videos_dir=videos_dir)
    validate(annotations, durations)
    if label_threshold is None:
        label_threshold = runs_label_threshold(predictions.values())
    report = evaluate_predictions(predictions, annotations, label_threshold=label_threshold)
    return attrs.evolve(report, segmentation=runs_segmentation(predictions.values()))


def runs_segmentation(results: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The ``aggregator``, ``min_length`` and ``threshold`` all ``results`` were cut with, or
    ``None`` when they differ or do not say."""
    keys = ("aggregator", "min_length", "threshold")
    found = {tuple(r.get("settings", {}).get(k) for k in keys) for r in results
             if isinstance(r.get("settings"), dict)}
    if len(found) != 1 or None in next(iter(found)):
        return None
    return dict(zip(keys, next(iter(found))))


def training_split(model: str | Path, split: str) -> tuple[str, ...]:
    """The films of ``split`` (``train``, ``val`` or ``test``) that ``model``'s training used."""
    from scenedet.inference.modelfile import load_model_file

    if split not in TRAINING_SPLITS:
        raise UsageError(f"unknown training split {split!r}: use one of "
                         f"{', '.join(TRAINING_SPLITS)}")
    chosen = load_model_file(model).meta.training.get("splits", {}).get(split)
    if chosen is None:
        raise UsageError(f"{model} records no training splits: only all films can be evaluated")
    return tuple(chosen)


def select_split(annotations: AnnotationSet, model: str | Path, split: str = "all"
                 ) -> AnnotationSet:
    """The annotations of the films in ``split`` of ``model``'s training (``all``: unchanged).

    The split is read from the model file, so a model can be scored on the films it did not
    learn from. Every film of the split must be annotated.
    """
    if split == "all":
        return annotations
    chosen = training_split(model, split)
    missing = sorted(set(chosen) - set(annotations.videos))
    if missing:
        where = f" {annotations.source}" if annotations.source else " the annotations"
        raise UsageError(f"{model}'s {split} film {missing[0]!r} is not in{where}")
    return annotations.subset(chosen)


def predict_with_model(model: str | Path, videos: Sequence[str], videos_dir: str | Path, *,
                       scene: str | None = None, device: str = "cpu",
                       progress: bool | None = False) -> list[TaggedResult]:
    """Run ``model`` on each film ``videos_dir/key``, exactly as ``scenedet run`` does (one
    engine, its model loaded once for every film).

    Returns the results as ``scenedet run`` writes them, with ``video`` set to the key so that
    they match the annotations exactly. ``scene`` defaults to the one the model was trained for.
    """
    from scenedet.engine import Engine
    from scenedet.inference.modelfile import load_model_file

    scene = scene or load_model_file(model).meta.scene
    engine = Engine([scene], model=model, device=device, progress=progress)
    out: list[TaggedResult] = []
    for key in videos:
        path = Path(videos_dir) / key
        result = engine.run(path)[scene].to_dict()
        result["video"] = key
        out.append((str(path), result))
    return out


def evaluate_model(model: str | Path, annotations: AnnotationSet, *,
                   videos_dir: str | Path | None = None, split: str = "all",
                   scene: str | None = None, device: str = "cpu",
                   label_threshold: float | None = None,
                   progress: bool | None = False) -> EvaluationReport:
    """Run ``model`` on the annotated films (of one ``split`` of its training) and score it.

    ``videos_dir`` is where the films are (default: the annotation file's folder). With a split
    other than ``all`` the report covers that split's films alone.
    """
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    chosen = select_split(annotations, model, split)
    if videos_dir is None:
        if not annotations.source:
            raise UsageError("these annotations come from no file: say where the films are "
                             "(videos_dir)")
        videos_dir = Path(annotations.source).parent
    results = predict_with_model(model, chosen.videos, videos_dir, scene=scene, device=device,
                                 progress=progress)
    # Each result's video is its key already: matched by name, whatever the working folder.
    report = evaluate_results(results, chosen, label_threshold=label_threshold)
    if report.segmentation is not None:
        from scenedet.inference.modelfile import model_settings

        recommended = model_settings(model)
        used = {k: str(report.segmentation[k]) for k in ("min_length", "threshold")}
        if recommended and used == {k: str(v) for k, v in recommended.items()}:
            report = attrs.evolve(report, segmentation={**report.segmentation,
                                                        "chosen_on_validation": True})
    return report
