"""Decode one film with several workers: keyframe-aligned chunks of seconds, reassembled in order.

:func:`iter_seconds_parallel` yields exactly what :func:`scenedet.media.seconds.decode.iter_seconds`
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
with the film's length (the workers, their queues and stopping are
:mod:`scenedet.media.parallel.chunkpool`'s, shared with :mod:`scenedet.media.parallel.frames`). An error in a chunk (a truncated file) reaches the caller at the same
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
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scenedet.media.parallel.chunkpool import Kind, Pool, check_kind, keyframe_times, stop_workers
from scenedet.media.damage import Damage
from scenedet.media.seconds.decode import StrategyArg, _preroll_time, iter_seconds, resolve_strategy
from scenedet.media.probe import FilmInfo, probe
from scenedet.media.types import MediaRequest, Second

#: Decoded frames all workers may hold ahead of the caller (bytes): sets the chunk length.
MEMORY_BUDGET = 512 * 1024 * 1024
#: Chunk length bounds (seconds): short chunks waste the pre-roll, long ones memory.
MIN_CHUNK_SECONDS, MAX_CHUNK_SECONDS = 10, 30


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
    """:func:`~scenedet.media.seconds.decode.iter_seconds`, its video decoded by ``workers`` workers.

    Same arguments and result; ``workers <= 1`` (or no video requested) is ``iter_seconds``
    itself. Bad input raises :class:`MediaError` now, as ``iter_seconds`` does.
    """
    check_kind(kind)
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
    return _reassemble(Pool(job, chunks, workers, kind, size + 2), sounds, damage, report, info)


def _reassemble(pool: Pool, sounds: Iterator[Second] | None, damage: Damage, report: bool,
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

    def decode_chunks(self, chunks: list[tuple[int, int]], put: Any) -> None:
        _decode_chunks(self, chunks, put)


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


__all__ = ["Kind", "chunk_seconds_for", "choose_workers", "iter_seconds_parallel", "keyframe_times",
           "plan_chunks", "stop_workers"]
