"""Plan a library (what is done, what is left) and run it: what ``scenedet batch`` calls.

:func:`prepare_settings` validates the scene, model and settings once, before any worker starts;
:func:`plan_batch` finds the films and decides each one's fate by the rule of
:mod:`scenedet.batch.state`; :func:`run_batch` feeds the films left to an executor
(:class:`~scenedet.batch.local.LocalExecutor` or :class:`~scenedet.batch.ray_executor.RayExecutor`)
and, as each film finishes, writes its result atomically, then appends its summary line. The
driver is the only writer of OUTDIR, so a kill at any moment loses at most the films in flight.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import attrs

from scenedet.batch.discovery import LibraryFilm, discover
from scenedet.batch.jobs import (BatchSettings, FilmJob, FilmOutcome, complete_outputs, result_counts,
                                 result_path, write_outputs)
from scenedet.batch.outputs import BatchOutputs
from scenedet.batch.progress import BatchProgress
from scenedet.batch.profiles import sum_profiles
from scenedet.batch.state import (SUMMARY_NAME, OutdirLock, SummaryLog, batch_block, content_hash,
                                  OUTPUTS_MISSING, changed_settings, file_hash, read_summary,
                                  result_status)
from scenedet.engine.settings import RunSettings
from scenedet.errors import ScenedetError, UsageError


class BatchInterrupted(ScenedetError):
    """The batch was stopped by a signal; ``exit_code`` is 128 + its number (130 Ctrl-C, 143 TERM)."""

    def __init__(self, signum: int, done: int = 0, left: int = 0) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        self.done = done
        self.left = left
        super().__init__(f"interrupted ({signal.Signals(signum).name}) with {left} film(s) left")


def prepare_settings(plugins: Sequence[str] | str, *, model: str | Path | None = None,
                     aggregator: str | None = None, min_length: int | None = None,
                     threshold: float | str | None = None, label_threshold: float | None = None,
                     device: str = "cpu", batch_size: int | None = None,
                     weights: Mapping[str, str] | None = None,
                     strategy: str = "auto", decode_workers: int | None = None,
                     precision: str = "fp32", speedup: str = "none",
                     device_preprocess: bool = False, profile: bool = False,
                     options: Mapping[str, Mapping[str, Any]] | None = None,
                     snap_to: str | None = None, snap_tolerance: float = 2.0,
                     settings: RunSettings | None = None) -> BatchSettings:
    """Validate everything a batch needs before a film is touched (one-line errors).

    ``plugins``: scenes and detectors, any mix, as :func:`scenedet.run` takes them; the other
    arguments are its settings (or give ``settings`` whole). Same defaults: each scene's
    installed model and its recipe's segmentation settings. ``precision`` and ``speedup`` are
    checked against the *kind* of ``device`` only (fp16 needs CUDA, int8 the CPU; ``"auto"`` on
    the CPU is fp32): a Ray driver may have no GPU while its actors do. ``profile``: each film's
    stage times come back in its outcome and summary line, and :attr:`BatchReport.profile`
    sums them.
    """
    from scenedet.engine import make_settings
    from scenedet.engine.plan import plan_run
    from scenedet.errors import ModelFileError
    from scenedet.inference.modelfile import load_model_file

    names = [plugins] if isinstance(plugins, str) else list(plugins)
    run = make_settings(settings, **({} if settings is not None else dict(
        model=model, aggregator=aggregator, min_length=min_length, threshold=threshold,
        label_threshold=label_threshold, device=device, batch_size=batch_size,
        weights=weights, strategy=strategy, decode_workers=decode_workers, precision=precision,
        speedup=speedup, device_preprocess=device_preprocess, profile=profile,
        options=options, snap_to=snap_to, snap_tolerance=snap_tolerance)))
    plan = plan_run(names, run)
    hashes = []
    for scene in plan.scenes:
        meta = load_model_file(scene.model_path).meta
        if meta.scene != scene.spec.name:
            raise ModelFileError(f"{scene.model_path} was trained for scene {meta.scene!r}, "
                                 f"not {scene.spec.name!r}")
        hashes.append(file_hash(scene.model_path))
    resolved, speed = _check_speed_settings(run.device, run.precision, run.speedup)
    model_path = plan.scenes[0].model_path.absolute() if len(plan.scenes) == 1 else None
    if run.precision == "auto":  # on a cpu with native bf16 too: bf16 guarded (make_runner)
        from scenedet.runtime.backends import native_bf16

        resolved = "auto" if resolved == "auto" or native_bf16() else resolved
    run = attrs.evolve(run, precision=resolved,
                       speedup=speed, progress=False,
                       model=model_path if model_path is not None else run.model)
    return BatchSettings(plugins=tuple(names), run=run, model_hash="+".join(hashes),
                         segmentation={s.name: s.segmentation for s in plan.scenes})


def _check_speed_settings(device: str, precision: str, speedup: str) -> tuple[str, str]:
    """``(precision, speedup)`` checked against the kind of ``device``, as ``run_scene`` checks
    them. Only the kind: a Ray driver may have no GPU while its actors do."""
    import torch

    from scenedet.inference.gpu import resolve_precision
    from scenedet.inference.model import resolve_device
    from scenedet.inference.speedups import check_speedup, check_with_precision

    name = (device or "cpu").strip().lower()
    try:
        kind = resolve_device(name).type if name == "auto" else torch.device(name).type
    except RuntimeError:
        raise UsageError(f"unknown device {device!r}: use cpu, cuda, cuda:N or auto") from None
    precision = resolve_precision(precision, kind)
    speedup = check_speedup(speedup, kind)
    check_with_precision(speedup, precision)
    return precision, speedup


@attrs.frozen
class PlannedFilm:
    """A film and its fate: ``status`` is ``"done"`` (skipped) or why it must be (re)done."""

    film: LibraryFilm
    film_hash: str | None
    status: str
    error: str | None = None  # the film cannot even be read (it is recorded as failed)
    #: ``status == "settings changed"``: the names of the settings that differ
    changed: tuple[str, ...] = ()

    @property
    def todo(self) -> bool:
        return self.status != "done"

    @property
    def missing(self) -> list[str] | None:
        """The outputs to complete, when the result is current but lacks them (no scoring)."""
        if not self.status.startswith(OUTPUTS_MISSING + ": "):
            return None
        return self.status[len(OUTPUTS_MISSING) + 2:].split(", ")


@attrs.frozen
class BatchPlan:
    outdir: Path
    settings: BatchSettings
    films: list[PlannedFilm]
    outputs: BatchOutputs = attrs.Factory(BatchOutputs)

    @property
    def todo(self) -> list[PlannedFilm]:
        return [f for f in self.films if f.todo]

    @property
    def done(self) -> list[PlannedFilm]:
        return [f for f in self.films if not f.todo]

    @property
    def summary_path(self) -> Path:
        return self.outdir / SUMMARY_NAME

    def settings_note(self) -> str | None:
        """One line when finished films will be scored again because the settings changed
        (naming the settings), else ``None``."""
        changed = [f for f in self.films if f.status == "settings changed"]
        if not changed:
            return None
        names = sorted({name for f in changed for name in f.changed})
        which = f" ({', '.join(names)})" if names else ""
        return (f"{len(changed)} finished film(s) were scored with other settings{which}: "
                f"they will be scored again")


def plan_batch(library: Sequence[str], outdir: str | Path, settings: BatchSettings, *,
               stdin: IO[str] | None = None, outputs: BatchOutputs | None = None) -> BatchPlan:
    """Find the films of ``library`` and decide, for each, whether its result is current.

    Reads each film's content fingerprint (:func:`~scenedet.batch.state.content_hash`) and
    existing result; writes nothing. ``outputs``: what to write per film besides the result
    (:class:`~scenedet.batch.outputs.BatchOutputs`, checked here: an unknown suffix is a
    :class:`UsageError` before any film is read).
    """
    outputs = attrs.evolve(outputs or BatchOutputs(), plugins=settings.plugins)
    outputs.check()
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"output folder {outdir} is a file")
    films = discover(library, stdin=stdin)
    if not films:
        raise UsageError(f"no films found in {' '.join(map(str, library))} "
                         f"(folders are searched for video suffixes such as .mp4, .mkv)")
    last = read_summary(outdir / SUMMARY_NAME)
    key = settings.key()
    planned = []
    for film in films:
        try:
            digest = content_hash(film.path)
        except OSError as exc:
            planned.append(PlannedFilm(film, None, "unreadable film",
                                       error=f"cannot read {film.path}: {exc.strerror or exc}"))
            continue
        status = result_status(result_path(outdir, film.name),
                               batch_block(digest, settings.model_hash, key),
                               outputs.paths(outdir, film.name))
        changed: tuple[str, ...] = ()
        if status == "settings changed":
            changed = tuple(changed_settings(result_path(outdir, film.name), key))
        record = last.get(str(film.path))
        if (status == "new" and record is not None and record.get("status") == "failed"
                and record.get("hash") == digest):
            status = f"failed before: {record.get('error')}"
        planned.append(PlannedFilm(film, digest, status, changed=changed))
    return BatchPlan(outdir=outdir, settings=settings, films=planned, outputs=outputs)


@attrs.frozen
class BatchReport:
    """What a run did. ``failed`` holds the outcomes of the films that failed; ``profile``
    (``settings.profile``) the films' profiles summed (:func:`~scenedet.batch.profiles.sum_profiles`),
    each film's own being in its ``summary.jsonl`` line."""

    done: int
    skipped: int
    failed: list[FilmOutcome]
    film_seconds: int
    wall: float
    summary: Path
    profile: dict[str, Any] | None = None
    #: The films done whose decode skipped damaged packets (each outcome's ``damage`` line).
    damaged: list[FilmOutcome] = attrs.Factory(list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _record(outcome: FilmOutcome, output: str | None) -> dict[str, Any]:
    record = {"path": outcome.path, "name": outcome.name, "hash": outcome.film_hash,
              "status": outcome.status, "seconds": outcome.seconds, "scenes": outcome.scenes,
              "wall": None if outcome.wall is None else round(outcome.wall, 3),
              "error": outcome.error, "output": output,
              "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if outcome.profile is not None:
        record["profile"] = outcome.profile
    if outcome.damage is not None:
        record["damage"] = outcome.damage
    return record


def _recover_lines(plan: BatchPlan, log: SummaryLog) -> None:
    """A film done whose summary line a kill took (result written, line not) gets its line."""
    last = read_summary(plan.summary_path)
    for item in plan.done:
        record = last.get(str(item.film.path))
        if record is not None and record.get("status") == "done" and record.get("hash") == item.film_hash:
            continue
        import json

        path = result_path(plan.outdir, item.film.name)
        data = json.loads(path.read_text(encoding="utf-8"))
        outcome = FilmOutcome(name=item.film.name, path=str(item.film.path),
                              film_hash=item.film_hash or "", status="done",
                              seconds=result_counts(data)[0], scenes=result_counts(data)[1],
                              wall=None)  # type: ignore[arg-type]
        log.append(_record(outcome, path.name))


def _complete(plan: BatchPlan, item: PlannedFilm) -> FilmOutcome:
    """Write the outputs ``item`` lacks from its current result (no models)."""
    start = time.perf_counter()
    base = dict(name=item.film.name, path=str(item.film.path), film_hash=item.film_hash or "")
    try:
        data = complete_outputs(plan.outdir, item.film.name, plan.outputs, item.missing or [])
    except ScenedetError as exc:
        from scenedet.batch.jobs import describe_failure

        return FilmOutcome(**base, status="failed", wall=time.perf_counter() - start,
                           error=describe_failure(exc))
    seconds, scenes = result_counts(data)
    return FilmOutcome(**base, status="done", seconds=seconds, scenes=scenes,
                       wall=time.perf_counter() - start)


def _record_done_once(log: SummaryLog, last: Mapping[str, Mapping[str, Any]],
                      outcome: FilmOutcome) -> None:
    """A completed film keeps one "done" line: one is appended only if its last line is not."""
    record = last.get(outcome.path)
    if record is None or record.get("status") != "done" or record.get("hash") != outcome.film_hash:
        log.append(_record(outcome, result_path(".", outcome.name).name))


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM raises :class:`BatchInterrupted` (as Ctrl-C raises KeyboardInterrupt), so the
    executor's clean-up runs: workers stopped, nothing half-written."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        raise BatchInterrupted(signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_batch(plan: BatchPlan, executor: Any, *, progress: str = "off") -> BatchReport:
    """Score the films ``plan`` has left with ``executor`` and record each as it finishes.

    Each film's outputs (``plan.outputs``) are written here, by the driver, the result JSON
    last. A film whose result is current but lacks an output asked for is completed from its
    result, without scoring it again.

    A film that fails is recorded (summary line with its error) and the others go on. Raises
    :class:`BatchInterrupted` on Ctrl-C or SIGTERM, after stopping the workers: what finished
    is kept, and rerunning the same batch resumes. ``progress``: a mode of
    :class:`~scenedet.batch.progress.BatchProgress`.
    """
    start = time.perf_counter()
    todo = plan.todo
    failed: list[FilmOutcome] = []
    done = 0
    finished = 0  # jobs with an outcome
    film_seconds = 0
    profiles: list[dict[str, Any]] = []
    damaged: list[FilmOutcome] = []
    with OutdirLock(plan.outdir), SummaryLog(plan.summary_path) as log:
        _recover_lines(plan, log)
        last_records = read_summary(plan.summary_path)
        jobs = []
        for item in todo:
            if item.missing is not None:
                outcome = _complete(plan, item)
                if outcome.status == "done":
                    done += 1
                    _record_done_once(log, last_records, outcome)
                else:
                    log.append(_record(outcome, None))
                    failed.append(outcome)
            elif item.error is not None:
                outcome = FilmOutcome(name=item.film.name, path=str(item.film.path),
                                      film_hash="", status="failed", error=item.error)
                log.append(_record(outcome, None))
                failed.append(outcome)
            else:
                jobs.append(FilmJob(path=str(item.film.path), name=item.film.name,
                                    film_hash=item.film_hash or ""))
        bar = BatchProgress(len(jobs), skipped=len(plan.done), mode=progress)
        try:
            with _signals_raise(), contextlib.closing(executor.outcomes(jobs)) as outcomes:
                for outcome in outcomes:
                    output = None
                    if outcome.status == "done":
                        try:
                            output = write_outputs(outcome, plan.outdir, plan.outputs).name
                        except ScenedetError as exc:  # e.g. disk full: the film counts as failed
                            outcome = attrs.evolve(outcome, status="failed", error=str(exc),
                                                   result=None)
                    log.append(_record(outcome, output))
                    if outcome.profile is not None:
                        profiles.append(outcome.profile)
                    bar.update(outcome)
                    finished += 1
                    if outcome.status == "done":
                        done += 1
                        film_seconds += outcome.seconds
                        if outcome.damage:
                            damaged.append(outcome)
                    else:
                        failed.append(outcome)
        except KeyboardInterrupt:
            raise BatchInterrupted(signal.SIGINT, done, len(jobs) - finished) from None
        except BatchInterrupted as exc:
            raise BatchInterrupted(exc.signum, done, len(jobs) - finished) from None
        finally:
            bar.close()
    return BatchReport(done=done, skipped=len(plan.done), failed=failed,
                       film_seconds=film_seconds, wall=time.perf_counter() - start,
                       summary=plan.summary_path, profile=sum_profiles(profiles),
                       damaged=damaged)
