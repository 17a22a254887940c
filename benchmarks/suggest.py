"""Label where it helps most: the suggested stretches against random ones, then retraining.

On a generated library (``scenedet synth``: films with known scenes, every second's truth known),
an annotator is simulated: labelling a stretch gives the true per-second labels of its seconds
(as reviewing it in ``scenedet review`` would). Both strategies start from the same seed
stretches (random, holding both classes) and then, for ``--rounds`` rounds, label
``--per-round`` more stretches of ``--length`` seconds each:

* **suggested**: :func:`scenedet.review.suggest.rank_stretches` over the current head's
  per-second probabilities on the pool films, leaving out what is labelled already (what
  ``scenedet suggest --annotations`` does), with its default rule ``uncertain+positive``;
* **uncertain**: the same with the plain rule, uncertainty alone (``--rule uncertain``);
* **random**: stretches of the same length at random places of the pool, also unlabelled ones.

After each round a linear head is trained on the labelled seconds and its per-second F1 is
measured on held-out test films that are labelled in full. Features are the training's own:
ResNet-18 + VGGish per-second features from the feature cache (seeded random backbones,
``random:0``, as ``make demo``: no weights are downloaded), so each film is decoded once.
The head: ``scenedet train``'s recipe (standardised features, a linear layer, Adam 1e-3,
batches of 64, 10 epochs, seeded), the same for both strategies. Accuracy figures, not timings: a busy machine changes nothing.

    python benchmarks/suggest.py                   # prints a Markdown table, writes
                                                   # benchmarks/results/suggest.json
    python benchmarks/suggest.py --films 8 --seeds 1 --rounds 3   # a quicker look
    python benchmarks/suggest.py --data-seed 2 --work /tmp/other   # other films
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
RESULTS = HERE / "results"


def library(work: Path, films: int, seed: int):
    """The generated films (rendered once into ``work``) and their per-second truth."""
    from scenedet.evaluation.annotations import load_annotations
    from scenedet.media.probe import probe
    from scenedet.synth import SynthDataset, synthesize

    data = work / "data"
    if (data / "dataset.json").exists():
        dataset = SynthDataset.load(data)
    else:
        dataset = synthesize(data, films=films, seed=seed, min_seconds=60, max_seconds=120,
                             min_scene=5, max_scene=30, width=160, height=120)
    aset = load_annotations(dataset.annotations_path)
    paths = sorted(data.glob("film_*.mp4"))
    truth = {p.name: aset.labels(p.name, probe(p).n_seconds) for p in paths}
    return paths, truth


def features(paths):
    """Per film, the per-second ResNet-18 + VGGish features (random:0) from the feature cache."""
    import scenedet
    from scenedet.inference.cache import FeatureCache
    from scenedet.inference.model import prepare_for_inference

    backbones = [prepare_for_inference(scenedet.create_backbone(n, weights="random:0"), "cpu")
                 for n in ("resnet18", "vggish")]
    cache = FeatureCache()
    out = {}
    for i, path in enumerate(paths, 1):
        print(f"features {i}/{len(paths)} {path.name}", file=sys.stderr)
        arrays = cache.features(path, backbones)
        out[path.name] = np.concatenate([np.asarray(a, np.float32) for a in arrays], 1)
    return out


def train_head(x: np.ndarray, y: np.ndarray, seed: int, epochs: int = 10, batch: int = 64):
    """A linear head on standardised features, by ``scenedet train``'s recipe (Adam 1e-3,
    batches of 64, 10 epochs); returns ``predict(x) -> p(positive)``."""
    import torch

    mean, std = x.mean(0), x.std(0)
    std = np.where(std > 1e-6, std, 1.0)
    torch.manual_seed(seed)
    head = torch.nn.Linear(x.shape[1], 2)
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    xt = torch.from_numpy((x - mean) / std)
    yt = torch.from_numpy(y.astype(np.int64))
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = torch.from_numpy(order.permutation(len(xt)))
        for start in range(0, len(xt), batch):
            idx = perm[start:start + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(head(xt[idx]), yt[idx]).backward()
            opt.step()

    def predict(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(head(torch.from_numpy((z - mean) / std)), 1)[:, 1].numpy()

    return predict


def f1(truth: np.ndarray, pred: np.ndarray) -> float:
    from scenedet.evaluation.metrics import binary_metrics

    return float(binary_metrics(truth, pred).to_dict()["f1"] or 0.0)


def random_stretches(rng, lengths, labelled, n, length):
    """``n`` random unlabelled stretches (film, start) of ``length`` seconds."""
    out = []
    for _ in range(1000 * n):
        if len(out) == n:
            break
        film = rng.choice(sorted(lengths))
        if lengths[film] < length:
            continue
        start = int(rng.integers(0, lengths[film] - length + 1))
        if not labelled[film][start:start + length].any():
            labelled[film][start:start + length] = True
            out.append((film, start))
    return out


STRATEGIES = {"suggested": "uncertain+positive", "uncertain": "uncertain", "random": None}


def run_strategy(name, feats, truth, pool, test, seed_mask, args, seed):
    from scenedet.review.suggest import rank_stretches

    rng = np.random.default_rng(seed + 1)
    labelled = {f: m.copy() for f, m in seed_mask.items()}
    lengths = {f: len(truth[f]) for f in pool}
    x_test = np.concatenate([feats[f][:len(truth[f])] for f in test])
    y_test = np.concatenate([truth[f] for f in test])
    rows = []
    for round_ in range(args.rounds + 1):
        x = np.concatenate([feats[f][:len(truth[f])][labelled[f]] for f in pool])
        y = np.concatenate([truth[f][labelled[f]] for f in pool])
        predict = train_head(x, y, seed) if len(set(y.tolist())) == 2 else None
        score = f1(y_test, (predict(x_test) >= 0.5).astype(np.int8)) if predict else 0.0
        rows.append({"strategy": name, "seed": seed, "round": round_,
                     "labelled_seconds": int(sum(m.sum() for m in labelled.values())),
                     "positive_seconds": int(y.sum()), "f1": round(score, 4)})
        if round_ == args.rounds:
            break
        if STRATEGIES[name] is not None and predict is not None:
            probs = {f: [predict(feats[f][:len(truth[f])])] for f in pool}
            for s in rank_stretches(probs, args.per_round, length=args.length, labelled=labelled,
                                    rule=STRATEGIES[name]):
                labelled[s.video][int(s.start):int(s.end)] = True
        else:
            random_stretches(rng, lengths, labelled, args.per_round, args.length)
    return rows


def seed_stretches(truth, pool, args, seed):
    """The first labelled stretches, the same for both strategies: random, both classes."""
    for attempt in range(100):
        rng = np.random.default_rng(1000 * seed + attempt)
        mask = {f: np.zeros(len(truth[f]), bool) for f in pool}
        random_stretches(rng, {f: len(truth[f]) for f in pool}, mask, args.seed_stretches,
                         args.length)
        labels = np.concatenate([truth[f][mask[f]] for f in pool])
        if 0 < labels.sum() < len(labels):
            return mask
    raise SystemExit("no seed stretches with both classes: generate more films")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "scenedet-bench-suggest")
    parser.add_argument("--films", type=int, default=12)
    parser.add_argument("--data-seed", type=int, default=1, help="seed of the generated films")
    parser.add_argument("--test-films", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=3)
    parser.add_argument("--seed-stretches", type=int, default=2)
    parser.add_argument("--length", type=int, default=10)
    parser.add_argument("--output", type=Path, default=RESULTS / "suggest.json")
    args = parser.parse_args(argv)
    began = time.monotonic()
    paths, truth = library(args.work, args.films, seed=args.data_seed)
    feats = features(paths)
    names = [p.name for p in paths]
    test, pool = names[-args.test_films:], names[:-args.test_films]
    rows = []
    for seed in range(args.seeds):
        mask = seed_stretches(truth, pool, args, seed)
        for strategy in STRATEGIES:
            rows += run_strategy(strategy, feats, truth, pool, test, mask, args, seed)
    summary = _summary(rows, args)
    print(summary)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "benchmark": "suggest", "settings": {k: str(v) if isinstance(v, Path) else v
                                             for k, v in vars(args).items()},
        "pool_films": pool, "test_films": test,
        "pool_seconds": int(sum(len(truth[f]) for f in pool)),
        "test_positive_share": float(np.concatenate([truth[f] for f in test]).mean()),
        "rows": rows, "seconds": round(time.monotonic() - began, 1)}, indent=2) + "\n")
    print(f"-> {args.output}", file=sys.stderr)


def _summary(rows, args) -> str:
    """Mean F1 and positive seconds labelled per round, one column pair per strategy."""
    lines = ["| labelled seconds | " + " | ".join(f"{k} F1" for k in STRATEGIES) + " | "
             + " / ".join(STRATEGIES) + " positive seconds |",
             "| --- |" + " --- |" * (len(STRATEGIES) + 1)]
    for round_ in range(args.rounds + 1):
        mine = {k: [r for r in rows if r["strategy"] == k and r["round"] == round_]
                for k in STRATEGIES}
        seconds = np.mean([r["labelled_seconds"] for r in mine["random"]])
        f1s = " | ".join(f"{np.mean([r['f1'] for r in v]):.3f}" for v in mine.values())
        pos = " / ".join(f"{np.mean([r['positive_seconds'] for r in v]):.1f}" for v in mine.values())
        lines.append(f"| {seconds:.0f} | {f1s} | {pos} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
