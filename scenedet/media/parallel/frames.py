"""Every frame of a film, small, with its video decoded by N workers: the parallel MediaStream.

:class:`ParallelMediaStream` yields the same :class:`~scenedet.media.frames.stream.FrameBatch` items as
:class:`~scenedet.media.frames.stream.MediaStream` (pixels, times and frame numbers ``np.array_equal``,
the same batch boundaries; tested on short and long GOPs, B-frames, VFR, late audio, rotation),
the video cut into chunks at keyframes and decoded by ``workers`` threads or processes
(:mod:`scenedet.media.parallel.chunkpool`, shared with :mod:`scenedet.media.parallel.seconds`).

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

Times. Workers send each frame's timestamp (put back in order as :class:`MediaStream` does,
``frames._Reorder``), not its time: the caller keeps the one clock, from film time 0 (the first
frame shown, :func:`~scenedet.media.probe.film_start`), so times, the end and the frame numbers
are :class:`MediaStream`'s to the bit.

Sound is decoded once, on the caller's side, as :class:`MediaStream` decodes it (the same
packets, resampler and clock); its chunks are interleaved with the frame batches by time (items
of one kind keep their order, which is all detectors read).

Damage. A packet a decoder rejects is skipped as :class:`MediaStream` skips it; each chunk sends
its skipped packets with its end, replayed into the caller's
:class:`~scenedet.media.damage.Damage` keyed by timestamp (a packet two chunks decode counts
once, as in :mod:`scenedet.media.parallel.seconds`). A file cut short fails as :class:`MediaStream` does,
with its message, after the frames before the gap.

Memory: each worker queues at most :data:`QUEUE_BATCHES` batches of small frames, so N workers
hold at most N times that, whatever the film's length. Errors, closing early and
``scenedet.inference.stream.stop_all`` behave as in :mod:`scenedet.media.parallel.seconds`: a chunk's
error reaches the caller after the frames before it, with :class:`MediaStream`'s message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.errors import MediaError, UsageError
from scenedet.media.parallel.chunkpool import Kind, Pool, check_kind
from scenedet.media.frames.stream import (AudioChunk, FrameBatch, MediaStream, StreamInfo, _decode,
                                   _Declared, _frame_step, _nominal_fps, _Pictures, _Reorder,
                                   _SoundTrack, _Ticker)

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
    own = {"sizes", "audio", "batch_frames", "damage"}
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
    chunk (film seconds; the default :data:`DEFAULT_CHUNK_SECONDS`). ``damage``: where skipped
    packets are counted (None: one warning at the end), as :class:`MediaStream`.
    """

    def __init__(self, path: str | Path, *, sizes: Sequence[tuple[int, int]] = ((48, 27),),
                 audio: bool = False, batch_frames: int = 128, workers: int = 2,
                 kind: Kind = "thread", chunk_seconds: float | None = None,
                 damage: Any = None) -> None:
        check_kind(kind)
        if chunk_seconds is not None and chunk_seconds <= 0:
            raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
        self.plain = MediaStream(path, sizes=sizes, audio=audio, batch_frames=batch_frames,
                                 damage=damage)
        self.path, self.sizes, self.audio = self.plain.path, self.plain.sizes, audio
        self.batch_frames = batch_frames
        self.workers, self.kind = workers, kind
        self.chunk_seconds = DEFAULT_CHUNK_SECONDS if chunk_seconds is None else chunk_seconds
        self.damage = damage
        self.chunks: list[Chunk] = []
        self.info: StreamInfo | None = None

    def __iter__(self) -> Iterator[FrameBatch | AudioChunk]:
        from scenedet.media.damage import Damage
        from scenedet.media.probe import check_path

        check_path(self.path)
        scan = _scan(self.path)
        self.chunks = plan_frame_chunks(scan, self.chunk_seconds) if scan is not None else []
        if self.workers <= 1 or len(self.chunks) <= 1 or not self.sizes:
            yield from self.plain
            self.info = self.plain.info
            return
        damage = self.damage if self.damage is not None else Damage()
        try:
            yield from self._parallel(scan, damage)
        finally:
            if self.damage is None:
                damage.warn(self.path, stacklevel=1)

    def _parallel(self, scan: _Scan, damage: Any) -> Iterator[FrameBatch | AudioChunk]:
        job = FrameJob(str(self.path), self.sizes, self.batch_frames, origin=scan.origin,
                       step=scan.step)
        pool = Pool(job, self.chunks, self.workers, self.kind, QUEUE_BATCHES)
        sound = _Sound(self.path, scan.origin, damage) if self.audio else None
        pending = _Rebatch(self.sizes, self.batch_frames)
        clock = _Ticker(scan.fps, scan.origin)
        last_raw: int | None = None
        try:
            pool.start()
            for i, _ in enumerate(self.chunks):
                while True:
                    item = pool.get(i)
                    if item[0] == "b":
                        _, pts, durations, images = item
                        times = np.asarray([clock.tick(p, scan.time_base, d)
                                            for p, d in zip(pts, durations)], dtype=np.float64)
                        for batch in pending.add(times, images):
                            if sound is not None:
                                yield from sound.until(float(batch.times[-1]))
                            yield batch
                        continue
                    for record in item[1]:
                        damage.skipped(*record)
                    if item[0] == "x":
                        raise item[-1]
                    last_raw = item[2] if item[2] is not None else last_raw
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
        if clock.count == 0:
            raise MediaError(f"no frame of {self.path} could be decoded")
        scan.declared.check(self.path, video_ended=True, last_pts=last_raw,
                            audio_end=sound.track.decoded_end if sound is not None and sound.track
                            else None)
        self.info = StreamInfo(path=self.path, n_frames=clock.count, fps=scan.fps,
                               duration=clock.end(), has_video=True,
                               has_audio=sound is not None and sound.stream is not None,
                               audio_rate=sound.rate if sound is not None else None,
                               damage=damage)


@attrs.frozen
class _Scan:
    """What a demux-only pass tells: keyframes ``(pts, dts)`` in decode order, the clock (film
    time 0, ``origin``, in stream seconds) and what the header declares."""

    keys: list[tuple[int, int | None]]
    time_base: Fraction
    start: int
    origin: Fraction
    fps: float
    has_audio: bool
    audio_rate: int | None
    step: int | None = None
    declared: _Declared = attrs.Factory(_Declared)


def _scan(path: Path) -> _Scan | None:
    """The video keyframes and the stream's clock; None when the film cannot be cut (no video,
    keyframes without timestamps): :class:`MediaStream` then says what is wrong, or decodes it."""
    import av

    from scenedet.media.probe import (_check_index_within_file, film_audio_stream, film_start_of,
                                      film_video_stream, open_input)

    container = open_input(path)
    try:
        video = film_video_stream(container)
        if video is None or video.time_base is None:
            return None
        _check_index_within_file(path, video)  # a file cut short: MediaStream's one line
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
        start, time_base = film_start_of(path)
        origin = Fraction(start) * time_base
        fps = _nominal_fps(video)
        return _Scan(keys=keys, time_base=Fraction(video.time_base), start=start,
                     origin=origin, fps=fps, has_audio=sound is not None,
                     audio_rate=sound.codec_context.sample_rate if sound is not None else None,
                     step=_frame_step(video, fps),
                     declared=_Declared.of(container, video, origin))
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
    """A worker's work (picklable): decode chunks of ``path`` at ``sizes``, in batches.
    ``origin``: film time 0 (stream seconds, for the times of damaged packets); ``step``: one
    frame in the stream's time base (for the reordering of timestamps)."""

    def __init__(self, path: str, sizes: tuple[tuple[int, int], ...], batch_frames: int, *,
                 origin: Fraction = Fraction(0), step: int | None = None) -> None:
        self.path, self.sizes, self.batch_frames = path, sizes, batch_frames
        self.origin, self.step = origin, step

    def decode_chunks(self, chunks: list[Chunk], put: Any) -> None:
        """Each chunk: ``("b", pts, durations, images)`` batches, then ``("e", damage records,
        pts of the last frame decoded)``, or ``("x", damage records, exception)`` after the
        frames decoded before it."""
        from scenedet.media.parallel.seconds import _Recorder

        for chunk in chunks:
            recorder = _Recorder()
            state = _ChunkState(self, chunk, recorder)
            try:
                for item in state.decode():
                    if not put(("b", *item)):
                        return
            except Exception as exc:  # noqa: BLE001 - handed to the caller, in order
                item = state.take()
                if item is not None and not put(("b", *item)):
                    return
                put(("x", recorder.records, exc))
                return
            if not put(("e", recorder.records, state.last_raw)):
                return


class _ChunkState:
    """One chunk's decode: the frames the chunk owns, scaled as MediaStream scales them, with
    their (reordered) timestamps."""

    def __init__(self, job: FrameJob, chunk: Chunk, damage: Any) -> None:
        self.job, self.chunk, self.damage = job, chunk, damage
        self.pictures = _Pictures(job.sizes)
        self.pts: list[int | None] = []
        self.durations: list[int | None] = []
        self.last_raw: int | None = None  # pts of the last frame the decoder handed out

    def take(self) -> tuple[list[int | None], list[int | None], dict] | None:
        if not self.pts:
            return None
        item = (self.pts, self.durations, self.pictures.take())
        self.pts, self.durations = [], []
        return item

    def decode(self) -> Iterator[tuple[list[int | None], list[int | None], dict]]:
        import av

        from scenedet.media.probe import ffmpeg_reason, film_video_stream, open_input

        container = open_input(Path(self.job.path))
        try:
            stream = film_video_stream(container)
            assert stream is not None  # the scan found it
            stream.thread_type = "AUTO"
            lower, upper = self.chunk.lower, self.chunk.upper
            reorder = _Reorder(self.job.step)
            started = lower is None
            done = False
            try:
                for frames in self._frames(self._packets(container, stream)):
                    for frame in frames:
                        self._raw(frame)
                        for held, pts in reorder.push(frame):
                            done, started = self._own(held, pts, lower, upper, started)
                            if done:
                                break
                            if len(self.pts) >= self.job.batch_frames:
                                yield self.take()  # type: ignore[misc]
                        if done:
                            break
                    if done:
                        break
                if not done:
                    for held, pts in reorder.drain():
                        done, started = self._own(held, pts, lower, upper, started)
                        if done:
                            break
                        if len(self.pts) >= self.job.batch_frames:
                            yield self.take()  # type: ignore[misc]
            except av.FFmpegError as exc:
                raise MediaError(f"cannot decode {self.job.path}: {ffmpeg_reason(exc)}") from None
            item = self.take()
            if item is not None:
                yield item
        finally:
            container.close()

    def _raw(self, frame: Any) -> None:
        if frame.pts is not None or self.last_raw is None:
            self.last_raw = frame.pts if frame.pts is not None else 0
        else:
            self.last_raw += 1

    def _own(self, frame: Any, pts: int | None, lower: int | None, upper: int | None,
             started: bool) -> tuple[bool, bool]:
        """Keep ``frame`` if the chunk owns it; ``(chunk done, started)``."""
        if pts is not None and upper is not None and pts >= upper:
            return True, started  # frames come out in presentation order: the chunk is done
        if not started and (pts is None or pts < lower):  # type: ignore[operator]
            return False, False  # a leading picture of an open GOP: the chunk before's
        time_base = frame.time_base
        self.pts.append(pts if time_base is not None else None)
        self.durations.append(frame.duration if time_base is not None else None)
        self.pictures.add(frame)
        return False, True

    def _frames(self, packets: Iterator[Any]) -> Iterator[list[Any]]:
        for packet in packets:
            frames = _decode(packet, self.damage, self.job.origin)
            if frames:
                yield frames

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
    """The film's sound as :class:`MediaStream` decodes it (the same clock, resampler, skipping
    of damaged packets and silence in their place), handed out up to a film time at a time."""

    def __init__(self, path: Path, origin: Fraction, damage: Any) -> None:
        from scenedet.media.probe import film_audio_stream, open_input

        self.path, self.origin, self.damage = path, origin, damage
        self.container = open_input(path)
        self.stream = film_audio_stream(self.container)
        self.rate = self.stream.codec_context.sample_rate if self.stream is not None else None
        self.track = _SoundTrack(self.stream, origin) if self.stream is not None else None
        self.chunks = self._chunks() if self.stream is not None else iter(())
        self.held: AudioChunk | None = None

    def _chunks(self) -> Iterator[AudioChunk]:
        import av

        from scenedet.media.probe import ffmpeg_reason

        assert self.track is not None
        try:
            for packet in self.container.demux(self.stream):
                frames = _decode(packet, self.damage, self.origin)
                if frames is None:
                    self.track.skipped(packet)
                    continue
                for frame in frames:
                    yield from self.track.frame(frame)
            yield from self.track.finish()
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
