"""The demo behind ``make demo``: generate, train, run, evaluate, on films we can hold.

1. Render a small synthetic dataset (:mod:`scenedet.synth`: scenes carry a magenta disc AND a
   600+900 Hz chord; hard negatives carry only one of them).
2. Train the ``kissing`` recipe's ResNet-18 + VGGish head on it, split 80/10/10 by film.
3. the engine (:func:`scenedet.run`) on each held-out test film, exactly as ``scenedet run`` does.
4. Evaluate the runs against the annotations and print found vs annotated scenes.

No pretrained weights can be downloaded on a machine without network, so by default the
backbones use a seeded random initialisation; the demo says so. The generated films are a test
pattern, not kissing data: the point is the whole path working end to end.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs


@attrs.frozen
class DemoResult:
    model: Path
    test_films: tuple[str, ...]
    report: Any  # scenedet.evaluation.report.EvaluationReport
    runs: dict[str, Any]


def run_demo(root: str | Path, *, films: int = 10, seed: int = 0, min_seconds: int = 60,
             max_seconds: int = 120, backbone_weights: str = "random:0", device: str = "cpu",
             log: Callable[[str], None] = print, progress: bool | None = None) -> DemoResult:
    from scenedet.evaluation.annotations import load_annotations
    from scenedet.evaluation.evaluate import evaluate_results, predict_with_model, select_split
    from scenedet.synth import SynthDataset, synthesize
    from scenedet.timefmt import format_time
    from scenedet.training.train import TrainConfig, train_scene

    root = Path(root)
    data_dir = root / "data"
    if (data_dir / "dataset.json").exists():
        dataset = SynthDataset.load(data_dir)
        log(f"1/4 using the dataset already in {data_dir} ({len(dataset.films)} films)")
    else:
        log(f"1/4 rendering {films} synthetic films into {data_dir} ...")
        dataset = synthesize(data_dir, films=films, seed=seed, min_seconds=min_seconds,
                             max_seconds=max_seconds, min_scene=10, max_scene=60)
    log(f"    {len(dataset.films)} films, {dataset.total_duration} s in all; "
        f"{dataset.count('positive')} positive scenes (disc + chord), "
        f"{dataset.count('visual_only')} disc-only and {dataset.count('audio_only')} chord-only "
        f"hard negatives")

    if backbone_weights.startswith("random:"):
        log(f"2/4 training the kissing recipe's head (ResNet-18 + VGGish, linear) on this data.\n"
            f"    NOTE: no pretrained weights are downloaded, so both backbones use a seeded random "
            f"initialisation ({backbone_weights}); the head learns on their features.")
    else:
        log("2/4 training the kissing recipe's head (ResNet-18 + VGGish, linear) on this data")
    model_path = root / "kissing-demo.pt"
    train_scene(TrainConfig(scene="kissing", annotations=str(dataset.annotations_path),
                            output=str(model_path), backbone_weights=backbone_weights, seed=seed,
                            device=device),
                log=lambda m: log("    " + m), progress=progress)

    annotations = load_annotations(dataset.annotations_path)
    held_out = select_split(annotations, model_path, "test")
    test_films = held_out.videos
    log(f"3/4 running the kissing scene on the held-out test film(s), as `scenedet run` does: "
        f"{', '.join(test_films)}")
    results = predict_with_model(model_path, test_films, data_dir, scene="kissing", device=device,
                                 progress=progress)
    for _origin, result in results:
        name = result["video"]
        log(f"    {name}: {len(result['scores'])} s scored")
        truth = [(a.start, a.end) for a in held_out.positives(name)]
        found = [(s["start"], s["end"], s["score"]) for s in result["segments"]]
        log("      annotated: " + (", ".join(f"{format_time(a)[3:8]}-{format_time(b)[3:8]}"
                                              for a, b in truth) or "none"))
        log("      found:     " + (", ".join(f"{format_time(a)[3:8]}-{format_time(b)[3:8]} "
                                              f"({p:.2f})" for a, b, p in found) or "none"))

    log("4/4 evaluation of the held-out film(s) against their annotations")
    report = evaluate_results(results, held_out)
    for line in report.format_table(per_video=False).splitlines():
        log("    " + line)
    log(f"per-second F1 on held-out films: {report.per_second.f1:.3f} "
        f"(precision {report.per_second.precision:.3f}, recall {report.per_second.recall:.3f})")
    runs = {result["video"]: dict(result) for _origin, result in results}
    return DemoResult(model=model_path, test_films=test_films, report=report, runs=runs)
