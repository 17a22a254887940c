"""Every frame of a film, small, with its video decoded by N workers: the parallel MediaStream.

:class:`ParallelMediaStream` yields the same :class:`~scenedet.media.frames.FrameBatch` items as
:class:`~scenedet.media.frames.MediaStream` (pixels, times and frame numbers ``np.array_equal``,
the same batch boundaries; tested on short and long GOPs, B-frames, VFR, late audio, rotation),
the video cut into chunks at keyframes and decoded by ``workers`` threads or processes
(:mod:`scenedet.media.chunkpool`, shared with :mod:`scenedet.media.parallel`).

Chunks. A demux-only pass lists the video keyframes (presentation and decode timestamps, no
decoding). Chunk ``i`` owns the frames whose timestamp lies in ``[P_i, P_i+1)``, ``P_i`` the
presentation timestamp of the keyframe that starts it (the first chunk owns everything before
``P_1``). Its worker seeks to that keyframe, decodes forward with the scaler, pixel format and
orientation of :class:`MediaStream` (its ``_VideoState``), drops what comes out before ``P_i``
(an open GOP's leading pictures, which reference the previous chunk) and stops at the first
frame at or after ``P_i+1``: decoders hand frames out in presentation order, so nothing of the
chunk comes later. Were a seek to land after the keyframe, the worker decodes its chunk from
the start of the file instead (slow, never wrong). Chunks are whole GOPs at least
``chunk_seconds`` long; a film with one keyframe is one chunk, decoded by :class:`MediaStream`.

Sound is decoded once, on the caller's side, as :class:`MediaStream` decodes it (the same
packets, resampler and clock); its chunks are interleaved with the frame batches by time (items
of one kind keep their order, which is all detectors read).

Memory: each worker queues at most :data:`QUEUE_BATCHES` batches of small frames, so N workers
hold at most N times that, whatever the film's length. Errors, closing early and
``scenedet.inference.stream.stop_all`` behave as in :mod:`scenedet.media.parallel`: a chunk's
error reaches the caller after the frames before it, with :class:`MediaStream`'s message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import numpy as np

from scenedet.errors import MediaError, UsageError
from scenedet.media.chunkpool import Kind, Pool, check_kind
from scenedet.media.frames import (AudioChunk, FrameBatch, MediaStream, StreamInfo, _nominal_fps,
                                   _origin, _resampled, _VideoState)

#: Batches of small frames a worker may queue ahead of the caller.
QUEUE_BATCHES = 4
#: The shortest chunk (seconds of film) by default: each chunk opens the file and seeks once.
DEFAULT_CHUNK_SECONDS = 10.0


@attrs.frozen
class Chunk:
    """Frames with timestamps in ``[lower, upper)`` (stream time base; None: unbounded), decoded
    from the keyframe at ``seek_pts`` (None: from the start) whose decode timestamp is
    ``key_dts``."""

    lower: int | None
    upper: int | None
    seek_pts: int | None = None
    key_dts: int | None = None


def frame_stream(path: str | Path, *, decode_workers: int = 1, decode_worker_kind: Kind = "thread",
                 chunk_seconds: float | None = None, **options: Any) -> Any:
    """A :class:`MediaStream` (``options`` are its arguments), or, with ``decode_workers > 1``,
    a :class:`ParallelMediaStream` giving the same frames. What the parallel stream does not
    cover (no pictures wanted, the per-second tap) stays with :class:`MediaStream`."""
    check_kind(decode_worker_kind)
    if decode_workers < 1:
        raise UsageError(f"decode workers must be at least 1, got {decode_workers}")
    own = {"sizes", "audio", "batch_frames"}
    rest = {k: v for k, v in options.items() if k not in own and k != "use_audio"}
    if decode_workers <= 1 or any(v is not None for v in rest.values()) \
            or not tuple(options.get("sizes", ((48, 27),))):
        return MediaStream(path, **options)
    return ParallelMediaStream(path, workers=decode_workers, kind=decode_worker_kind,
                               chunk_seconds=chunk_seconds,
                               **{k: v for k, v in options.items() if k in own})


class ParallelMediaStream:
    """:class:`MediaStream`'s pictures and sound, the video decoded by ``workers`` workers.

    Iterate for :class:`FrameBatch` and :class:`AudioChunk` items; :attr:`info` is complete once
    the iteration ends. ``kind``: ``"thread"`` or ``"process"``; ``chunk_seconds``: the shortest
    chunk (film seconds; the default :data:`DEFAULT_CHUNK_SECONDS`).
    """

    def __init__(self, path: str | Path, *, sizes: Sequence[tuple[int, int]] = ((48, 27),),
                 audio: bool = False, batch_frames: int = 128, workers: int = 2,
                 kind: Kind = "thread", chunk_seconds: float | None = None) -> None:
        check_kind(kind)
        if chunk_seconds is not None and chunk_seconds <= 0:
            raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
        self.plain = MediaStream(path, sizes=sizes, audio=audio, batch_frames=batch_frames)
        self.path, self.sizes, self.audio = self.plain.path, self.plain.sizes, audio
        self.batch_frames = batch_frames
        self.workers, self.kind = workers, kind
        self.chunk_seconds = DEFAULT_CHUNK_SECONDS if chunk_seconds is None else chunk_seconds
        self.chunks: list[Chunk] = []
        self.info: StreamInfo | None = None

    def __iter__(self) -> Iterator[FrameBatch | AudioChunk]:
        from scenedet.media.probe import check_path

        check_path(self.path)
        scan = _scan(self.path)
        self.chunks = plan_frame_chunks(scan, self.chunk_seconds) if scan is not None else []
        if self.workers <= 1 or len(self.chunks) <= 1 or not self.sizes:
            yield from self.plain
            self.info = self.plain.info
            return
        yield from self._parallel(scan)

    def _parallel(self, scan: _Scan) -> Iterator[FrameBatch | AudioChunk]:
        job = FrameJob(str(self.path), self.sizes, self.batch_frames)
        pool = Pool(job, self.chunks, self.workers, self.kind, QUEUE_BATCHES)
        sound = _Sound(self.path, scan.origin) if self.audio else None
        pending = _Rebatch(self.sizes, self.batch_frames)
        count, last_time, last_duration = 0, None, None
        try:
            pool.start()
            for i, _ in enumerate(self.chunks):
                while True:
                    item = pool.get(i)
                    if item[0] == "b":
                        count += len(item[1])
                        last_time = float(item[1][-1])
                        for batch in pending.add(item[1], item[2]):
                            if sound is not None:
                                yield from sound.until(float(batch.times[-1]))
                            yield batch
                        continue
                    if item[0] == "x":
                        raise item[-1]
                    last_duration = item[1] if item[1] is not None else last_duration
                    break
            batch = pending.flush()
            if batch is not None:
                if sound is not None:
                    yield from sound.until(float(batch.times[-1]))
                yield batch
            if sound is not None:
                yield from sound.until(None)
        finally:
            pool.close()
            if sound is not None:
                sound.close()
        if count == 0:
            raise MediaError(f"no frame of {self.path} could be decoded")
        step = last_duration or (1.0 / scan.fps if scan.fps else 0.0)
        self.info = StreamInfo(path=self.path, n_frames=count, fps=scan.fps,
                               duration=(last_time or 0.0) + step, has_video=True,
                               has_audio=sound is not None and sound.stream is not None,
                               audio_rate=sound.rate if sound is not None else None)


@attrs.frozen
class _Scan:
    """What a demux-only pass tells: keyframes ``(pts, dts)`` in decode order, the clock."""

    keys: list[tuple[int, int | None]]
    time_base: Fraction
    start: int
    origin: Fraction
    fps: float
    has_audio: bool
    audio_rate: int | None


def _scan(path: Path) -> _Scan | None:
    """The video keyframes and the stream's clock; None when the film cannot be cut (no video,
    keyframes without timestamps): :class:`MediaStream` then says what is wrong, or decodes it."""
    import av

    from scenedet.media.probe import film_audio_stream, film_video_stream, open_input

    container = open_input(path)
    try:
        video = film_video_stream(container)
        if video is None or video.time_base is None:
            return None
        sound = film_audio_stream(container)
        keys: list[tuple[int, int | None]] = []
        try:
            for packet in container.demux(video):
                if packet.is_keyframe and packet.size:
                    if packet.pts is None:
                        return None
                    keys.append((packet.pts, packet.dts))
        except av.FFmpegError:
            return None  # MediaStream reports it (or decodes what it can)
        return _Scan(keys=keys, time_base=Fraction(video.time_base), start=video.start_time or 0,
                     origin=_origin(video), fps=_nominal_fps(video), has_audio=sound is not None,
                     audio_rate=sound.codec_context.sample_rate if sound is not None else None)
    finally:
        container.close()


def plan_frame_chunks(scan: _Scan, chunk_seconds: float) -> list[Chunk]:
    """Chunks of whole GOPs, each at least ``chunk_seconds`` long (but the last), cut at
    keyframes whose timestamps rise in decode order."""
    cuts: list[tuple[int, int | None]] = []
    last = scan.start
    for pts, dts in scan.keys[1:]:
        if float((pts - last) * scan.time_base) >= chunk_seconds and (not cuts or pts > cuts[-1][0]):
            cuts.append((pts, dts))
            last = pts
    bounds: list[int | None] = [None, *(pts for pts, _ in cuts), None]
    chunks = [Chunk(lower=None, upper=bounds[1])]
    for (pts, dts), upper in zip(cuts, bounds[2:]):
        chunks.append(Chunk(lower=pts, upper=upper, seek_pts=pts, key_dts=dts))
    return chunks


class FrameJob:
    """A worker's work (picklable): decode chunks of ``path`` at ``sizes``, in batches."""

    def __init__(self, path: str, sizes: tuple[tuple[int, int], ...], batch_frames: int) -> None:
        self.path, self.sizes, self.batch_frames = path, sizes, batch_frames

    def decode_chunks(self, chunks: list[Chunk], put: Any) -> None:
        """Each chunk: ``("b", times, images)`` batches, then ``("e", last frame duration)``, or
        ``("x", exception)`` after the frames decoded before it."""
        for chunk in chunks:
            state: Any = None
            try:
                state = _ChunkState(self, chunk)
                for batch in state.decode():
                    if not put(("b", batch.times, batch.images)):
                        return
            except Exception as exc:  # noqa: BLE001 - handed to the caller, in order
                batch = state.video.flush() if state is not None and state.video else None
                if batch is not None and not put(("b", batch.times, batch.images)):
                    return
                put(("x", exc))
                return
            if not put(("e", state.video.last_duration)):
                return


class _ChunkState:
    """One chunk's decode: MediaStream's ``_VideoState`` fed the frames the chunk owns."""

    def __init__(self, job: FrameJob, chunk: Chunk) -> None:
        self.job, self.chunk = job, chunk
        self.video: Any = None

    def decode(self) -> Iterator[FrameBatch]:
        import av

        from scenedet.media.probe import ffmpeg_reason, film_video_stream, open_input

        container = open_input(Path(self.job.path))
        try:
            stream = film_video_stream(container)
            assert stream is not None  # the scan found it
            stream.thread_type = "AUTO"
            owner = SimpleNamespace(sizes=self.job.sizes, batch_frames=self.job.batch_frames)
            self.video = _VideoState(owner, _origin(stream), _nominal_fps(stream))  # type: ignore[arg-type]
            lower, upper = self.chunk.lower, self.chunk.upper
            packets = self._packets(container, stream)
            started = lower is None
            try:
                for frame in self._frames(packets):
                    pts = frame.pts
                    if pts is not None and upper is not None and pts >= upper:
                        break  # frames come out in presentation order: the chunk is done
                    if not started and (pts is None or pts < lower):
                        continue  # a leading picture of an open GOP: the chunk before's
                    started = True
                    batch = self.video.add(frame)
                    if batch is not None:
                        yield batch
            except av.FFmpegError as exc:
                raise MediaError(f"cannot decode {self.job.path}: {ffmpeg_reason(exc)}") from None
            batch = self.video.flush()
            if batch is not None:
                yield batch
        finally:
            container.close()

    @staticmethod
    def _frames(packets: Iterator[Any]) -> Iterator[Any]:
        for packet in packets:
            yield from packet.decode()

    def _packets(self, container: Any, stream: Any) -> Iterator[Any]:
        """The video packets from the chunk's keyframe on (from the start if a seek overshoots
        or finds nothing)."""
        chunk = self.chunk
        if chunk.seek_pts is None:
            yield from container.demux(stream)
            return
        container.seek(chunk.seek_pts, stream=stream, backward=True)
        packets = container.demux(stream)
        first = next(packets, None)
        landed = None if first is None else first.dts if first.dts is not None else first.pts
        wanted = chunk.key_dts if chunk.key_dts is not None else chunk.seek_pts
        # past the keyframe, or nowhere (MPEG-TS's timestamp search can land at the end): start over
        if first is None or (landed is not None and landed > wanted):
            container.seek(0, stream=stream, backward=True, any_frame=True)
            packets = container.demux(stream)
            first = next(packets, None)
            if first is None:
                return
        yield first
        yield from packets


class _Rebatch:
    """The workers' batches cut again into MediaStream's: ``batch_frames`` each, numbered on."""

    def __init__(self, sizes: tuple[tuple[int, int], ...], batch_frames: int) -> None:
        self.sizes, self.batch_frames = sizes, batch_frames
        self.times: list[np.ndarray] = []
        self.images: dict[tuple[int, int], list[np.ndarray]] = {s: [] for s in sizes}
        self.n = 0
        self.first = 0

    def add(self, times: np.ndarray, images: dict[tuple[int, int], np.ndarray]
            ) -> Iterator[FrameBatch]:
        self.times.append(times)
        for s in self.sizes:
            self.images[s].append(images[s])
        self.n += len(times)
        while self.n >= self.batch_frames:
            yield self._take(self.batch_frames)

    def flush(self) -> FrameBatch | None:
        return self._take(self.n) if self.n else None

    def _take(self, n: int) -> FrameBatch:
        times = np.concatenate(self.times)
        images = {s: np.concatenate(v) if len(v) > 1 else v[0] for s, v in self.images.items()}
        batch = FrameBatch(index=self.first, times=times[:n],
                           images={s: a[:n] for s, a in images.items()})
        self.first += n
        self.n -= n
        self.times = [times[n:]] if self.n else []
        self.images = {s: ([a[n:]] if self.n else []) for s, a in images.items()}
        return batch


class _Sound:
    """The film's sound as :class:`MediaStream` decodes it (its clock: the video's origin),
    handed out up to a film time at a time."""

    def __init__(self, path: Path, origin: Fraction) -> None:
        from scenedet.media.probe import film_audio_stream, open_input

        self.path, self.origin = path, origin
        self.container = open_input(path)
        self.stream = film_audio_stream(self.container)
        self.rate = self.stream.codec_context.sample_rate if self.stream is not None else None
        self.chunks = self._chunks() if self.stream is not None else iter(())
        self.held: AudioChunk | None = None

    def _chunks(self) -> Iterator[AudioChunk]:
        import av

        from scenedet.media.probe import ffmpeg_reason

        resampler = av.AudioResampler(format="flt", layout="mono", rate=self.rate)
        try:
            for packet in self.container.demux(self.stream):
                for frame in packet.decode():
                    yield from _resampled(resampler, frame, self.origin)
            yield from _resampled(resampler, None, self.origin)
        except av.FFmpegError as exc:
            raise MediaError(f"cannot decode {self.path}: {ffmpeg_reason(exc)}") from None

    def until(self, time: float | None) -> Iterator[AudioChunk]:
        """The chunks starting at or before ``time`` (None: all that are left)."""
        while True:
            if self.held is None:
                self.held = next(self.chunks, None)
                if self.held is None:
                    return
            if time is not None and self.held.start > time:
                return
            chunk, self.held = self.held, None
            yield chunk

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
        self.container.close()


__all__ = ["Chunk", "FrameJob", "ParallelMediaStream", "frame_stream", "plan_frame_chunks"]
