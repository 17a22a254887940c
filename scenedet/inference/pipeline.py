"""``run_scene``: a film in, per-second scores and scenes out. What ``scenedet run`` calls.

The decoder and preprocessing run on a producer thread (see :mod:`scenedet.inference.stream`), the models
on the caller's thread under ``torch.inference_mode``; only one float per second is kept, so
memory stays flat with the length of the film.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from scenedet.plugin.registry import check_scene_usable, get_aggregator_spec, get_scene
from scenedet.errors import NoModelError, UsageError
from scenedet.inference.modelfile import load_model_file
from scenedet.paths import default_model_path
from scenedet.progress import Progress
from scenedet.segmentation.segments import Segment, fraction_text, segment
from scenedet.segmentation.settings import resolve_settings

if TYPE_CHECKING:
    from scenedet.media.damage import Damage


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
    #: The film second ``scores[0]`` is (a part of a film, see ``run_scene(start=...)``).
    start: int = 0
    #: Damaged packets skipped while decoding (:class:`scenedet.media.damage.Damage`), or None.
    damage: Damage | None = None
    #: What scored it (:func:`scenedet.inference.modelfile.provenance`): the model file, its
    #: backbones' weights, and whether they are a seeded random test pattern.
    provenance: dict[str, Any] | None = None
    #: ``run_scene(profile=True)``: the stages' seconds (:meth:`scenedet.profiling.Profile.to_dict`),
    #: not part of ``to_dict()`` (the JSON is the same with or without a profile).
    profile: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "video": self.video,
            "scene": self.scene,
            "duration": round(float(self.duration), 3),
            "start": self.start,  # scores[i] is film second start + i; segments are film times
            "segments": [s.to_dict() for s in self.segments],
            "scores": [float(p) for p in self.scores],  # full precision: re-segmenting must agree
            "model": self.model,
            "settings": self.settings,
        }
        if self.provenance is not None:
            out["provenance"] = self.provenance
        if self.damage:
            out["damage"] = self.damage.to_dict()
        return out


def set_threads(threads: int | None) -> None:
    """Limit torch's intra-op threads (``None`` leaves torch's default: one per core)."""
    if threads is not None:
        import torch

        if threads < 1:
            raise UsageError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)


def score_film(model: Any, video: str | Path, *, device: Any = "cpu", batch_size: int | None = None,
               progress: Progress | None = None, strategy: str = "auto",
               speedup: str = "none", precision: str = "fp32", device_preprocess: bool = False,
               info: dict[str, Any] | None = None, **decode: Any) -> np.ndarray:
    """Probability of the positive class for every whole second of ``video``.

    ``model`` is a :class:`scenedet.inference.model.SceneModel` already on ``device``.
    ``batch_size``: seconds per batch (default: :func:`scenedet.inference.gpu.default_batch_size`,
    larger on CUDA). ``precision``: ``"fp32"``, ``"fp16"`` (CUDA only) or ``"auto"`` (fp16 on
    CUDA while the checked batches' scores stay within 1e-3 of fp32's, then fp32; bf16 so
    guarded on a CPU with native bf16 when the backbones run through :mod:`scenedet.runtime`,
    else fp32), see :func:`scenedet.inference.gpu.make_runner`. ``device_preprocess``: resize, crop
    and normalise the stills on ``device``. ``info``, when given, receives ``"precision"`` (the
    one used: ``"fp16+fp32"`` when fp32 took over part-way) and, for ``"auto"``,
    ``"precision_check"`` (:meth:`~scenedet.inference.gpu.ModelRunner.check_record`) and
    ``"fp16_max_diff"`` (the largest checked difference).
    ``decode``: ``start_second``, ``stop_second``, ``damage``, ``use_audio`` (see
    :func:`scenedet.inference.stream.input_batches`). ``speedup``: ``"none"``, ``"int8"`` or
    ``"compile"`` (opt-in, changes the scores slightly: :mod:`scenedet.inference.speedups`).
    """
    import contextlib

    import torch

    from scenedet.inference.allocator import tune_allocator
    from scenedet.inference.gpu import default_batch_size, make_runner, tune_for
    from scenedet.inference.stream import device_batches

    if batch_size is None:
        batch_size = default_batch_size(device)
    tune_allocator()  # large buffers in their own mappings: RSS flat at 720p/1080p
    tune_for(device)
    forward = model
    if speedup not in (None, "none"):
        from scenedet.inference.speedups import check_speedup, make_forward

        forward = make_forward(model, check_speedup(speedup, device), batch_size=batch_size)
    # speed-ups are for the CPU, where the precision is always fp32
    runner = make_runner(forward, precision, device)
    scores: list[np.ndarray] = []
    batches = device_batches(video, list(model.backbones), batch_size, device, strategy=strategy,
                             device_preprocess=device_preprocess, **decode)
    # closing: an exception or Ctrl-C here stops and joins the decoding thread at once.
    with torch.inference_mode(), contextlib.closing(batches):
        for batch, inputs in batches:
            scores.append(runner(inputs).cpu().numpy().astype(np.float32))
            if progress is not None:
                progress.update(batch.size)
    if info is not None:
        info["precision"] = runner.used
        if runner.max_diff is not None:
            info["fp16_max_diff"] = runner.max_diff
        if runner.check_record() is not None:
            info["precision_check"] = runner.check_record()
    return np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)


def prepare_run(scene: str, *, model: str | Path | None = None, aggregator: str | None = None,
                min_length: int | None = None, threshold: float | str | None = None,
                label_threshold: float | None = None, batch_size: int | None = 16,
                ) -> tuple[Any, dict[str, Any], Path]:
    """``(scene spec, segmentation settings, model path)``, all checked before any film is touched.

    The model defaults to the scene's installed one; each setting to the one given, else the
    model file's (chosen on its validation films by ``train``), else the scene recipe's. What
    :func:`run_scene` and a batch over many films both start from (one-line errors).
    """
    from scenedet.inference.modelfile import model_settings

    spec = check_scene_usable(get_scene(scene))
    given = {"aggregator": aggregator, "min_length": min_length, "threshold": threshold,
             "label_threshold": label_threshold}
    recipe = (attrs.asdict(spec), f"scene {spec.name!r}")
    settings = resolve_settings(given, recipe)
    get_aggregator_spec(settings["aggregator"])
    if batch_size is not None and batch_size < 1:
        raise UsageError(f"batch size must be at least 1, got {batch_size}")
    model_path = Path(model) if model is not None else default_model_path(spec.name)
    if model is None and not model_path.is_file():
        raise NoModelError(spec.name, model_path)
    chosen = model_settings(model_path) if model_path.is_file() else {}
    if chosen:
        settings = resolve_settings(given, (chosen, f"model {model_path.name}"), recipe)
    return spec, settings, model_path


def run_scene(video: str | Path, *, scene: str, model: str | Path | None = None,
              aggregator: str | None = None, min_length: int | None = None,
              threshold: float | None = None, label_threshold: float | None = None,
              device: str = "cpu", batch_size: int | None = None, threads: int | None = None,
              weights: Mapping[str, str] | None = None, progress: bool | None = None,
              strategy: str = "auto", start: float | None = None, end: float | None = None,
              use_audio: bool = True, decode_workers: int | None = None,
              speedup: str = "none", precision: str = "fp32", device_preprocess: bool = False,
              profile: bool = False) -> SceneResult:
    """Find the scenes of ``scene`` in ``video``.

    ``model`` defaults to the scene's installed model (:func:`default_model_path`). Segmentation
    settings default to the scene recipe's. ``weights`` maps a backbone name to a weight file
    (offline use). ``progress``: ``None`` shows it when stderr is a terminal.

    ``start``/``end`` (seconds of film time) score a part of the film: the whole seconds from
    ``floor(start)`` to ``ceil(end)`` (see :func:`second_range`), found by seeking, not by
    decoding from the start; segments are in film time and ``result.start`` says which second
    ``scores[0]`` is. ``use_audio=False`` scores without the audio track (silence into the audio
    backbone; recorded in ``settings["audio"]``). Damaged packets are skipped and reported in
    ``result.damage`` and one :class:`~scenedet.media.damage.DamagedMediaWarning`.
    ``decode_workers``: decode the film with that many workers (:mod:`scenedet.media.parallel.seconds`,
    identical seconds); ``None`` chooses from the cores and the device
    (:func:`scenedet.media.parallel.seconds.choose_workers`).
    ``speedup``: ``"int8"`` or ``"compile"``, opt-in CPU speed-ups that move the scores a little
    (:mod:`scenedet.inference.speedups`; recorded in ``settings["speedup"]``).

    ``batch_size`` defaults to the device's (16 on the CPU, 64 on CUDA); ``precision`` and
    ``device_preprocess`` are the GPU path's (see :func:`score_film` and
    :mod:`scenedet.inference.gpu`; a precision other than fp32 is recorded in
    ``settings["precision"]``; for ``"auto"``, what its guard checked in
    ``settings["precision_check"]``). ``profile=True`` times the run's stages (restarting the
    process-wide :data:`scenedet.profiling.PROFILE`) and returns them in ``result.profile``.
    """
    from scenedet.engine import run

    found = run(video, [scene], model=model, aggregator=aggregator, min_length=min_length,
                threshold=threshold, label_threshold=label_threshold, device=device,
                batch_size=batch_size, threads=threads, weights=weights, progress=progress,
                strategy=strategy, start=start, end=end, use_audio=use_audio,
                decode_workers=decode_workers, speedup=speedup, precision=precision,
                device_preprocess=device_preprocess, profile=profile)
    result = found[scene]
    return attrs.evolve(result, profile=found.profile) if found.profile is not None else result


@attrs.frozen
class LoadedScene:
    """A scene ready to score films: its spec, checked settings, model file and built model."""

    spec: Any
    settings: dict[str, Any]
    model_path: Path
    model: Any
    device: Any
    provenance: dict[str, Any] | None = None


def load_scene(spec: Any, settings: dict[str, Any], model_path: Path, *, device: str = "cpu",
               threads: int | None = None, weights: Mapping[str, str] | None = None) -> LoadedScene:
    """Build the model of a scene :func:`prepare_run` checked, on ``device``."""
    from scenedet.inference.model import build_scene_model, resolve_device

    from scenedet.inference.modelfile import provenance

    set_threads(threads)
    dev = resolve_device(device)
    model_file = load_model_file(model_path)
    model = build_scene_model(model_file, spec.name, device=dev, weights=weights)
    made = provenance(model_file.meta, model_path)
    if made["test_pattern"]:
        import warnings

        warnings.warn(f"{model_path}: {made['note']}: its {spec.name} scenes mean nothing on "
                      "real films", TestPatternWarning, stacklevel=2)
    return LoadedScene(spec=spec, settings=settings, model_path=model_path, model=model,
                       device=dev, provenance=made)


class TestPatternWarning(UserWarning):
    """A scene's model runs over seeded random backbones: a test pattern, not a detector."""


def scene_result(loaded: LoadedScene, video: str | Path, duration: float, scores: np.ndarray, *,
                 first: int = 0, damage: Damage | None = None, use_audio: bool = True,
                 speedup: str = "none", precision: str = "fp32",
                 precision_check: dict[str, Any] | None = None) -> SceneResult:
    """Cut the scenes from a film's ``scores`` (``scores[0]`` is film second ``first``)."""
    settings = loaded.settings
    found = [attrs.evolve(s, start=s.start + first, end=s.end + first)
             for s in segment(scores, **settings)]
    recorded = recorded_settings(settings, use_audio=use_audio, speedup=speedup,
                                 precision=precision, precision_check=precision_check)
    runtimes = loaded.model.runtimes() if hasattr(loaded.model, "runtimes") else {}
    if runtimes:
        recorded["runtime"] = runtimes  # what ran each backbone: scenedet.runtime
    return SceneResult(video=str(video), scene=loaded.spec.name, duration=duration, scores=scores,
                       segments=found, model=str(loaded.model_path), settings=recorded,
                       start=first, damage=damage if damage else None,
                       provenance=loaded.provenance)


def recorded_settings(settings: Mapping[str, Any], *, use_audio: bool = True,
                      speedup: str = "none", precision: str = "fp32",
                      precision_check: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``"settings"`` a result records: the segmentation settings, and whatever made the
    scores differ from a plain float32 run (no audio, a speed-up, half precision and, for
    ``precision="auto"``, what its guard saw: ``"precision_check"``), and what ran the
    backbones (``"runtime"``, set by :func:`scene_result`). Shared by
    ``scenedet run`` and ``scenedet batch``, so both write the same JSON."""
    recorded = {**settings, "threshold": fraction_text(settings["threshold"])}
    if not use_audio:
        recorded["audio"] = False
    if speedup not in (None, "none"):
        recorded["speedup"] = speedup  # the scores are not float32's exactly
    if precision != "fp32":
        recorded["precision"] = precision
    if precision_check is not None:
        recorded["precision_check"] = dict(precision_check)
    return recorded


def check_range(start: float | None, end: float | None) -> None:
    """Refuse a part of a film that cannot be one, before anything is opened."""
    import math

    for name, value in (("start", start), ("end", end)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise UsageError(f"{name} must be a time >= 0, got {value}")
    if start is not None and end is not None and end <= start:
        raise UsageError(f"end ({end} s) must be after start ({start} s)")


def second_range(info: Any, start: float | None, end: float | None) -> tuple[int, int]:
    """The whole seconds ``[first, stop)`` a part ``[start, end)`` of the film touches.

    Second ``k`` covers ``[k, k + 1)``: a part from 12.5 s to 20 s scores seconds 12 to 19.
    ``end`` past the film is the film's end; ``start`` at or past it is an error.
    """
    import math

    check_range(start, end)
    first = 0 if start is None else math.floor(start)
    stop = info.n_seconds if end is None else min(info.n_seconds, math.ceil(end))
    if first >= info.n_seconds:
        raise UsageError(f"start {start} s is past the last whole second of {info.path} "
                         f"({info.n_seconds} s)")
    if stop <= first:
        raise UsageError(f"no whole second between {start} s and {end} s")
    return first, stop
