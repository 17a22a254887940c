"""``train_scene``: the paper's recipe for a scene's classifier, on annotated films.

The head is the scene recipe's (``linear``, the paper's) or another registered one
(``head="temporal"``: a sequence head, trained on windows, :mod:`scenedet.training.sequence`).
After training, the min_length and threshold with the best segment F1 on the validation films
are chosen (:mod:`scenedet.training.choose`) and stored in the model file as a run's defaults.

Two modes. Head-only (default, fast): per-second features come from the feature cache (each film
is decoded once, ever), and only the linear head is trained. ``train_all``: the backbones are
fine-tuned too, from cached per-second inputs with the paper's augmentation (random resized crop
8-100 % of the area, aspect 3/4-4/3, horizontal flip). Both: Adam (lr 1e-3, betas 0.9/0.999),
batch 64, 10 epochs, cross-entropy; films split 80/10/10 by film with a seed; the epoch with the
best validation F1 is kept; the model file carries the config, the splits and every metric.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.plugin.registry import (create_backbone, create_head, get_backbone_spec,
                                      get_head_spec, get_scene)
from scenedet.plugin.specs import SceneSpec
from scenedet.errors import UsageError
from scenedet.files import write_with
from scenedet.inference.modelfile import ModelMeta, save_model_file
from scenedet.paths import default_model_path
from scenedet.training.splits import split_films
from scenedet.training.trainers import FineTuner, Film, HeadTrainer, attach_inputs

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
    #: A registered head (``linear``, ``temporal``, ...) or ``default``: the scene recipe's.
    head: str = "default"
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
    #: The segmentation settings chosen on validation (:mod:`scenedet.training.choose`), or None.
    segmentation: dict[str, Any] | None = None

    def metrics(self) -> dict[str, Any]:
        """Every number training measured, as JSON-ready data (also in the model file)."""
        return {"best_epoch": self.best_epoch, "epochs": self.epochs, "val": self.val,
                "test": self.test, "splits": self.splits, "class_balance": self.class_balance,
                "segmentation": self.segmentation}


class BackboneChoiceError(UsageError):
    """A backbone chosen for a modality (``visual`` or ``audio``) that is not of that modality.

    ``modality``, ``choice`` and ``actual`` let a caller (the CLI) word it in its own terms.
    """

    def __init__(self, modality: str, choice: str, actual: str) -> None:
        self.modality, self.choice, self.actual = modality, choice, actual
        super().__init__(f"{choice!r} is not a {modality} backbone (it is {actual})")


def choose_backbones(scene: str, visual: str = "default", audio: str = "default") -> list[str]:
    """The scene recipe's backbones, with the visual / audio one swapped (a backbone name),
    kept (``default``) or removed (``none``)."""
    spec = get_scene(scene)
    chosen: list[str] = []
    for modality, choice in (("visual", visual), ("audio", audio)):
        defaults = [b for b in spec.backbones if get_backbone_spec(b).modality == modality]
        if choice == "default":
            chosen += defaults
        elif choice != "none":
            actual = get_backbone_spec(choice).modality
            if actual != modality:
                raise BackboneChoiceError(modality, choice, actual)
            chosen.append(choice)
    if not chosen:
        raise UsageError("no backbone left: with neither a visual nor an audio backbone there is "
                         "nothing to learn from")
    return chosen


def find_video(name: str, videos: Path) -> Path:
    """The film an annotation names: a path relative to ``videos`` (or absolute)."""
    path = Path(name)
    path = path if path.is_absolute() else videos / path
    if not path.is_file():
        raise UsageError(f"annotated video not found: {path}")
    return path


def _load_films(config: TrainConfig) -> list[Film]:
    """Every film the annotation file declares, with its per-second labels (validated against
    the films themselves: unknown films and scenes past a film's end are errors)."""
    from scenedet.evaluation.annotations import load_annotations
    from scenedet.media.probe import probe

    videos = Path(config.videos) if config.videos else Path(config.annotations).parent
    annotations = load_annotations(config.annotations, videos_dir=videos)
    films = []
    for name in annotations.videos:
        path = find_video(name, videos)
        films.append(Film(name=name, path=path,
                           labels=annotations.labels(name, probe(path).n_seconds)))
    if len(films) < 3:
        raise UsageError(f"need at least 3 annotated films to split train/val/test, got {len(films)}")
    return films


def _balance(films: Sequence[Film]) -> dict[str, int]:
    labels = np.concatenate([f.labels for f in films]) if films else np.zeros(0, np.int8)
    return {"positive": int((labels == 1).sum()), "negative": int((labels == 0).sum()),
            "ignored": int((labels == -1).sum())}


def train_scene(config: TrainConfig, *, log: Callable[[str], None] = print,
                progress: bool | None = None) -> TrainResult:
    """Train a model file for ``config.scene``; see the module docstring for the recipe."""
    from scenedet.inference.model import SceneModel, resolve_device

    if config.epochs < 1 or config.batch_size < 1 or not config.lr > 0:
        raise UsageError("epochs and batch size must be >= 1 and the learning rate > 0")
    spec = get_scene(config.scene)
    head_name = spec.head if config.head == "default" else get_head_spec(config.head).name
    if config.train_all and _sequence_head(head_name):
        raise UsageError("fine-tuning the backbones (train_all) trains a per-second head; a "
                         "sequence head trains over cached features: leave train_all off")
    names = choose_backbones(config.scene, config.visual, config.audio)
    device = resolve_device(config.device)
    films = _load_films(config)
    splits, parts, balance = _split(films, config.seed, log)
    backbones, head = _networks(head_name, names, config, device, log)
    trainer = _trainer(SceneModel(backbones, head).to(device), config, device)
    _fill_inputs(films, backbones, config, device, progress)
    model = trainer.model
    with trainer.threads():
        history, best_epoch = _fit(model, trainer, parts, config, device, log)
        val = history[best_epoch - 1]["val"]
        trainer.fold_standardisation()
        test = trainer.evaluate(parts["test"], config.batch_size)  # through the head as saved
        log(f"best epoch {best_epoch}: val F1 {val['f1']:.3f}, test P {test['precision']:.3f} "
            f"R {test['recall']:.3f} F1 {test['f1']:.3f}")
        chosen = _choose(trainer, spec, parts, log)
    training = {"config": config.to_dict(), "splits": splits, "class_balance": balance,
                "epochs": history, "best_epoch": best_epoch, "val": val, "test": test,
                "segmentation": chosen, "head": _head_info(head_name, model.head)}
    path, installed = _save(config, spec, names, model, training, log)
    return TrainResult(model_path=path, installed_path=installed, backbones=tuple(names),
                       splits=splits, class_balance=balance, epochs=history, best_epoch=best_epoch,
                       val=val, test=test, segmentation=chosen)


def _sequence_head(name: str) -> bool:
    """Whether the head ``name`` scores sequences (asked of a throwaway one-feature instance)."""
    from scenedet.inference.sequence import is_sequence_head

    return is_sequence_head(create_head(name, in_features=1, num_classes=2))


def _trainer(model: Any, config: TrainConfig, device: Any) -> HeadTrainer:
    """Head-only over features (per second, or windows for a sequence head), or fine-tuning."""
    from scenedet.inference.sequence import is_sequence_head
    from scenedet.training.sequence import SequenceTrainer

    if config.train_all:
        return FineTuner(model, device)
    return SequenceTrainer(model, device) if is_sequence_head(model.head) else HeadTrainer(model, device)


def _head_info(name: str, head: Any) -> dict[str, Any]:
    """What the model file records of its head: name, context in seconds, size."""
    from scenedet.inference.temporal import context_of

    back, ahead = context_of(head)
    return {"name": name, "look_back": back, "look_ahead": ahead,
            "receptive_field": back + 1 + ahead,
            "parameters": sum(p.numel() for p in head.parameters())}


def _choose(trainer: HeadTrainer, spec: SceneSpec, parts: dict[str, list[Film]],
            log: Callable[[str], None]) -> dict[str, Any] | None:
    """The segmentation settings chosen on the validation films (:mod:`scenedet.training.choose`),
    with what they give on the test films."""
    from scenedet.training.choose import choose_settings, segment_scores

    scores = {split: {f.name: trainer.film_scores(f) for f in parts[split]}
              for split in ("val", "test")}
    labels = {split: {f.name: f.labels for f in parts[split]} for split in ("val", "test")}
    chosen = choose_settings(scores["val"], labels["val"], aggregator=spec.aggregator,
                             label_threshold=spec.label_threshold,
                             recipe_min_length=spec.min_length, recipe_threshold=spec.threshold)
    if chosen is None:
        log("no scene in the validation films: the scene's own min_length and threshold stay")
        return None
    chosen["test"] = segment_scores(scores["test"], labels["test"], {
        "aggregator": spec.aggregator, "label_threshold": spec.label_threshold,
        "min_length": chosen["min_length"], "threshold": chosen["threshold"]})
    test_map = chosen["test"]["mAP"]
    log(f"chosen on validation: min_length {chosen['min_length']}, threshold "
        f"{chosen['threshold']} (segment F1 {chosen['validation']['f1']:.3f}); test segment F1 "
        f"{chosen['test']['f1']:.3f}, mAP " + ("-" if test_map is None else f"{test_map:.3f}"))
    return chosen


def _split(films: Sequence[Film], seed: int, log: Callable[[str], None]
           ) -> tuple[dict[str, list[str]], dict[str, list[Film]], dict[str, dict[str, int]]]:
    """Films split 80/10/10 by film: the names per split, the films per split and each split's
    class balance (logged); the training split needs both classes."""
    splits = split_films([f.name for f in films], seed=seed)
    by_name = {f.name: f for f in films}
    parts = {k: [by_name[n] for n in v] for k, v in splits.items()}
    balance = {k: _balance(v) for k, v in parts.items()}
    for split, counts in balance.items():
        log(f"{split:5}: {len(parts[split])} films, {counts['positive']} positive / "
            f"{counts['negative']} negative seconds" +
            (f", {counts['ignored']} unlabelled" if counts["ignored"] else ""))
    if balance["train"]["positive"] == 0 or balance["train"]["negative"] == 0:
        raise UsageError("the training split needs both positive and negative seconds")
    return splits, parts, balance


def _networks(head_name: str, names: Sequence[str], config: TrainConfig, device: Any,
              log: Callable[[str], None]) -> tuple[list[Any], Any]:
    """The backbones (ready for inference on ``device``) and a fresh head over their features,
    initialised from ``config.seed``."""
    import torch

    from scenedet.inference.model import prepare_for_inference

    torch.manual_seed(config.seed)
    backbones = [prepare_for_inference(create_backbone(n, weights=config.backbone_weights), device)
                 for n in names]
    if config.backbone_weights.startswith("random:"):
        log(f"note: the backbones use a seeded random initialisation ({config.backbone_weights}), "
            f"not pretrained weights")
    dims = [bb.feature_dim for bb in backbones]
    head = create_head(head_name, in_features=sum(dims), num_classes=2).to(device)
    return backbones, head


def _fill_inputs(films: Sequence[Film], backbones: Sequence[Any], config: TrainConfig,
                 device: Any, progress: bool | None) -> None:
    """Each film's per-second training inputs: cached inputs to fine-tune the backbones on
    (``train_all``), else the backbones' features from the feature cache."""
    from scenedet.inference.cache import FeatureCache
    from scenedet.progress import Progress

    total_seconds = sum(len(f.labels) for f in films)
    bar = Progress(total_seconds, label="features: ", enabled=progress)
    try:
        if config.train_all:
            attach_inputs(films, backbones, bar)
        else:
            cache = FeatureCache()
            for film in films:
                film.arrays = cache.features(film.path, backbones, device=device,
                                             batch_size=config.feature_batch_size, progress=bar)
    finally:
        bar.close()


def _fit(model: Any, trainer: HeadTrainer | FineTuner, parts: dict[str, list[Film]],
         config: TrainConfig, device: Any, log: Callable[[str], None]
         ) -> tuple[list[dict[str, Any]], int]:
    """Adam on the training split (the head, or everything with ``train_all``), epoch after
    epoch; ``model`` keeps the weights of the epoch with the best validation F1. Returns every
    epoch's row and that epoch."""
    import torch

    params = model.parameters() if config.train_all else model.head.parameters()
    optimizer = torch.optim.Adam(params, lr=config.lr, betas=config.betas)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-1)  # -1: context rows of a window
    trainer.fit_standardisation(parts["train"])
    rng = np.random.default_rng(config.seed)
    train_index = trainer.index(parts["train"])
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Any]] | None = None
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        order = train_index[rng.permutation(len(train_index))]
        losses = _train_epoch(trainer, optimizer, loss_fn, parts["train"], order, config, device)
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
    return history, best[1]


def _train_epoch(trainer: HeadTrainer | FineTuner, optimizer: Any, loss_fn: Any,
                 films: Sequence[Film], order: np.ndarray, config: TrainConfig,
                 device: Any) -> list[float]:
    """One pass over the training seconds in ``order``, batch by batch (augmented); the losses."""
    losses = []
    trainer.train()
    step = trainer.step(config.batch_size)
    for start in range(0, len(order), step):
        chunk = order[start:start + step]
        x, y = trainer.batch(films, chunk, augment=True)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(trainer.logits(x), y.to(device))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _save(config: TrainConfig, spec: SceneSpec, names: Sequence[str], model: Any,
          training: dict[str, Any], log: Callable[[str], None]) -> tuple[Path, Path | None]:
    """The model file (the head; the backbones too when fine-tuned), and its installed copy
    with ``config.install``."""
    backbones = model.backbones
    meta = ModelMeta(
        scene=spec.name, backbones=tuple(names),
        backbone_weights=tuple("embedded" if config.train_all else bb.weights_id for bb in backbones),
        feature_dims=tuple(bb.feature_dim for bb in backbones), head=training["head"]["name"],
        num_classes=2, labels=tuple(spec.labels), training=training,
        receptive_field=training["head"]["receptive_field"],
        segmentation={k: v for k, v in (training["segmentation"] or {}).items()
                      if k in ("min_length", "threshold")})
    backbone_states = ({n: bb.state_dict() for n, bb in zip(names, backbones)}
                       if config.train_all else None)
    path = save_model_file(config.output, meta, model.head.state_dict(), backbone_states)
    installed = None
    if config.install:
        installed = default_model_path(spec.name)
        write_with(installed, lambda tmp: shutil.copyfile(path, tmp))
        log(f"installed as the default {spec.name!r} model: {installed}")
    return path, installed
