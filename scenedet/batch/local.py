"""The local executor: the films of a batch on this machine, in one or ``jobs`` worker processes.

Each worker process builds the models once (:class:`~scenedet.batch.jobs.FilmRunner`) and then
takes film after film from a shared queue, so a slow film never holds the others back. Workers
are started with ``spawn`` (forking a process that already runs torch's thread pools can
deadlock), ignore Ctrl-C (the driver decides: it stops them and exits), and exit by themselves
when the driver dies, even by ``kill -9``, so no orphan keeps a core busy. A worker that dies
(out of memory, a crash in a decoder) costs only the film it was scoring, which is recorded as
failed, and is replaced while films remain.

``jobs=1`` scores in the calling process: no start-up cost, and the same results.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
from collections.abc import Iterator, Sequence

from scenedet.batch.jobs import BatchSettings, FilmJob, FilmOutcome, FilmRunner, describe_failure
from scenedet.errors import ScenedetError


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask, e.g. a container's or taskset's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_per_worker(jobs: int, threads: int | None = None) -> int:
    """Torch threads for each of ``jobs`` workers: ``threads`` if given, else cores // jobs."""
    if threads is not None:
        return threads
    return max(1, available_cores() // max(1, jobs))


class WorkerInitError(ScenedetError):
    """A worker could not build its models (the message is the worker's one-line error)."""


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)  # the driver is gone: nobody would write what we compute

    threading.Thread(target=watch, name="scenedet-parent-watch", daemon=True).start()


def _worker_main(settings: BatchSettings, threads: int, tasks, results, parent: int) -> None:
    """A worker process: build the models, then score jobs until the ``None`` sentinel."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(parent)
    pid = os.getpid()
    try:
        runner = FilmRunner(settings, threads=threads)
    except Exception as exc:  # noqa: BLE001  (reported to the driver, which stops the batch)
        results.put(("init-failed", pid, _portable(exc)))
        return
    results.put(("ready", pid, None))
    while True:
        job = tasks.get()
        if job is None:
            return
        results.put(("start", pid, job))
        results.put(("outcome", pid, runner.run(job)))


def _portable(exc: Exception) -> Exception:
    """The exception itself when it is one of ours (it pickles), else a one-line stand-in."""
    if isinstance(exc, ScenedetError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        return exc
    return WorkerInitError(describe_failure(exc))


def _died(job: FilmJob, code: int | None) -> FilmOutcome:
    if code is None:
        how = "before it reported the film"
    else:
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    return FilmOutcome(name=job.name, path=job.path, film_hash=job.film_hash, status="failed",
                       error=f"the worker scoring this film died ({how})")


class LocalExecutor:
    """Scores films on this machine with ``jobs`` workers of ``threads`` torch threads each."""

    def __init__(self, settings: BatchSettings, *, jobs: int = 1, threads: int | None = None) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.settings = settings
        self.jobs = jobs
        self.threads = threads_per_worker(jobs, threads)

    def describe(self) -> str:
        return (f"{self.jobs} local worker(s) x {self.threads} thread(s)")

    def outcomes(self, jobs: Sequence[FilmJob]) -> Iterator[FilmOutcome]:
        """Each job's outcome, in the order they finish. Closing the iterator stops the workers."""
        if not jobs:
            return
        if self.jobs == 1:
            runner = FilmRunner(self.settings, threads=self.threads)
            for job in jobs:
                yield runner.run(job)
            return
        yield from self._pool(list(jobs))

    def _pool(self, jobs: list[FilmJob]) -> Iterator[FilmOutcome]:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        tasks, results = ctx.Queue(), ctx.Queue()
        tasks.cancel_join_thread()  # never block exit on jobs nobody will take
        n_workers = min(self.jobs, len(jobs))
        for job in jobs:
            tasks.put(job)
        procs: dict[int, object] = {}
        in_flight: dict[int, FilmJob] = {}

        def spawn() -> None:
            tasks.put(None)  # one sentinel per worker ever started
            p = ctx.Process(target=_worker_main, name="scenedet-batch-worker", daemon=True,
                            args=(self.settings, self.threads, tasks, results, os.getpid()))
            p.start()
            procs[p.pid] = p

        left = {job.name for job in jobs}
        self._jobs = jobs
        self._dead: set[int] = set()
        self._ready: set[int] = set()
        try:
            for _ in range(n_workers):
                spawn()
            while left:
                try:
                    kind, pid, payload = results.get(timeout=0.5)
                except queue.Empty:
                    yield from self._reap(procs, in_flight, left, spawn)
                    continue
                if kind == "init-failed":
                    raise payload
                if kind == "ready":
                    self._ready.add(pid)
                elif kind == "start":
                    in_flight[pid] = payload
                elif kind == "outcome":
                    in_flight.pop(pid, None)
                    if payload.name in left:
                        left.discard(payload.name)
                        yield payload
        finally:
            for p in procs.values():
                if p.is_alive():
                    p.terminate()
            for p in procs.values():
                p.join(timeout=5)
                if p.is_alive():
                    p.kill()
                    p.join(timeout=5)
            results.cancel_join_thread()
            tasks.close()
            results.close()

    def _reap(self, procs, in_flight, left, spawn) -> Iterator[FilmOutcome]:
        """Record the film of each dead worker as failed; replace the worker while films remain.

        A worker is handled at the second empty wait after its death: what it sent before
        dying has reached the queue by then, so a film it finished is never counted as lost.
        """
        for pid, p in list(procs.items()):
            if p.is_alive():
                continue
            if pid not in self._dead:
                self._dead.add(pid)
                continue
            del procs[pid]
            if pid not in self._ready:  # a crash while loading the models would recur
                raise WorkerInitError(f"a batch worker died while loading the models "
                                      f"(exit code {p.exitcode})")
            job = in_flight.pop(pid, None)
            if job is not None and job.name in left:
                left.discard(job.name)
                yield _died(job, p.exitcode)
            if left and p.exitcode != 0:
                spawn()
        if left and not procs:  # a worker killed before it could say which film it took
            for job in [j for j in self._jobs if j.name in left]:
                left.discard(job.name)
                yield _died(job, None)
