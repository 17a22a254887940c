"""Decode one film in keyframe-aligned chunks on N workers: the keyframes, the pool, stopping.

What the two parallel decoders share: :mod:`scenedet.media.parallel.seconds` (whole seconds,
``--decode-workers``) and :mod:`scenedet.media.parallel.frames` (every frame, small, for
frame-level detectors). Each describes its work as a picklable *job* with a
``decode_chunks(chunks, put)`` method; :class:`Pool` runs it on N threads or processes, worker
``w`` taking chunks ``w, w + N, w + 2N, ...`` into a bounded queue of its own, and the caller
reads chunk ``i`` from queue ``i % N``, so the output comes back in order and memory is bounded
by N queues whatever the film's length.

``put(item)`` returns False once the pool is told to stop (the caller closed its iterator, or
:func:`stop_workers`, which ``scenedet.inference.stream.stop_all`` calls on Ctrl-C): a worker
ends at its next item. A worker that dies is a :class:`MediaError` for the caller, never a hang;
worker processes (forkserver or spawn, never fork) ignore SIGINT, stop when the parent dies and
are terminated when they do not stop in time.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import queue
import signal
import threading
import time
import weakref
from typing import Any, Literal, Protocol

from scenedet.errors import MediaError
from scenedet.media.probe import FilmInfo, film_video_stream, open_input

Kind = Literal["thread", "process"]

#: How often a blocked worker or the caller looks at the stop flag (seconds).
POLL = 0.1

_ACTIVE: weakref.WeakSet[Pool] = weakref.WeakSet()
_ACTIVE_LOCK = threading.Lock()


class Job(Protocol):
    """A worker's work: decode ``chunks`` in order, handing each item to ``put``."""

    path: str

    def decode_chunks(self, chunks: list[Any], put: Any) -> None: ...


def stop_workers() -> None:
    """Ask every running pool to stop (its workers end at their next item)."""
    with _ACTIVE_LOCK:
        pools = list(_ACTIVE)
    for pool in pools:
        pool.stop.set()


def check_kind(kind: str) -> None:
    if kind not in ("thread", "process"):
        raise ValueError(f"unknown decode worker kind {kind!r}: thread or process")


def keyframe_times(info: FilmInfo) -> list[float]:
    """Film times (s) of the video keyframes, as the container seeks by (MP4: decode times).

    From the container's index when it lists keyframes, else from a demux-only pass.
    """
    container = open_input(info.path)
    try:
        video = film_video_stream(container)
        assert video is not None  # probe checked
        tb, start = video.time_base, info.start_pts  # film time 0: the first frame
        try:
            entries = video.index_entries  # type: ignore[attr-defined]
            keys = [e.timestamp for e in entries if e.is_keyframe] if len(entries) > 2 else []
        except (AttributeError, TypeError):  # older PyAV
            keys = []
        if len(keys) < 2:
            keys = [p.dts if p.dts is not None else p.pts for p in container.demux(video)
                    if p.is_keyframe and (p.dts is not None or p.pts is not None)]
        return sorted({float((k - start) * tb) for k in keys})
    finally:
        container.close()


class Pool:
    """N workers (threads or processes), each with its own queue of at most ``maxsize`` items."""

    def __init__(self, job: Job, chunks: list[Any], workers: int, kind: Kind,
                 maxsize: int) -> None:
        self.job, self.chunks, self.kind = job, chunks, kind
        self.n = min(workers, len(chunks))
        self.maxsize = maxsize
        self.ctx: Any = None
        if kind == "process":
            method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
            self.ctx = mp.get_context(method)
            if method == "forkserver":  # workers fork with PyAV and numpy already imported
                self.ctx.set_forkserver_preload([__name__, type(job).__module__])
        self.stop: Any = self.ctx.Event() if self.ctx else threading.Event()
        self.queues: list[Any] = []
        self.workers: list[Any] = []

    def start(self) -> None:
        with _ACTIVE_LOCK:
            _ACTIVE.add(self)
        for w in range(self.n):
            mine = self.chunks[w::self.n]
            if self.ctx is None:
                q: Any = queue.Queue(maxsize=self.maxsize)
                worker: Any = threading.Thread(target=_thread_main, daemon=True,
                                               args=(self.job, mine, q, self.stop),
                                               name=f"scenedet-decode-{w}")
            else:
                q = self.ctx.Queue(maxsize=self.maxsize)
                worker = self.ctx.Process(target=_process_main, daemon=True,
                                          args=(self.job, mine, q, self.stop),
                                          name=f"scenedet-decode-{w}")
            self.queues.append(q)
            worker.start()
            self.workers.append(worker)  # started: close() joins it

    def get(self, chunk: int) -> tuple[Any, ...]:
        """The next item of ``chunk``'s worker; a worker that died is an error, not a hang."""
        w = chunk % self.n
        while True:
            try:
                return self.queues[w].get(timeout=POLL)
            except queue.Empty:
                if self.stop.is_set():
                    raise MediaError(f"cannot decode {self.job.path}: decoding was stopped")
                if not self.workers[w].is_alive():
                    try:
                        return self.queues[w].get(timeout=POLL)
                    except queue.Empty:
                        code = getattr(self.workers[w], "exitcode", None)
                        raise MediaError(f"cannot decode {self.job.path}: decode worker {w} "
                                         f"ended unexpectedly (exit code {code})") from None

    def close(self) -> None:
        self.stop.set()
        deadline = time.monotonic() + 5  # all workers together, not 5 s each
        for worker in self.workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        for worker in self.workers:
            if self.ctx is not None and worker.is_alive():
                worker.terminate()
                worker.join(timeout=2)
                if worker.is_alive():
                    worker.kill()
                    worker.join(timeout=2)
        for q in self.queues:
            if self.ctx is not None:
                q.cancel_join_thread()
                q.close()
        with _ACTIVE_LOCK:
            _ACTIVE.discard(self)


def _putter(q: Any, stop: Any, alive: Any = lambda: True) -> Any:
    def put(item: Any) -> bool:
        while not stop.is_set() and alive():
            try:
                q.put(item, timeout=POLL)
                return True
            except queue.Full:
                continue
        return False
    return put


def _thread_main(job: Job, chunks: list[Any], q: Any, stop: Any) -> None:
    job.decode_chunks(chunks, _putter(q, stop))


def _process_main(job: Job, chunks: list[Any], q: Any, stop: Any) -> None:
    """A worker process: Ctrl-C is the parent's to handle; it stops if the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = mp.parent_process()
    alive = parent.is_alive if parent is not None else (lambda: True)
    put = _putter(q, stop, alive)

    def send(item: tuple[Any, ...]) -> bool:
        if put(_picklable(item)):
            return True
        q.cancel_join_thread()  # stopped: never block exit flushing a queue nobody reads
        return False

    try:
        job.decode_chunks(chunks, send)
    finally:
        if stop.is_set() or not alive():
            # stopped between two puts: what it queued will never be read, so do not wait at
            # exit for the queue's feeder to flush it into a pipe nobody empties
            q.cancel_join_thread()


def _picklable(item: tuple[Any, ...]) -> tuple[Any, ...]:
    """An ``("x", ..., exception)`` item whose exception would not pickle, as a MediaError."""
    if item[0] != "x":
        return item
    try:
        pickle.dumps(item[-1])
        return item
    except Exception:  # noqa: BLE001
        return (*item[:-1], MediaError(f"{type(item[-1]).__name__}: {item[-1]}"))
