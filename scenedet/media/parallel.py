"""Decode one film with several workers: keyframe-aligned chunks of seconds, reassembled in order.

:func:`iter_seconds_parallel` yields exactly what :func:`scenedet.media.decode.iter_seconds`
yields (the same stills and audio, tested with ``np.array_equal``), decoding the video with
``workers`` workers. The film's seconds are cut into chunks; each chunk is decoded by one worker
with ``iter_seconds(start_second=a, stop_second=b)`` (video only) and the seconds are handed out
in order. A chunk starts at a second whose seek (``iter_seconds`` seeks to ``a`` minus the clip's
pre-roll, see ``decode._preroll_time``) lands on a keyframe just before it, so a chunk decodes at
most about a second of film twice. Keyframe times come from the container's index (MP4), else a
demux-only pass over the video packets (no decoding).

Audio is decoded once, sequentially, by an audio-only ``iter_seconds`` on the caller's thread:
its samples are byte-identical to the one-pass decode whatever the chunking.

Worker ``w`` decodes chunks ``w, w + N, w + 2N, ...`` into a queue of its own holding at most
``chunk_seconds`` seconds, so memory is bounded by ``N * chunk_seconds`` decoded seconds and flat
with the film's length. An error in a chunk (a truncated file) reaches the caller at the same
second and with the same message as the sequential decode; damaged packets skipped in a chunk
are counted into the caller's :class:`~scenedet.media.damage.Damage` (the same packet decoded by
two chunks counts once). Closing the iterator early (or :func:`stop_workers`, which
``scenedet.inference.stream.stop_all`` calls on Ctrl-C) stops every worker at its next second;
worker processes that do not stop in time are terminated.

Workers are threads (``kind="thread"``: FFmpeg decodes and converts with the GIL released) or
processes (``kind="process"``, started with forkserver or spawn, never fork). Which wins, and
when more than one worker helps at all, is measured in ``benchmarks/parallel_decode.py`` and
docs/performance.md ("Parallel decoding"); :func:`choose_workers` is the default it led to.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import pickle
import queue
import signal
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from scenedet.errors import MediaError
from scenedet.media.damage import Damage
from scenedet.media.decode import StrategyArg, _preroll_time, iter_seconds, resolve_strategy
from scenedet.media.probe import FilmInfo, film_video_stream, open_input, probe
from scenedet.media.types import MediaRequest, Second

Kind = Literal["thread", "process"]

#: Decoded frames all workers may hold ahead of the caller (bytes): sets the chunk length.
MEMORY_BUDGET = 512 * 1024 * 1024
#: Chunk length bounds (seconds): short chunks waste the pre-roll, long ones memory.
MIN_CHUNK_SECONDS, MAX_CHUNK_SECONDS = 10, 30
#: How often a blocked worker or the caller looks at the stop flag (seconds).
_POLL = 0.1

_ACTIVE: weakref.WeakSet[_Pool] = weakref.WeakSet()
_ACTIVE_LOCK = threading.Lock()


def stop_workers() -> None:
    """Ask every running pool to stop (its workers end at their next second)."""
    with _ACTIVE_LOCK:
        pools = list(_ACTIVE)
    for pool in pools:
        pool.stop.set()


def choose_workers(device: Any = "cpu", cores: int | None = None) -> int:
    """The default number of decode workers: 1 on the CPU (the models need the cores), on an
    accelerator all cores but two (one feeds the device, one reassembles and decodes audio)."""
    cores = cores or os.cpu_count() or 1
    kind = getattr(device, "type", str(device).split(":")[0])
    if kind == "cpu":
        return 1
    return max(1, min(16, cores - 2))


def chunk_seconds_for(info: FilmInfo, request: MediaRequest, workers: int) -> int:
    """Chunk length keeping ``workers`` chunks of decoded frames within :data:`MEMORY_BUDGET`."""
    per_second = max(1, info.width * info.height * 3 * max(1, request.frames))
    fit = MEMORY_BUDGET // (per_second * max(1, workers))
    return int(min(MAX_CHUNK_SECONDS, max(MIN_CHUNK_SECONDS, fit)))


def keyframe_times(info: FilmInfo) -> list[float]:
    """Film times (s) of the video keyframes, as the container seeks by (MP4: decode times).

    From the container's index when it lists keyframes, else from a demux-only pass.
    """
    container = open_input(info.path)
    try:
        video = film_video_stream(container)
        assert video is not None  # probe checked
        tb, start = video.time_base, video.start_time or 0
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


def plan_chunks(info: FilmInfo, request: MediaRequest, keyframes: list[float], start: int,
                stop: int, chunk_seconds: int) -> list[tuple[int, int]]:
    """``[(a, b), ...]`` covering ``start .. stop - 1``, each at least ``chunk_seconds`` long
    (but the last), each ``a > start`` placed where its seek lands just after a keyframe."""
    starts = [start]
    for t in keyframes:
        a = max(1, math.ceil(t))
        while _preroll_time(a, request, info) < t - 1e-9:
            a += 1
        if a - starts[-1] >= chunk_seconds and a < stop:
            starts.append(a)
    if len(starts) == 1 and stop - start > 2 * chunk_seconds and len(keyframes) < 2:
        starts = list(range(start, stop, chunk_seconds))  # no index at all: plain cuts
    return list(zip(starts, [*starts[1:], stop]))


def iter_seconds_parallel(path: str | Path, request: MediaRequest, *, workers: int,
                          kind: Kind = "thread", chunk_seconds: int | None = None,
                          strategy: StrategyArg = "auto", start_second: int = 0,
                          stop_second: int | None = None, skip_loop_filter: bool = False,
                          damage: Damage | None = None, use_audio: bool = True
                          ) -> Iterator[Second]:
    """:func:`~scenedet.media.decode.iter_seconds`, its video decoded by ``workers`` workers.

    Same arguments and result; ``workers <= 1`` (or no video requested) is ``iter_seconds``
    itself. Bad input raises :class:`MediaError` now, as ``iter_seconds`` does.
    """
    if kind not in ("thread", "process"):
        raise ValueError(f"unknown decode worker kind {kind!r}: thread or process")
    if chunk_seconds is not None and chunk_seconds < 1:
        raise ValueError(f"chunk_seconds must be at least 1, got {chunk_seconds}")
    common = dict(strategy=strategy, start_second=start_second, stop_second=stop_second,
                  skip_loop_filter=skip_loop_filter, damage=damage, use_audio=use_audio)
    if workers <= 1 or request.frames <= 0:
        return iter_seconds(path, request, **common)  # type: ignore[arg-type]
    if start_second < 0:
        raise ValueError(f"start_second must be >= 0, got {start_second}")
    info = probe(path)
    stop = info.n_seconds if stop_second is None else max(0, min(stop_second, info.n_seconds))
    video_request = MediaRequest(frames=request.frames, audio=False)
    size = chunk_seconds or chunk_seconds_for(info, request, workers)
    chunks = plan_chunks(info, video_request, keyframe_times(info) if stop > start_second else [],
                         start_second, stop, size)
    if len(chunks) <= 1:
        return iter_seconds(path, request, **common)  # type: ignore[arg-type]
    report = damage is None
    damage = Damage() if damage is None else damage
    sounds = None
    if request.audio:  # probes and warns (no audio track) now, like iter_seconds
        sounds = iter_seconds(path, MediaRequest(frames=0, audio=True), strategy=strategy,
                              start_second=start_second, stop_second=stop, damage=damage,
                              use_audio=use_audio)
    job = _Job(str(info.path), video_request, resolve_strategy(strategy, info, video_request),
               skip_loop_filter)
    return _reassemble(_Pool(job, chunks, workers, kind, size), sounds, damage, report, info)


def _reassemble(pool: _Pool, sounds: Iterator[Second] | None, damage: Damage, report: bool,
                info: FilmInfo) -> Iterator[Second]:
    try:
        pool.start()
        for i, _ in enumerate(pool.chunks):
            while True:
                item = pool.get(i)
                if item[0] == "s":
                    audio = next(sounds).audio if sounds is not None else None
                    yield Second(index=item[1], frames=item[2], audio=audio)
                    continue
                for record in item[1]:
                    damage.skipped(*record)
                if item[0] == "x":
                    raise item[2]
                break
    finally:
        pool.close()
        if sounds is not None:
            sounds.close()  # type: ignore[attr-defined]
        if report:
            damage.warn(info.path, stacklevel=1)


class _Recorder(Damage):
    """A chunk's damage, kept as calls to replay into the caller's :class:`Damage`."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, float | None, int | None]] = []

    def skipped(self, kind: str, time: float | None, key: int | None = None) -> None:
        self.records.append((kind, time, key))
        super().skipped(kind, time, key)


class _Job:
    def __init__(self, path: str, request: MediaRequest, strategy: str, skip_loop_filter: bool):
        self.path, self.request, self.strategy = path, request, strategy
        self.skip_loop_filter = skip_loop_filter


def _decode_chunks(job: _Job, chunks: list[tuple[int, int]], put: Any) -> None:
    """A worker's life: decode its chunks in order; ``put`` returns False when told to stop.

    Each chunk ends with ``("e", damage records)`` or ``("x", damage records, exception)``.
    """
    for a, b in chunks:
        recorder = _Recorder()
        try:
            seconds = iter_seconds(job.path, job.request, strategy=job.strategy,  # type: ignore[arg-type]
                                   start_second=a, stop_second=b, damage=recorder,
                                   skip_loop_filter=job.skip_loop_filter, use_audio=False)
            try:
                for second in seconds:
                    if not put(("s", second.index, second.frames)):
                        return
            finally:
                seconds.close()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - handed to the caller, in order
            put(("x", recorder.records, exc))
            return
        if not put(("e", recorder.records)):
            return


class _Pool:
    """N workers (threads or processes), each with its own bounded queue of seconds."""

    def __init__(self, job: _Job, chunks: list[tuple[int, int]], workers: int, kind: Kind,
                 size: int) -> None:
        self.job, self.chunks, self.kind = job, chunks, kind
        self.n = min(workers, len(chunks))
        self.maxsize = size + 2
        self.ctx: Any = None
        if kind == "process":
            method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
            self.ctx = mp.get_context(method)
            if method == "forkserver":  # workers fork with PyAV and numpy already imported
                self.ctx.set_forkserver_preload([__name__])
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
                return self.queues[w].get(timeout=_POLL)
            except queue.Empty:
                if self.stop.is_set():
                    raise MediaError(f"cannot decode {self.job.path}: decoding was stopped")
                if not self.workers[w].is_alive():
                    try:
                        return self.queues[w].get(timeout=_POLL)
                    except queue.Empty:
                        code = getattr(self.workers[w], "exitcode", None)
                        raise MediaError(f"cannot decode {self.job.path}: decode worker {w} "
                                         f"ended unexpectedly (exit code {code})") from None

    def close(self) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join(timeout=5)
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
                q.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False
    return put


def _thread_main(job: _Job, chunks: list[tuple[int, int]], q: Any, stop: Any) -> None:
    _decode_chunks(job, chunks, _putter(q, stop))


def _process_main(job: _Job, chunks: list[tuple[int, int]], q: Any, stop: Any) -> None:
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

    _decode_chunks(job, chunks, send)


def _picklable(item: tuple[Any, ...]) -> tuple[Any, ...]:
    if item[0] != "x":
        return item
    try:
        pickle.dumps(item[2])
        return item
    except Exception:  # noqa: BLE001
        return (item[0], item[1], MediaError(f"{type(item[2]).__name__}: {item[2]}"))
