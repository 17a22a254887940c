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
from scenedet.batch.state import batch_block
from scenedet.engine.settings import RunSettings
from scenedet.errors import ScenedetError, one_line


@attrs.frozen
class BatchSettings:
    """Everything a worker needs to build its engine and run a film (picklable, validated).

    ``plugins``: the scenes and detectors to run (any mix, as :func:`scenedet.run` takes them);
    ``run``: the engine's :class:`~scenedet.engine.RunSettings` (model files absolute,
    ``precision`` as resolved for the kind of device: ``"auto"`` on the CPU is ``"fp32"``);
    ``segmentation``: each scene's resolved segmentation settings; ``model_hash``: the scenes'
    model files' (empty with detectors only). ``key()`` is what a result must have been made
    with to be skipped. ``run.profile``: each film's stages come back with its outcome (a
    worker's :data:`scenedet.profiling.PROFILE` is its own process's).
    """

    plugins: tuple[str, ...] = attrs.field(converter=tuple)
    run: RunSettings
    model_hash: str = ""
    segmentation: dict[str, dict[str, Any]] = attrs.Factory(dict)

    @property
    def device(self) -> str:
        return self.run.device

    @property
    def precision(self) -> str:
        return self.run.precision

    @property
    def speedup(self) -> str:
        return self.run.speedup

    @property
    def profile(self) -> bool:
        return self.run.profile

    def with_device(self, device: str) -> BatchSettings:
        """The same settings on another device (a Ray actor sees its own GPU as ``cuda``)."""
        return attrs.evolve(self, run=attrs.evolve(self.run, device=device))

    def key(self) -> dict[str, Any]:
        """Settings that change a result: a finished film made with others is run again.

        The plugins, each scene's segmentation, the detectors' options and snapping count; so do
        the precision asked for and the speed-up (each only when not the default, so results
        made before they existed stay current), and the weight files. The device, batch sizes,
        decode workers, device preprocessing and profiling do not, by intent. A batch of one
        scene keeps the key it always had, so its earlier results stay current.
        """
        from scenedet.segmentation.segments import fraction_text

        def scene_key(seg: dict[str, Any]) -> dict[str, Any]:
            return {**seg, "threshold": fraction_text(seg["threshold"])}

        if len(self.plugins) == 1 and self.plugins[0] in self.segmentation:
            key: dict[str, Any] = {"scene": self.plugins[0],
                                   **scene_key(self.segmentation[self.plugins[0]])}
        else:
            key = {"plugins": list(self.plugins),
                   "scenes": {n: scene_key(seg) for n, seg in self.segmentation.items()},
                   "options": self.run.options}
            if self.run.snap_to is not None:
                key["snap_to"] = [self.run.snap_to, self.run.snap_tolerance]
        if self.run.precision != "fp32":
            key["precision"] = self.run.precision
        if self.run.speedup != "none":
            key["speedup"] = self.run.speedup
        key["weights"] = dict(sorted(self.run.weights.items()))
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
    #: Damaged packets skipped in the film (one line, :meth:`scenedet.media.damage.Damage.
    #: summary`), or None: said on the console and kept in the summary line.
    damage: str | None = None


def describe_failure(exc: BaseException) -> str:
    """One line for a film that failed: our errors as they are, others with their type."""
    if isinstance(exc, ScenedetError):
        return one_line(exc)
    return one_line(f"{type(exc).__name__}: {exc}")


class FilmRunner:
    """The engine of one worker, its models loaded once; :meth:`run` runs one film with it."""

    def __init__(self, settings: BatchSettings, *, threads: int | None = None) -> None:
        from scenedet.engine import Engine

        run = settings.run if threads is None else attrs.evolve(settings.run, threads=threads)
        self.settings = settings
        self.engine = Engine(settings.plugins, run)

    def run(self, job: FilmJob) -> FilmOutcome:
        """Run the plugins over ``job``'s film. A failure is returned as an outcome, never
        raised (except interrupts), so one bad film does not stop the worker."""
        start = time.perf_counter()
        try:
            found = self.engine.run(job.path)
            result = film_document(found)
            result["batch"] = batch_block(job.film_hash, self.settings.model_hash,
                                          self.settings.key())
        except Exception as exc:  # noqa: BLE001  (recorded; the batch goes on)
            self._after_failure()
            return FilmOutcome(name=job.name, path=job.path, film_hash=job.film_hash,
                               status="failed", wall=time.perf_counter() - start,
                               error=describe_failure(exc))
        seconds, scenes = result_counts(result)
        return FilmOutcome(name=job.name, path=job.path, film_hash=job.film_hash, status="done",
                           seconds=seconds, scenes=scenes, wall=time.perf_counter() - start,
                           result=result, profile=found.profile,
                           damage=damage_line(result, job.path))

    def _after_failure(self) -> None:
        device = self.engine.device  # a torch.device, or "cpu" for detectors alone on the cpu
        if getattr(device, "type", str(device).split(":")[0]) == "cuda":  # an out-of-memory film must not starve the next
            import torch

            torch.cuda.empty_cache()


def film_document(found: Any) -> dict[str, Any]:
    """What a film's result file holds: the one plugin's document, or the run document of
    several (exactly what ``scenedet run -o NAME.json`` writes)."""
    docs = found.documents()
    if len(docs) == 1:
        return next(iter(docs.values()))
    from scenedet.outputs.several import run_document

    return run_document(found.video, list(docs.values()))


def result_docs(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The plugin documents of a film's result file (one, or those of a run document)."""
    results = data.get("results")
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else [data]


def result_counts(data: dict[str, Any]) -> tuple[int, int]:
    """``(film seconds, segments)`` of a film's result file, for the summary line."""
    docs = result_docs(data)
    seconds = max([int(d.get("duration") or 0) for d in docs] + [0])
    return seconds, sum(len(d.get("segments") or []) for d in docs)


def damage_line(data: dict[str, Any], path: str) -> str | None:
    """One line of the damage the film's results report (the worst of its decodes), or None."""
    from scenedet.media.damage import Damage

    worst = None
    for doc in result_docs(data):
        found = doc.get("damage")
        if isinstance(found, dict):
            damage = Damage.from_dict(found)
            if worst is None or (damage.audio_packets_skipped + damage.video_packets_skipped
                                 > worst.audio_packets_skipped + worst.video_packets_skipped):
                worst = damage
    return worst.summary(path) if worst else None


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
    doc = {k: v for k, v in result.items() if k != "batch"}
    if outputs:
        docs = result_docs(doc)
        plugins = outputs.plugins if len(outputs.plugins) == len(docs) else (None,) * len(docs)
        for plugin, one in zip(plugins, docs):
            scenes = from_dict(one, source=str(path))
            try:
                produce(scenes, outputs.plan(outdir, name, only, plugin=plugin), progress=False)
            except ScenedetError:
                raise
            except Exception as exc:  # noqa: BLE001  (an output failing fails this film only)
                raise ScenedetError(describe_failure(exc)) from exc
            for segment, scene in zip(one["segments"], scenes.scenes):
                segment.update({k: v for k, v in scene.extra.items() if k in ("clip", "stills")})
        previous = block.get("outputs") if only is not None else None
        block["outputs"] = sorted(set(outputs.names()) | set(previous or ()))
    else:
        block["outputs"] = []
    return files.write_json(path, {**doc, "batch": block})
