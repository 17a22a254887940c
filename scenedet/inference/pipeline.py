"""``run_scene``: a film in, per-second scores and scenes out. What ``scenedet run`` calls.

The decoder and preprocessing run on a producer thread (see :mod:`scenedet.inference.stream`), the models
on the caller's thread under ``torch.inference_mode``; only one float per second is kept, so
memory stays flat with the length of the film.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.plugin._factory import check_scene_usable, get_aggregator_spec, get_scene
from scenedet.errors import UsageError
from scenedet.inference.modelfile import load_model_file
from scenedet.paths import default_model_path
from scenedet.progress import Progress
from scenedet.segmentation.segments import Segment, fraction_text, segment
from scenedet.segmentation.settings import resolve_settings


@attrs.frozen
class SceneResult:
    """The outcome of one run; ``to_dict()`` is the JSON ``scenedet run`` writes."""

    video: str
    scene: str
    duration: float
    scores: np.ndarray
    segments: list[Segment]
    model: str = ""
    settings: dict[str, Any] = attrs.Factory(dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "scene": self.scene,
            "duration": round(float(self.duration), 3),
            "segments": [s.to_dict() for s in self.segments],
            "scores": [float(p) for p in self.scores],  # full precision: re-segmenting must agree
            "model": self.model,
            "settings": self.settings,
        }


def set_threads(threads: int | None) -> None:
    """Limit torch's intra-op threads (``None`` leaves torch's default: one per core)."""
    if threads is not None:
        import torch

        if threads < 1:
            raise UsageError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)


def score_film(model: Any, video: str | Path, *, device: Any = "cpu", batch_size: int = 16,
               progress: Progress | None = None, strategy: str = "auto") -> np.ndarray:
    """Probability of the positive class for every whole second of ``video``.

    ``model`` is a :class:`scenedet.inference.model.SceneModel` already on ``device``.
    """
    import torch

    from scenedet.inference.stream import device_batches

    scores: list[np.ndarray] = []
    with torch.inference_mode():
        for batch, inputs in device_batches(video, list(model.backbones), batch_size, device,
                                            strategy=strategy):
            probs = torch.softmax(model(inputs).float(), dim=1)[:, 1]
            scores.append(probs.cpu().numpy().astype(np.float32))
            if progress is not None:
                progress.update(batch.size)
    return np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)


def run_scene(video: str | Path, *, scene: str, model: str | Path | None = None,
              aggregator: str | None = None, min_length: int | None = None,
              threshold: float | None = None, label_threshold: float | None = None,
              device: str = "cpu", batch_size: int = 16, threads: int | None = None,
              weights: Mapping[str, str] | None = None, progress: bool | None = None,
              strategy: str = "auto") -> SceneResult:
    """Find the scenes of ``scene`` in ``video``.

    ``model`` defaults to the scene's installed model (:func:`default_model_path`). Segmentation
    settings default to the scene recipe's. ``weights`` maps a backbone name to a weight file
    (offline use). ``progress``: ``None`` shows it when stderr is a terminal.
    """
    from scenedet.media.probe import probe
    from scenedet.inference.model import build_scene_model, resolve_device

    spec = check_scene_usable(get_scene(scene))
    # Validate the cheap things before loading models and decoding an hour of film.
    settings = resolve_settings({"aggregator": aggregator, "min_length": min_length,
                                 "threshold": threshold, "label_threshold": label_threshold},
                                (attrs.asdict(spec), f"scene {spec.name!r}"))
    get_aggregator_spec(settings["aggregator"])
    model_path = Path(model) if model is not None else default_model_path(spec.name)
    if model is None and not model_path.is_file():
        raise UsageError(f"no model for scene {spec.name!r}: give a model file, or install one at "
                         f"{model_path} (train with install=True)")
    info = probe(video)
    if info.n_seconds == 0:
        raise UsageError(f"{video} is shorter than one second ({info.duration:.2f} s): "
                         f"nothing to score")
    set_threads(threads)
    dev = resolve_device(device)
    scene_model = build_scene_model(load_model_file(model_path), spec.name, device=dev,
                                    weights=weights)
    bar = Progress(info.n_seconds, label=f"{Path(video).name}: ", enabled=progress)
    try:
        scores = score_film(scene_model, video, device=dev, batch_size=batch_size,
                            progress=bar, strategy=strategy)
    finally:
        bar.close()
    found = segment(scores, **settings)
    return SceneResult(video=str(video), scene=spec.name, duration=info.duration, scores=scores,
                       segments=found, model=str(model_path),
                       settings={**settings, "threshold": fraction_text(settings["threshold"])})
