"""One film's job: what a worker computes, and what the driver writes from it.

:class:`FilmRunner` holds the loaded models of one worker (process or Ray actor) and scores film
after film with them: the models are built once per worker, not once per film. It never writes
files: it returns a :class:`FilmOutcome` (the result as plain data), and the driver, the one
process that owns OUTDIR, writes it with :func:`write_outputs`. That keeps the resume rules of
:mod:`scenedet.batch.state` true on a cluster, where workers may die at any moment.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from scenedet.errors import ScenedetError, UsageError, one_line


@attrs.frozen
class BatchSettings:
    """Everything a worker needs to build its models and score a film (picklable, validated).

    ``segmentation`` holds the resolved settings (:func:`resolve_settings`), ``weights`` backbone
    weight-file overrides. ``key()`` is what a result must have been made with to be skipped.
    """

    scene: str
    model: str
    model_hash: str
    segmentation: dict[str, Any]
    device: str = "cpu"
    batch_size: int = 16
    weights: dict[str, str] = attrs.Factory(dict)
    strategy: str = "auto"

    def result_settings(self) -> dict[str, Any]:
        """The ``"settings"`` a result records, as ``scenedet run`` writes them."""
        from scenedet.segmentation.segments import fraction_text

        return {**self.segmentation, "threshold": fraction_text(self.segmentation["threshold"])}

    def key(self) -> dict[str, Any]:
        """Settings that change a result (the device and batch size do not, by intent)."""
        return {"scene": self.scene, **self.result_settings(),
                "weights": dict(sorted(self.weights.items()))}


@attrs.frozen
class FilmJob:
    """One film to score: its path, output name and content hash (computed by the driver)."""

    path: str
    name: str
    film_hash: str


@attrs.frozen
class FilmOutcome:
    """What a worker sends back. ``result`` is the JSON document (None when the film failed)."""

    name: str
    path: str
    film_hash: str
    status: str  # "done" | "failed"
    seconds: int = 0
    scenes: int = 0
    wall: float = 0.0
    error: str | None = None
    result: dict[str, Any] | None = None


def describe_failure(exc: BaseException) -> str:
    """One line for a film that failed: our errors as they are, others with their type."""
    if isinstance(exc, ScenedetError):
        return one_line(exc)
    return one_line(f"{type(exc).__name__}: {exc}")


class FilmRunner:
    """The models of one worker, loaded once; :meth:`run` scores one film with them."""

    def __init__(self, settings: BatchSettings, *, threads: int | None = None) -> None:
        from scenedet.inference.model import build_scene_model, resolve_device
        from scenedet.inference.modelfile import load_model_file
        from scenedet.inference.pipeline import set_threads

        set_threads(threads)
        self.settings = settings
        self.device = resolve_device(settings.device)
        self.model = build_scene_model(load_model_file(settings.model), settings.scene,
                                       device=self.device, weights=settings.weights or None)

    def run(self, job: FilmJob) -> FilmOutcome:
        """Score ``job``'s film. A failure is returned as an outcome, never raised (except
        interrupts), so one bad film does not stop the worker."""
        from scenedet.inference.pipeline import SceneResult, score_film
        from scenedet.media.probe import probe
        from scenedet.segmentation.segments import segment

        from scenedet.batch.state import batch_block

        s = self.settings
        start = time.perf_counter()
        try:
            info = probe(job.path)
            if info.n_seconds == 0:
                raise UsageError(f"{job.path} is shorter than one second ({info.duration:.2f} s): "
                                 f"nothing to score")
            scores = score_film(self.model, job.path, device=self.device,
                                batch_size=s.batch_size, strategy=s.strategy)
            found = segment(scores, **s.segmentation)
            result = SceneResult(video=job.path, scene=s.scene, duration=info.duration,
                                 scores=scores, segments=found, model=s.model,
                                 settings=s.result_settings()).to_dict()
            result["batch"] = batch_block(job.film_hash, s.model_hash, s.key())
        except Exception as exc:  # noqa: BLE001  (recorded; the batch goes on)
            self._after_failure()
            return FilmOutcome(name=job.name, path=job.path, film_hash=job.film_hash,
                               status="failed", wall=time.perf_counter() - start,
                               error=describe_failure(exc))
        return FilmOutcome(name=job.name, path=job.path, film_hash=job.film_hash, status="done",
                           seconds=len(result["scores"]), scenes=len(result["segments"]),
                           wall=time.perf_counter() - start, result=result)

    def _after_failure(self) -> None:
        if self.device.type == "cuda":  # an out-of-memory film must not starve the next one
            import torch

            torch.cuda.empty_cache()


def result_path(outdir: str | Path, name: str) -> Path:
    """Where a film's result goes: ``OUTDIR/<name>.json``."""
    return Path(outdir) / f"{name}.json"


def write_outputs(outcome: FilmOutcome, outdir: str | Path,
                  extra: Mapping[str, Any] | None = None) -> Path:
    """Write a finished film's outputs atomically; returns the result file's path.

    The result JSON is written exactly as ``scenedet run -o`` writes it (``files.write_json``),
    plus its ``"batch"`` block. It is written last among a film's outputs, so its presence
    means every output of that film is complete. ``extra`` is reserved for the output options
    ``scenedet run`` may grow (exports, plots, clips); none exist yet.
    """
    from scenedet import files

    if outcome.result is None:
        raise ValueError(f"{outcome.path} has no result to write (status {outcome.status})")
    if extra:
        raise UsageError(f"unsupported batch outputs: {', '.join(sorted(extra))}")
    return files.write_json(result_path(outdir, outcome.name), outcome.result)
