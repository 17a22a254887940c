"""``train_scene``: the paper's recipe for a scene's classifier, on annotated films.

Two modes. Head-only (default, fast): per-second features come from the feature cache (each film
is decoded once, ever), and only the linear head is trained. ``train_all``: the backbones are
fine-tuned too, from cached per-second inputs with the paper's augmentation (random resized crop
8-100 % of the area, aspect 3/4-4/3, horizontal flip). Both: Adam (lr 1e-3, betas 0.9/0.999),
batch 64, 10 epochs, cross-entropy; films split 80/10/10 by film with a seed; the epoch with the
best validation F1 is kept; the model file carries the config, the splits and every metric.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.plugin._factory import create_backbone, create_head, get_backbone_spec, get_scene
from scenedet.errors import UsageError
from scenedet.inference.modelfile import ModelMeta, save_model_file
from scenedet.paths import default_model_path
from scenedet.training.splits import split_films

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts")


@attrs.frozen(kw_only=True)
class TrainConfig:
    """Everything that decides a training run (stored in the model file)."""

    scene: str
    annotations: str
    output: str
    videos: str | None = None
    visual: str = "default"
    audio: str = "default"
    backbone_weights: str = "pretrained"
    train_all: bool = False
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    seed: int = 0
    device: str = "cpu"
    feature_batch_size: int = 16
    install: bool = False

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class TrainResult:
    model_path: Path
    installed_path: Path | None
    backbones: tuple[str, ...]
    splits: dict[str, list[str]]
    class_balance: dict[str, dict[str, int]]
    epochs: list[dict[str, Any]]
    best_epoch: int
    val: dict[str, Any]
    test: dict[str, Any]


def choose_backbones(scene: str, visual: str = "default", audio: str = "default") -> list[str]:
    """The scene recipe's backbones, with ``--visual`` / ``--audio`` swapped or removed (``none``)."""
    spec = get_scene(scene)
    chosen: list[str] = []
    for modality, choice in (("visual", visual), ("audio", audio)):
        defaults = [b for b in spec.backbones if get_backbone_spec(b).modality == modality]
        if choice == "default":
            chosen += defaults
        elif choice != "none":
            if get_backbone_spec(choice).modality != modality:
                raise UsageError(f"--{modality} {choice!r} is not a {modality} backbone")
            chosen.append(choice)
    if not chosen:
        raise UsageError("no backbone left: --visual none and --audio none leave nothing to learn from")
    return chosen


def find_video(name: str, videos: Path) -> Path:
    """The film an annotation names: a path relative to ``videos`` (or absolute)."""
    path = Path(name)
    path = path if path.is_absolute() else videos / path
    if not path.is_file():
        raise UsageError(f"annotated video not found: {path}")
    return path


@attrs.define
class _Film:
    name: str
    path: Path
    labels: np.ndarray  # int8 per second: 1, 0, or -1 (ignore)
    arrays: list[Any] = attrs.Factory(list)  # per backbone (features) or per input (train_all)


def _load_films(config: TrainConfig) -> list[_Film]:
    """Every film the annotation file declares, with its per-second labels (validated against
    the films themselves: unknown films and scenes past a film's end are errors)."""
    from scenedet.evaluation.annotations import load_annotations
    from scenedet.media.probe import probe

    videos = Path(config.videos) if config.videos else Path(config.annotations).parent
    annotations = load_annotations(config.annotations, videos_dir=videos)
    films = []
    for name in annotations.videos:
        path = find_video(name, videos)
        films.append(_Film(name=name, path=path,
                           labels=annotations.labels(name, probe(path).n_seconds)))
    if len(films) < 3:
        raise UsageError(f"need at least 3 annotated films to split train/val/test, got {len(films)}")
    return films


def _balance(films: Sequence[_Film]) -> dict[str, int]:
    labels = np.concatenate([f.labels for f in films]) if films else np.zeros(0, np.int8)
    return {"positive": int((labels == 1).sum()), "negative": int((labels == 0).sum()),
            "ignored": int((labels == -1).sum())}


def _index(films: Sequence[_Film]) -> np.ndarray:
    """(film, second) pairs of every labelled second."""
    pairs = [np.stack([np.full(int((f.labels >= 0).sum()), i), np.flatnonzero(f.labels >= 0)], 1)
             for i, f in enumerate(films)]
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)


def _f1_of(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    from scenedet.evaluation.metrics import binary_metrics

    return binary_metrics(y_true, y_pred).to_dict()


def train_scene(config: TrainConfig, *, log: Callable[[str], None] = print,
                progress: bool | None = None) -> TrainResult:
    """Train a model file for ``config.scene``; see the module docstring for the recipe."""
    import torch

    from scenedet.inference.cache import FeatureCache
    from scenedet.inference.model import SceneModel, prepare_for_inference, resolve_device
    from scenedet.progress import Progress

    if config.epochs < 1 or config.batch_size < 1 or not config.lr > 0:
        raise UsageError("epochs and batch size must be >= 1 and the learning rate > 0")
    spec = get_scene(config.scene)
    names = choose_backbones(config.scene, config.visual, config.audio)
    device = resolve_device(config.device)
    films = _load_films(config)
    splits = split_films([f.name for f in films], seed=config.seed)
    by_name = {f.name: f for f in films}
    parts = {k: [by_name[n] for n in v] for k, v in splits.items()}
    balance = {k: _balance(v) for k, v in parts.items()}
    for split, counts in balance.items():
        log(f"{split:5}: {len(parts[split])} films, {counts['positive']} positive / "
            f"{counts['negative']} negative seconds" +
            (f", {counts['ignored']} unlabelled" if counts["ignored"] else ""))
    if balance["train"]["positive"] == 0 or balance["train"]["negative"] == 0:
        raise UsageError("the training split needs both positive and negative seconds")

    torch.manual_seed(config.seed)
    backbones = [prepare_for_inference(create_backbone(n, weights=config.backbone_weights), device)
                 for n in names]
    if config.backbone_weights.startswith("random:"):
        log(f"note: the backbones use a seeded random initialisation ({config.backbone_weights}), "
            f"not pretrained weights")
    dims = [bb.feature_dim for bb in backbones]
    head = create_head(spec.head, in_features=sum(dims), num_classes=2).to(device)

    total_seconds = sum(len(f.labels) for f in films)
    bar = Progress(total_seconds, label="features: ", enabled=progress)
    try:
        if config.train_all:
            _attach_inputs(films, backbones, bar)
        else:
            cache = FeatureCache()
            for film in films:
                film.arrays = cache.features(film.path, backbones, device=device,
                                             batch_size=config.feature_batch_size, progress=bar)
    finally:
        bar.close()

    model = SceneModel(backbones, head).to(device)
    trainer = _FineTuner(model, device) if config.train_all else _HeadTrainer(model, device)
    params = model.parameters() if config.train_all else head.parameters()
    optimizer = torch.optim.Adam(params, lr=config.lr, betas=config.betas)
    loss_fn = torch.nn.CrossEntropyLoss()
    trainer.fit_standardisation(parts["train"])
    rng = np.random.default_rng(config.seed)
    train_index = _index(parts["train"])
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Any]] | None = None
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        order = train_index[rng.permutation(len(train_index))]
        losses = []
        trainer.train()
        for start in range(0, len(order), config.batch_size):
            chunk = order[start:start + config.batch_size]
            x, y = trainer.batch(parts["train"], chunk, augment=True)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(trainer.logits(x), y.to(device))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        val = trainer.evaluate(parts["val"], config.batch_size)
        row = {"epoch": epoch, "train_loss": float(np.mean(losses)), "val": val,
               "seconds": round(time.perf_counter() - started, 2)}
        history.append(row)
        log(f"epoch {epoch:2d}  loss {row['train_loss']:.4f}  val P {val['precision']:.3f} "
            f"R {val['recall']:.3f} F1 {val['f1']:.3f}  ({row['seconds']:.1f} s)")
        if best is None or val["f1"] > best[0]:
            best = (val["f1"], epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
    assert best is not None
    model.load_state_dict(best[2])
    trainer.train(False)
    val = history[best[1] - 1]["val"]
    trainer.fold_standardisation()
    test = trainer.evaluate(parts["test"], config.batch_size)  # through the head as saved
    log(f"best epoch {best[1]}: val F1 {val['f1']:.3f}, test P {test['precision']:.3f} "
        f"R {test['recall']:.3f} F1 {test['f1']:.3f}")

    meta = ModelMeta(
        scene=spec.name, backbones=tuple(names),
        backbone_weights=tuple("embedded" if config.train_all else bb.weights_id for bb in backbones),
        feature_dims=tuple(dims), head=spec.head, num_classes=2, labels=tuple(spec.labels),
        training={"config": config.to_dict(), "splits": splits, "class_balance": balance,
                  "epochs": history, "best_epoch": best[1], "val": val, "test": test})
    backbone_states = ({n: bb.state_dict() for n, bb in zip(names, model.backbones)}
                       if config.train_all else None)
    path = save_model_file(config.output, meta, model.head.state_dict(), backbone_states)
    installed = None
    if config.install:
        installed = default_model_path(spec.name)
        installed.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, installed)
        log(f"installed as the default {spec.name!r} model: {installed}")
    return TrainResult(model_path=path, installed_path=installed, backbones=tuple(names),
                       splits=splits, class_balance=balance, epochs=history, best_epoch=best[1],
                       val=val, test=test)


class _HeadTrainer:
    """Batches of cached features; only the head learns.

    A linear head learns on standardised features (z-scores with the training split's mean and
    standard deviation), then the standardisation is folded into its weights
    (``W' = W / std``, ``b' = b - W' . mean``): the saved head is the same plain linear layer over
    raw features, but Adam's ten epochs are not spent undoing the backbones' feature scales.
    """

    def __init__(self, model: Any, device: Any) -> None:
        self.model, self.device = model, device
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit_standardisation(self, films: Sequence[_Film]) -> None:
        import torch

        if not isinstance(self.model.head, torch.nn.Linear):
            return  # only a linear layer can absorb it exactly
        total = count = sq = None
        for film in films:
            labelled = np.flatnonzero(film.labels >= 0)
            if not len(labelled):
                continue
            x = np.concatenate([np.asarray(a[labelled], dtype=np.float64) for a in film.arrays], 1)
            total = x.sum(0) if total is None else total + x.sum(0)
            sq = (x * x).sum(0) if sq is None else sq + (x * x).sum(0)
            count = len(x) if count is None else count + len(x)
        if count:
            mean = total / count
            std = np.sqrt(np.maximum(sq / count - mean * mean, 0.0))
            self.mean = mean.astype(np.float32)
            self.std = np.where(std > 1e-6, std, 1.0).astype(np.float32)

    def fold_standardisation(self) -> None:
        """Make the head take raw features again (exactly the same function)."""
        import torch

        if self.mean is None or self.std is None:
            return
        head = self.model.head
        with torch.no_grad():
            std = torch.from_numpy(self.std).to(head.weight)
            mean = torch.from_numpy(self.mean).to(head.weight)
            head.weight.div_(std)
            head.bias.sub_(head.weight @ mean)
        self.mean = self.std = None

    def train(self, mode: bool = True) -> None:
        self.model.head.train(mode)

    def batch(self, films: Sequence[_Film], pairs: np.ndarray, *, augment: bool) -> tuple[Any, Any]:
        import torch

        rows = np.stack([np.concatenate([np.asarray(a[s], dtype=np.float32) for a in films[f].arrays])
                         for f, s in pairs])
        if self.mean is not None and self.std is not None:
            rows = (rows - self.mean) / self.std
        labels = [int(films[f].labels[s]) for f, s in pairs]
        return torch.from_numpy(rows), torch.tensor(labels, dtype=torch.long)

    def logits(self, x: Any) -> Any:
        return self.model.head(x.to(self.device))

    def evaluate(self, films: Sequence[_Film], batch_size: int) -> dict[str, Any]:
        import torch

        pairs = _index(films)
        preds: list[np.ndarray] = []
        truth: list[np.ndarray] = []
        self.train(False)
        with torch.inference_mode():
            for start in range(0, len(pairs), max(batch_size, 256)):
                x, y = self.batch(films, pairs[start:start + max(batch_size, 256)], augment=False)
                preds.append(self.logits(x).argmax(1).cpu().numpy())
                truth.append(y.numpy())
        self.train(True)
        if not preds:
            return _f1_of(np.zeros(0, np.int8), np.zeros(0, np.int8))
        return _f1_of(np.concatenate(truth), np.concatenate(preds))


class _FineTuner(_HeadTrainer):
    """Batches of cached inputs with augmentation; backbones and head learn together."""

    def fit_standardisation(self, films: Sequence[_Film]) -> None:
        pass  # the backbones adapt their own scales

    def train(self, mode: bool = True) -> None:
        self.model.train(mode)

    def batch(self, films: Sequence[_Film], pairs: np.ndarray, *, augment: bool) -> tuple[Any, Any]:
        import torch

        inputs = []
        for k, backbone in enumerate(self.model.backbones):
            items = []
            for f, s in pairs:
                item = np.array(films[f].arrays[k][s])  # a writable copy of the memmap row
                if augment and backbone.input == "still":
                    item = augment_still(item)
                items.append(backbone.preprocess(item))
            inputs.append(torch.stack(items))
        labels = [int(films[f].labels[s]) for f, s in pairs]
        return inputs, torch.tensor(labels, dtype=torch.long)

    def logits(self, x: Any) -> Any:
        return self.model([t.to(self.device) for t in x])


def augment_still(still: np.ndarray, size: int = 256) -> np.ndarray:
    """The paper's training augmentation on one still: a random crop of 8-100 % of the area with
    aspect 3/4-4/3, resized to ``size`` square, flipped half the time. The backbone's own
    preprocessing then centre-crops it as at inference."""
    import torch
    from torchvision.transforms import v2

    tensor = torch.from_numpy(np.ascontiguousarray(still)).permute(2, 0, 1)
    transform = v2.Compose([v2.RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                                                 antialias=True),
                            v2.RandomHorizontalFlip()])
    return transform(tensor).permute(1, 2, 0).contiguous().numpy()


_FINE_TUNE_INPUTS = ("still", "audio-logmel")


def _attach_inputs(films: Sequence[_Film], backbones: Sequence[Any], progress: Any) -> None:
    """Cache each film's per-second inputs (stills shrunk to a 256-pixel short side) for
    fine-tuning, memory-mapped, decoding each film once."""
    from scenedet.inference.cache import FeatureCache, content_hash
    from scenedet.inference.features import NpyStream
    from scenedet.plugin._factory import create_extractor
    from scenedet.media.decode import iter_seconds
    from scenedet.media.types import MediaRequest

    for bb in backbones:
        if bb.input not in _FINE_TUNE_INPUTS:
            raise UsageError(f"--train-all supports backbones fed by {', '.join(_FINE_TUNE_INPUTS)}; "
                             f"{bb.name} reads {bb.input!r}: train its head only")
    cache = FeatureCache()
    for film in films:
        film_hash = content_hash(film.path)
        paths = [cache.inputs_path(film_hash, bb.input, 256) for bb in backbones]
        missing = sorted({bb.input for bb, p in zip(backbones, paths) if not p.is_file()})
        if missing:
            extractors = {name: create_extractor(name) for name in missing}
            request = MediaRequest(frames=0)
            for ex in extractors.values():
                request = request.merge(ex.request)
            streams = {name: NpyStream(cache.inputs_path(film_hash, name, 256), len(film.labels))
                       for name in missing}
            try:
                for second in iter_seconds(film.path, request):
                    for name, ex in extractors.items():
                        item = ex(second)
                        if name == "still":
                            item = _shrink(item, 256)
                        streams[name].write(np.asarray(item)[None])
                    progress.update(1)
                for stream in streams.values():
                    stream.commit()
            except BaseException:
                for stream in streams.values():
                    stream.abort()
                raise
        film.arrays = [np.load(p, mmap_mode="r") for p in paths]


def _shrink(still: np.ndarray, short_side: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    h, w = still.shape[:2]
    scale = short_side / min(h, w)
    if scale >= 1:
        return still
    size = (max(1, math.floor(h * scale + 0.5)), max(1, math.floor(w * scale + 0.5)))
    t = torch.from_numpy(np.ascontiguousarray(still)).permute(2, 0, 1)[None].float()
    out = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
    return out[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
