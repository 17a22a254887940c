"""Heads: the linear head against the temporal one, on films where context matters.

The generated dataset (``docs/synthetic-data.md``) shows a scene's cues (the magenta disc AND
the 600+900 Hz chord) for its whole length, so one second decides. Here the positive scenes are
redrawn: a scene of the kind shows its cues in bursts (1-4 s on, 1-6 s off, its first and last
second on) covering only a fraction of its seconds, and short **distractors** (1-3 s of the
same two cues) are scattered through the background, at least 3 s from any scene. A second
with the cues is as likely a distractor as a scene's; a second without them as likely a gap in
a scene as background. Only the seconds around it tell. Three densities:

    dense   cues in 50-60 % of a scene's seconds, 1 distractor a minute
    medium  40-50 %, 2 a minute
    sparse  30-40 %, 3 a minute

For each density, 16 films (80-120 s, scenes 20-45 s, 160x120 at 6 fps), the ``kissing``
recipe's frozen backbones (ResNet-18 + VGGish, ``random:0``: no pretrained weights offline) and,
for split seeds 0, 1, 2 (80/10/10 by film; the seed also seeds the head), ``train_scene`` with
``--head linear`` and ``--head temporal`` (the recipe: Adam 1e-3, batch 64, 10 epochs, best
validation epoch; min_length and threshold chosen on validation for each). On the held-out test
films: per-second F1 (label threshold 0.5) and, cut with the model's own chosen settings,
segment F1 at tIoU 0.5 and mAP over tIoU 0.5:0.05:0.95. The features are extracted once per
film (the backbones are frozen) into this benchmark's own feature cache; the scores come from
the saved head over them (a run's streamed scores equal these within 1e-5,
``tests/test_temporal_head.py``).

Then the demo's dataset (``scenedet demo``: 10 films of 60-120 s, scenes 10-60 s, seed 0, every
scene second shows its cues) with both heads and the same 3 seeds: the temporal head must not
lose per-second F1 there. And speed: each head's cost per film-hour alone, and ``scenedet.run``
on one film with each model (the head must not slow a run by more than 5 %).

    python benchmarks/heads.py                 # everything (~25 min on 2 shared cores, cold)
    python benchmarks/heads.py --quick         # 4 short films per density, 1 seed: a smoke test
    python benchmarks/heads.py --densities sparse --seeds 0

Writes ``benchmarks/results/heads.json`` (``--quick``: ``heads-quick.json``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FILMS, save, table  # noqa: E402

ROOT = FILMS / "heads"
os.environ["SCENEDET_HOME"] = str(ROOT / "home")  # this benchmark's feature cache, never the user's

SCENE = "kissing"
WEIGHTS = "random:0"
HEADS = ("linear", "temporal")
DENSITIES = {"dense": (0.50, 0.60, 1.0), "medium": (0.40, 0.50, 2.0),
             "sparse": (0.30, 0.40, 3.0)}
FULL = {"films": 16, "min_seconds": 80, "max_seconds": 120, "min_scene": 20, "max_scene": 45,
        "width": 160, "height": 120, "fps": 6.0}
QUICK = {**FULL, "films": 4, "min_seconds": 50, "max_seconds": 60}
DEMO = {"films": 10, "seed": 0, "min_seconds": 60, "max_seconds": 120, "min_scene": 10,
        "max_scene": 60}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the films ------------------------------------------------------------------------------------

def bursts(rng: np.random.Generator, start: int, end: int, lo: float, hi: float
           ) -> list[tuple[int, int]]:
    """``[a, b)`` runs of cue seconds inside a scene ``[start, end)``: on 1-4 s, off 1-6 s, the
    scene's first and last second on, covering ``lo``-``hi`` of it (the closest of 500 draws)."""
    best: tuple[float, list[tuple[int, int]]] | None = None
    n = end - start
    for _ in range(500):
        on = np.zeros(n, bool)
        t, state = 0, True
        while t < n:
            length = int(rng.integers(1, 5) if state else rng.integers(1, 7))
            on[t:t + length] = state
            t, state = t + length, not state
        on[0] = on[-1] = True
        miss = max(lo - on.mean(), on.mean() - hi, 0.0)
        if best is None or miss < best[0]:
            edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
            best = (miss, [(start + int(a), start + int(b)) for a, b in zip(edges[::2], edges[1::2])])
        if miss == 0:
            break
    assert best is not None
    return best[1]


def distractors(rng: np.random.Generator, plan: Any, per_minute: float) -> list[tuple[int, int]]:
    """1-3 s bursts of both cues in the background, 3 s or more from every scene and each other."""
    busy = np.zeros(plan.duration, bool)
    for s in plan.scenes:
        busy[max(0, s.start - 3):s.end + 3] = True
    out: list[tuple[int, int]] = []
    for _ in range(int(round(per_minute * plan.duration / 60))):
        for _try in range(50):
            length = int(rng.integers(1, 4))
            a = int(rng.integers(1, max(2, plan.duration - length - 1)))
            if not busy[max(0, a - 3):a + length + 3].any() and a + length < plan.duration:
                out.append((a, a + length))
                busy[max(0, a - 3):a + length + 3] = True
                break
    return sorted(out)


def make_dataset(name: str, settings: dict[str, Any], density: tuple[float, float, float],
                 seed: int) -> Path:
    """Render (once) the films of one density with ``annotations.csv`` (the whole scenes) and
    ``heads.json`` (every burst and distractor)."""
    import attrs

    from scenedet.files import write_with
    from scenedet.synth.plan import SynthScene, SynthSettings, plan_dataset
    from scenedet.synth.render import render_film

    root = ROOT / name
    if (root / "heads.json").is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    lo, hi, per_minute = density
    synth = SynthSettings(seed=seed, **settings)
    rows, manifest = [], []
    started = time.perf_counter()
    for plan in plan_dataset(synth):
        rng = np.random.default_rng([plan.seed, 19])
        scenes, truth = [], []
        for s in plan.scenes:
            if s.kind != "positive":
                scenes.append(s)
                continue
            truth.append((s.start, s.end))
            scenes += [SynthScene(a, b, "positive", s.phase) for a, b in bursts(rng, s.start, s.end, lo, hi)]
        extra = distractors(rng, plan, per_minute)
        scenes += [SynthScene(a, b, "positive", (0.0, 0.0)) for a, b in extra]
        drawn = attrs.evolve(plan, scenes=tuple(sorted(scenes, key=lambda s: s.start)))
        write_with(root / plan.file, lambda tmp, p=drawn: render_film(p, tmp, synth), suffix=".mp4")
        rows += [(plan.file, a, b, 1) for a, b in truth] or [(plan.file, "", "", "")]
        cue = sum(b - a for s in scenes if s.kind == "positive" for a, b in [(s.start, s.end)])
        manifest.append({"file": plan.file, "duration": plan.duration, "scenes": truth,
                         "distractors": extra, "cue_seconds": cue,
                         "scene_seconds": sum(b - a for a, b in truth)})
    with open(root / "annotations.csv", "w", newline="") as f:
        csv.writer(f).writerows([("video", "start", "end", "label"), *rows])
    (root / "heads.json").write_text(json.dumps({"settings": settings, "density": density,
                                                 "seed": seed, "films": manifest,
                                                 "render_s": time.perf_counter() - started}, indent=1))
    log(f"rendered {len(manifest)} films into {root} ({time.perf_counter() - started:.0f} s)")
    return root


def demo_dataset() -> Path:
    from scenedet.synth import synthesize

    root = ROOT / "demo"
    if not (root / "dataset.json").is_file():
        synthesize(root, width=320, height=240, fps=12, **DEMO)
    return root


# -- training and scoring -------------------------------------------------------------------------

def train(root: Path, head: str, seed: int, out: Path) -> tuple[Any, float]:
    from scenedet.training.train import TrainConfig, train_scene

    config = TrainConfig(scene=SCENE, annotations=str(root / "annotations.csv"),
                         output=str(out), backbone_weights=WEIGHTS, head=head, seed=seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train_scene(config, log=lambda _m: None, progress=False)
    return result, time.perf_counter() - started


def test_scores(model: Path, root: Path, films: list[str]) -> dict[str, np.ndarray]:
    """P(positive) per second of each film: the saved head over the cached features."""
    import torch

    from scenedet.inference.cache import FeatureCache
    from scenedet.inference.modelfile import load_model_file
    from scenedet.inference.temporal import sequence_logits
    from scenedet.plugin.registry import create_backbone, create_head

    mf = load_model_file(model)
    head = create_head(mf.meta.head, in_features=mf.meta.in_features, num_classes=2)
    head.load_state_dict(mf.head_state)
    head.eval()
    backbones = [create_backbone(n, weights=w).eval()
                 for n, w in zip(mf.meta.backbones, mf.meta.backbone_weights)]
    cache, out = FeatureCache(), {}
    for film in films:
        arrays = cache.features(root / film, backbones)
        x = torch.from_numpy(np.concatenate([np.asarray(a, np.float32) for a in arrays], 1))
        with torch.inference_mode():
            out[film] = torch.softmax(sequence_logits(head, x), -1)[:, 1].numpy()
    return out


def score_test(result: Any, root: Path) -> dict[str, Any]:
    from scenedet.evaluation.annotations import load_annotations
    from scenedet.evaluation.metrics import binary_metrics
    from scenedet.plugin.registry import get_scene
    from scenedet.training.choose import segment_scores

    films = result.splits["test"]
    scores = test_scores(result.model_path, root, films)
    annotations = load_annotations(root / "annotations.csv", videos_dir=root)
    labels = {f: annotations.labels(f, len(scores[f])) for f in films}
    spec = get_scene(SCENE)
    chosen = result.segmentation or {"min_length": spec.min_length, "threshold": spec.threshold}
    segments = segment_scores(scores, labels, {
        "aggregator": spec.aggregator, "label_threshold": spec.label_threshold,
        "min_length": chosen["min_length"], "threshold": chosen["threshold"]})
    y = np.concatenate([labels[f] for f in films])
    p = np.concatenate([scores[f] for f in films]) >= spec.label_threshold
    keep = y >= 0
    per_second = binary_metrics(y[keep], p[keep].astype(np.int8))
    return {"per_second_f1": per_second.f1, "segment_f1": segments["f1"], "mAP": segments["mAP"],
            "scenes_found": segments["scenes"], "true_scenes": segments["true_scenes"],
            "min_length": chosen["min_length"], "threshold": str(chosen["threshold"])}


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def compare(name: str, root: Path, seeds: list[int]) -> list[dict[str, Any]]:
    rows = []
    for seed in seeds:
        for head in HEADS:
            result, seconds = train(root, head, seed, ROOT / "models" / f"{name}-{head}-{seed}.pt")
            row = {"dataset": name, "head": head, "seed": seed, "train_s": round(seconds, 1),
                   "best_epoch": result.best_epoch, **score_test(result, root)}
            log(f"{name} seed {seed} {head:8}: per-second F1 {row['per_second_f1']:.3f}  segment "
                f"F1 {row['segment_f1']:.3f}  mAP {_number(row['mAP'])}  (l {row['min_length']}, "
                f"t {row['threshold']}; {seconds:.1f} s)")
            rows.append(row)
    return rows


# -- speed ----------------------------------------------------------------------------------------

def head_speed(seconds: int = 3600, batch: int = 16) -> dict[str, Any]:
    """Each head alone over a film-hour of 640-d features, fed in the run's batches."""
    import torch

    from scenedet.inference.sequence import StreamingScorer
    from scenedet.plugin.registry import create_head

    x = torch.randn(seconds, 640)
    out = {}
    for name in HEADS:
        head = create_head(name, in_features=640, num_classes=2).eval()
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            with torch.inference_mode():
                if name == "linear":
                    for a in range(0, seconds, batch):
                        torch.softmax(head(x[a:a + batch]), 1)
                else:
                    scorer = StreamingScorer(head)
                    for a in range(0, seconds, batch):
                        scorer.push(x[a:a + batch])
                    scorer.finish()
            best = min(best, time.perf_counter() - started)
        out[name] = {"seconds_per_film_hour": round(best, 3),
                     "parameters": sum(p.numel() for p in head.parameters())}
    return out


def run_speed(film: Path, models: dict[str, Path], repeats: int = 3) -> dict[str, Any]:
    """``scenedet.run`` on one film with each model, alternating; the best of ``repeats``."""
    import scenedet

    best = {h: float("inf") for h in models}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            for head, model in models.items():
                started = time.perf_counter()
                scenedet.run(film, [SCENE], model=model)
                best[head] = min(best[head], time.perf_counter() - started)
    return {"film": film.name, "run_s": {h: round(t, 2) for h, t in best.items()},
            "temporal_over_linear": round(best["temporal"] / best["linear"] - 1, 4)}


# -- report ---------------------------------------------------------------------------------------

def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        for head in HEADS:
            mine = [r for r in rows if r["dataset"] == name and r["head"] == head]
            cell = {"dataset": name, "head": head}
            for key in ("per_second_f1", "segment_f1", "mAP", "train_s"):
                v = np.array([r[key] for r in mine], float)
                cell[key] = f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}" if key != "train_s" \
                    else f"{np.mean(v):.1f}"
            out.append(cell)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--densities", nargs="*", default=list(DENSITIES), choices=list(DENSITIES))
    parser.add_argument("--seeds", nargs="*", type=int, default=None)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    import torch

    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    settings = QUICK if args.quick else FULL
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for name in args.densities:
        tag = f"{name}-quick" if args.quick else name
        root = make_dataset(tag, settings, DENSITIES[name], seed=7)
        rows += compare(name, root, seeds)
    if not args.skip_demo and not args.quick:
        rows += compare("demo", demo_dataset(), seeds)
    speed = {"heads_alone": head_speed()}
    last = rows[-1]
    root = ROOT / (last["dataset"] if last["dataset"] == "demo" else
                   (f"{last['dataset']}-quick" if args.quick else last["dataset"]))
    models = {h: ROOT / "models" / f"{last['dataset']}-{h}-{last['seed']}.pt" for h in HEADS}
    film = sorted(root.glob("film_*.mp4"))[0]
    speed["run"] = run_speed(film, models)
    results = {"rows": rows, "summary": summary(rows), "speed": speed,
               "load": {"torch_threads": torch.get_num_threads(), "load1": os.getloadavg()[0],
                        "note": "measured under load (2 cores shared with other jobs)"},
               "total_s": round(time.perf_counter() - started, 1)}
    save("heads-quick" if args.quick else "heads", results)
    print(table(results["summary"], ["dataset", "head", "per_second_f1", "segment_f1", "mAP",
                                     "train_s"]))
    print(json.dumps(speed, indent=1))


if __name__ == "__main__":
    main()
