"""The Ray executor: the same per-film job on Ray actors, on a local Ray or an existing cluster.

One actor per worker, each building the models once and scoring one film at a time; each actor
asks Ray for ``threads`` CPUs and, on a GPU run, one GPU (so Ray places one actor per GPU).
Outcomes come back to the driver, which alone writes OUTDIR: the resume rules hold on a cluster
whatever happens to its nodes. An actor that dies costs the film it held (recorded as failed)
and is replaced. Ray is optional (``pip install 'scenedet[ray]'``); usage statistics are off
(``RAY_USAGE_STATS_ENABLED=0`` unless set) and the dashboard is not started: nothing leaves the
machine. On a cluster, every node needs scenedet and the scene's plugin installed and the films
at the same paths (shared storage); see docs/scale.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any


from scenedet.batch.jobs import BatchSettings, FilmJob, FilmOutcome, FilmRunner, describe_failure
from scenedet.errors import ScenedetError, UsageError


def import_ray() -> Any:
    """``ray``, imported with usage statistics off; a one-line error when it is not installed."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise UsageError("the Ray executor needs Ray: pip install 'scenedet[ray]'") from None
    return ray


class _FilmActor:
    """A Ray actor around one :class:`FilmRunner`; init errors are kept for :meth:`ready`."""

    def __init__(self, settings: BatchSettings, threads: int) -> None:
        self.error: tuple[bool, str] | None = None
        try:
            self.runner = FilmRunner(settings, threads=threads)
        except Exception as exc:  # noqa: BLE001  (reported by ready(), the driver stops)
            self.error = (isinstance(exc, UsageError), describe_failure(exc))

    def ready(self) -> tuple[bool, str] | None:
        return self.error

    def run(self, job: FilmJob) -> FilmOutcome:
        return self.runner.run(job)


class RayExecutor:
    """Scores films on Ray actors. ``address``: an existing cluster (``"auto"``, ``"ray://..."``,
    ``"HOST:PORT"``); ``None`` starts a local Ray for this batch (``num_cpus`` caps it) and stops
    it after. ``jobs``: actors (default: one per GPU on a GPU run, else CPUs // threads).
    ``gpus_per_actor``: the GPU share each actor asks for on a GPU run; below 1 (0.25) puts
    several actors, so several films' decoding, on one GPU: decoding, not the GPU, is what
    limits a GPU run (docs/scale.md)."""

    def __init__(self, settings: BatchSettings, *, jobs: int | None = None,
                 threads: int | None = None, address: str | None = None,
                 num_cpus: int | None = None, gpus_per_actor: float = 1.0) -> None:
        if not 0 < gpus_per_actor <= 1:  # a worker's models live on one device
            raise UsageError(f"GPUs per worker must be in (0, 1], got {gpus_per_actor}")
        self.settings = settings
        self.jobs = jobs
        self.address = address
        self.num_cpus = num_cpus
        self.gpu = settings.device.strip().lower().startswith("cuda")
        self.gpus_per_actor = gpus_per_actor if self.gpu else 0
        self.threads = threads or (2 if self.gpu else 1)
        if self.gpu:  # Ray hides all but the actor's own GPU: inside it, that one is "cuda"
            self.settings = settings.with_device("cuda")
        self._started = False

    def describe(self) -> str:
        where = self.address or "a local Ray"
        n = self.jobs if self.jobs is not None else "auto"
        gpu = f" + {self.gpus_per_actor:g} GPU" if self.gpu else ""
        return f"{n} Ray actor(s) x {self.threads} CPU(s){gpu} on {where}"

    def _connect(self, ray: Any) -> None:
        if ray.is_initialized():
            return
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "configure_logging": False}
        try:
            if self.address:
                ray.init(address=self.address, **options)
            else:
                ray.init(num_cpus=self.num_cpus, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ScenedetError(f"cannot start or reach Ray ({self.address or 'local'}): "
                                f"{describe_failure(exc)}") from None
        self._started = True

    def _n_actors(self, ray: Any, n_films: int) -> int:
        if self.jobs is not None:
            return max(1, min(self.jobs, n_films))
        resources = ray.cluster_resources()
        if self.gpu:
            n = int(resources.get("GPU", 0) / self.gpus_per_actor)
            if n == 0:
                raise UsageError("a GPU run on Ray, but the cluster has no GPU")
        else:
            n = int(resources.get("CPU", 1)) // self.threads
        return max(1, min(n, n_films))

    def outcomes(self, jobs: Sequence[FilmJob]) -> Iterator[FilmOutcome]:
        """Each job's outcome, in the order they finish. Closing the iterator kills the actors."""
        if not jobs:
            return
        ray = import_ray()
        self._connect(ray)
        actor_cls = ray.remote(_FilmActor).options(num_cpus=self.threads,
                                                   num_gpus=self.gpus_per_actor,
                                                   max_restarts=0)
        actors: list[Any] = []
        todo = list(reversed(jobs))
        pending: dict[Any, tuple[Any, FilmJob]] = {}
        try:
            def start() -> Any:
                actor = actor_cls.remote(self.settings, self.threads)
                actors.append(actor)
                try:
                    error = ray.get(actor.ready.remote())
                except ray.exceptions.RayError as exc:
                    raise ScenedetError(f"a Ray worker could not start: {describe_failure(exc)}") from None
                if error is not None:
                    usage, message = error
                    raise (UsageError if usage else ScenedetError)(message)
                return actor

            for _ in range(self._n_actors(ray, len(jobs))):
                actor = start()
                job = todo.pop()
                pending[actor.run.remote(job)] = (actor, job)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in ready:
                    actor, job = pending.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        outcome = FilmOutcome(name=job.name, path=job.path, film_hash=job.film_hash,
                                              status="failed",
                                              error=f"the Ray worker scoring this film failed: "
                                                    f"{describe_failure(exc)[:200]}")
                        ray.kill(actor, no_restart=True)
                        actor = start() if todo else None
                    yield outcome
                    if actor is not None and todo:
                        job = todo.pop()
                        pending[actor.run.remote(job)] = (actor, job)
        finally:
            for actor in actors:
                try:
                    ray.kill(actor, no_restart=True)
                except Exception:  # noqa: BLE001  (already dead)
                    pass
            if self._started:
                ray.shutdown()
                self._started = False
