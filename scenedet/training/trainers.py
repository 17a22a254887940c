"""What a training epoch iterates over: films with per-second labels, and batches from them.

Two trainers share one interface (``fit_standardisation``, ``batch``, ``logits``, ``evaluate``):
:class:`HeadTrainer` batches cached per-second *features* and trains the head alone;
:class:`FineTuner` batches cached per-second *inputs* (stills, log-mel patches) with the paper's
augmentation and trains backbones and head together. :func:`attach_inputs` fills the inputs cache
for fine-tuning, decoding each film once. :func:`scenedet.training.train.train_scene` drives them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.errors import UsageError


@attrs.define
class Film:
    """One annotated film in training: its per-second labels and, once attached, its cached
    per-second arrays (memory-mapped)."""

    name: str
    path: Path
    labels: np.ndarray  # int8 per second: 1, 0, or -1 (ignore)
    arrays: list[Any] = attrs.Factory(list)  # per backbone (features) or per input (train_all)


def labelled_index(films: Sequence[Film]) -> np.ndarray:
    """``(film, second)`` pairs of every labelled second."""
    pairs = [np.stack([np.full(int((f.labels >= 0).sum()), i), np.flatnonzero(f.labels >= 0)], 1)
             for i, f in enumerate(films)]
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)


def _f1_of(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    from scenedet.evaluation.metrics import binary_metrics

    return binary_metrics(y_true, y_pred).to_dict()



class HeadTrainer:
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

    def index(self, films: Sequence[Film]) -> np.ndarray:
        """What an epoch shuffles and batches: here ``(film, second)`` pairs."""
        return labelled_index(films)

    def step(self, batch_size: int) -> int:
        """Rows of :meth:`index` per optimiser step."""
        return batch_size

    def threads(self) -> Any:
        """A context to train and evaluate in (torch's threads as they are)."""
        import contextlib

        return contextlib.nullcontext()

    def _first_linear(self) -> Any:
        """The head's first layer when it is a linear layer applied to each second's features
        alone (the head itself, or its ``project``): one that can absorb the standardisation."""
        import torch

        head = self.model.head
        for layer in (head, getattr(head, "project", None)):
            if isinstance(layer, torch.nn.Linear):
                return layer
        return None

    def fit_standardisation(self, films: Sequence[Film]) -> None:
        if self._first_linear() is None:
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
        head = self._first_linear()
        with torch.no_grad():
            std = torch.from_numpy(self.std).to(head.weight)
            mean = torch.from_numpy(self.mean).to(head.weight)
            head.weight.div_(std)
            head.bias.sub_(head.weight @ mean)
        self.mean = self.std = None

    def train(self, mode: bool = True) -> None:
        self.model.head.train(mode)

    def batch(self, films: Sequence[Film], pairs: np.ndarray, *, augment: bool) -> tuple[Any, Any]:
        import torch

        rows = np.stack([np.concatenate([np.asarray(a[s], dtype=np.float32) for a in films[f].arrays])
                         for f, s in pairs])
        if self.mean is not None and self.std is not None:
            rows = (rows - self.mean) / self.std
        labels = [int(films[f].labels[s]) for f, s in pairs]
        return torch.from_numpy(rows), torch.tensor(labels, dtype=torch.long)

    def logits(self, x: Any) -> Any:
        return self.model.head(x.to(self.device))

    def evaluate(self, films: Sequence[Film], batch_size: int) -> dict[str, Any]:
        import torch

        pairs = labelled_index(films)
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


    def film_scores(self, film: Film) -> np.ndarray:
        """P(positive) for every second of ``film``, through the head as it is now (a sequence
        head sees the whole film at once, as a run's streamed scores equal)."""
        import torch

        from scenedet.inference.temporal import sequence_logits

        pairs = np.stack([np.zeros(len(film.labels), np.int64),
                          np.arange(len(film.labels))], 1)
        self.train(False)
        with torch.inference_mode():
            x, _ = HeadTrainer.batch(self, [film], pairs, augment=False)
            logits = sequence_logits(self.model.head, x.to(self.device))
            scores = torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy()
        self.train(True)
        return scores.astype(np.float32)


class FineTuner(HeadTrainer):
    """Batches of cached inputs with augmentation; backbones and head learn together."""

    def fit_standardisation(self, films: Sequence[Film]) -> None:
        pass  # the backbones adapt their own scales

    def train(self, mode: bool = True) -> None:
        self.model.train(mode)

    def batch(self, films: Sequence[Film], pairs: np.ndarray, *, augment: bool) -> tuple[Any, Any]:
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

    def film_scores(self, film: Film) -> np.ndarray:
        import torch

        out = []
        self.train(False)
        with torch.inference_mode():
            for start in range(0, len(film.labels), 64):
                seconds = np.arange(start, min(start + 64, len(film.labels)))
                x, _ = self.batch([film], np.stack([np.zeros_like(seconds), seconds], 1),
                                  augment=False)
                out.append(torch.softmax(self.logits(x).float(), 1)[:, 1].cpu().numpy())
        self.train(True)
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


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


def attach_inputs(films: Sequence[Film], backbones: Sequence[Any], progress: Any) -> None:
    """Cache each film's per-second inputs (stills shrunk to a 256-pixel short side) for
    fine-tuning, memory-mapped, decoding each film once."""
    from scenedet.inference.cache import FeatureCache, content_hash
    from scenedet.inference.features import NpyStream
    from scenedet.plugin.registry import create_extractor
    from scenedet.media.seconds.decode import iter_seconds
    from scenedet.media.types import MediaRequest

    for bb in backbones:
        if bb.input not in _FINE_TUNE_INPUTS:
            raise UsageError(f"fine-tuning (train_all) supports backbones fed by "
                             f"{', '.join(_FINE_TUNE_INPUTS)}; "
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
