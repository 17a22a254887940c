"""One film's job: what a worker computes, and what the driver writes from it.

:class:`FilmRunner` holds the loaded models of one worker (process or Ray actor) and scores film
after film with them: the models are built once per worker, not once per film. It never writes
files: it returns a :class:`FilmOutcome` (the result as plain data), and the driver, the one
process that owns OUTDIR, writes it with :func:`write_outputs`. That keeps the resume rules of
:mod:`scenedet.batch.state` true on a cluster, where workers may die at any moment.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs

from scenedet.batch.outputs import BatchOutputs
from scenedet.errors import ScenedetError, UsageError, one_line


@attrs.frozen
class BatchSettings:
    """Everything a worker needs to build its models and score a film (picklable, validated).

    ``segmentation`` holds the resolved settings (:func:`resolve_settings`), ``weights`` backbone
    weight-file overrides. ``key()`` is what a result must have been made with to be skipped.
    ``precision``, ``speedup``, ``device_preprocess`` are ``run_scene``'s, per film
    (``precision`` as resolved for the device: ``"auto"`` on the CPU is ``"fp32"``);
    ``profile``: time each film's stages and send the profile back with its outcome (a worker's
    :data:`scenedet.profiling.PROFILE` is its own process's, so it cannot be read from here).
    """

    scene: str
    model: str
    model_hash: str
    segmentation: dict[str, Any]
    device: str = "cpu"
    batch_size: int = 16
    weights: dict[str, str] = attrs.Factory(dict)
    strategy: str = "auto"
    #: Decode workers per film (:mod:`scenedet.media.parallel`; threads, since batch workers
    #: are daemon processes); None chooses from the cores and the device. Not in ``key()``:
    #: the seconds decoded are the same.
    decode_workers: int | None = None
    #: ``"fp32"``, ``"fp16"`` or ``"auto"`` (CUDA; see :mod:`scenedet.inference.gpu`). In ``key()``.
    precision: str = "fp32"
    #: ``"none"``, ``"int8"`` or ``"compile"`` (:mod:`scenedet.inference.speedups`). In ``key()``.
    speedup: str = "none"
    #: Preprocess the stills on the device. Not in ``key()`` (scores move by float rounding
    #: only, as with another device).
    device_preprocess: bool = False
    #: Time each film's stages (:mod:`scenedet.profiling`). Not in ``key()``.
    profile: bool = False

    def result_settings(self, *, precision: str = "fp32",
                        precision_check: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``"settings"`` a result records, as ``scenedet run`` writes them (``precision``:
        the one a film was scored in; ``precision_check``: what the ``"auto"`` guard did)."""
        from scenedet.inference.pipeline import recorded_settings

        return recorded_settings(self.segmentation, speedup=self.speedup, precision=precision,
                                 precision_check=precision_check)

    def key(self) -> dict[str, Any]:
        """Settings that change a result: a finished film made with others is scored again.

        The precision asked for and the speed-up change the scores, so they count (each only
        when not the default, so results made before they existed stay current); the device,
        batch size, decode workers, device preprocessing and profiling do not, by intent.
        """
        from scenedet.segmentation.segments import fraction_text

        key: dict[str, Any] = {"scene": self.scene, **self.segmentation,
                               "threshold": fraction_text(self.segmentation["threshold"])}
        if self.precision != "fp32":
            key["precision"] = self.precision
        if self.speedup not in (None, "none"):
            key["speedup"] = self.speedup
        key["weights"] = dict(sorted(self.weights.items()))
        return key


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
    #: ``settings.profile``: the film's stages (:meth:`scenedet.profiling.Profile.to_dict`),
    #: measured in the worker that scored it.
    profile: dict[str, Any] | None = None


def describe_failure(exc: BaseException) -> str:
    """One line for a film that failed: our errors as they are, others with their type."""
    if isinstance(exc, ScenedetError):
        return one_line(exc)
    return one_line(f"{type(exc).__name__}: {exc}")


class FilmRunner:
    """The models of one worker, loaded once; :meth:`run` scores one film with them."""

    def __init__(self, settings: BatchSettings, *, threads: int | None = None) -> None:
        from scenedet.inference.gpu import resolve_precision
        from scenedet.inference.model import build_scene_model, resolve_device
        from scenedet.inference.modelfile import load_model_file
        from scenedet.inference.pipeline import set_threads

        set_threads(threads)
        self.settings = settings
        self.device = resolve_device(settings.device)
        # fp16 on a worker without CUDA: refused here, once, not film after film
        self.precision = resolve_precision(settings.precision, self.device)
        self.model = build_scene_model(load_model_file(settings.model), settings.scene,
                                       device=self.device, weights=settings.weights or None)

    def run(self, job: FilmJob) -> FilmOutcome:
        """Score ``job``'s film. A failure is returned as an outcome, never raised (except
        interrupts), so one bad film does not stop the worker."""
        if not self.settings.profile:
            return self._run(job)
        from scenedet import profiling

        was_enabled = profiling.PROFILE.enabled
        profiling.enable()  # restarted per film: this film's stages only
        try:
            outcome = self._run(job)
            return attrs.evolve(outcome, profile=profiling.PROFILE.to_dict())
        finally:
            profiling.PROFILE.enabled = was_enabled

    def _run(self, job: FilmJob) -> FilmOutcome:
        from scenedet import profiling
        from scenedet.inference.pipeline import SceneResult, score_film
        from scenedet.media.damage import Damage
        from scenedet.media.probe import probe
        from scenedet.outputs.document import scenes_of
        from scenedet.segmentation.segments import segment

        from scenedet.batch.state import batch_block

        s = self.settings
        start = time.perf_counter()
        try:
            info = probe(job.path)
            if info.n_seconds == 0:
                raise UsageError(f"{job.path} is shorter than one second ({info.duration:.2f} s): "
                                 f"nothing to score")
            damage = Damage()
            used: dict[str, Any] = {}
            scores = score_film(self.model, job.path, device=self.device,
                                batch_size=s.batch_size, strategy=s.strategy, damage=damage,
                                decode_workers=s.decode_workers, speedup=s.speedup,
                                precision=self.precision,
                                device_preprocess=s.device_preprocess, info=used)
            with profiling.stage("segment"):
                found = segment(scores, **s.segmentation)
            # the JSON `scenedet run -o film.json` writes: frames and timecodes at the film's rate
            result = scenes_of(SceneResult(video=job.path, scene=s.scene, duration=info.duration,
                                           scores=scores, segments=found, model=s.model,
                                           settings=s.result_settings(
                                               precision=used.get("precision", "fp32"),
                                               precision_check=used.get("precision_check")),
                                           damage=damage if damage else None)).to_dict()
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
                  outputs: BatchOutputs | None = None) -> Path:
    """Write a finished film's outputs atomically; returns the result file's path.

    The other outputs (``outputs``: formats, clips, stills, plot, report) are written first, by
    :func:`~scenedet.outputs.produce.produce` as ``scenedet run`` writes them; then the result
    JSON, exactly as ``scenedet run -o NAME.json`` writes it (clips and stills named in its
    scenes), plus its ``"batch"`` block listing those outputs. The JSON is written last, so its
    presence means every output it lists is complete.
    """
    if outcome.result is None:
        raise ValueError(f"{outcome.path} has no result to write (status {outcome.status})")
    return _write_film(outcome.result, outdir, outcome.name, outputs or BatchOutputs(), None)


def complete_outputs(outdir: str | Path, name: str, outputs: BatchOutputs,
                     missing: list[str]) -> dict[str, Any]:
    """Write the ``missing`` outputs of a film whose result is current, from that result (no
    models), then rewrite the result listing them; returns the result as written."""
    import json

    path = result_path(outdir, name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenedetError(f"cannot read {path}: {exc}") from None
    _write_film(data, outdir, name, outputs, missing)
    return data


def _write_film(result: dict[str, Any], outdir: str | Path, name: str, outputs: BatchOutputs,
                only: list[str] | None) -> Path:
    from scenedet import files
    from scenedet.outputs.document import from_dict
    from scenedet.outputs.produce import produce

    path = result_path(outdir, name)
    block = dict(result.get("batch") or {})
    doc = result
    if outputs:
        scenes = from_dict(result, source=str(path))
        try:
            produce(scenes, outputs.plan(outdir, name, only), progress=False)
        except ScenedetError:
            raise
        except Exception as exc:  # noqa: BLE001  (an output failing fails this film only)
            raise ScenedetError(describe_failure(exc)) from exc
        doc = {**scenes.to_dict(), **{k: v for k, v in result.items()
                                      if k not in scenes.to_dict() and k != "batch"}}
        previous = block.get("outputs") if only is not None else None
        block["outputs"] = sorted(set(outputs.names()) | set(previous or ()))
    else:
        block["outputs"] = []
    return files.write_json(path, {**doc, "batch": block})
