"""Every frame of a film, small, in one streaming pass: the time grid of frame-level detectors.

Shot cuts and technical cues need to know *which frame* something happens on, so unlike
:func:`scenedet.media.decode.iter_seconds` (one still per second) this hands over every decoded
frame, scaled in FFmpeg (``VideoFrame.to_ndarray(width=, height=)``, swscale) to each size the
detectors asked for, in batches of at most ``batch_frames``; and, when asked, the film's sound as
mono ``float32`` chunks at its own sample rate. Nothing is kept between batches, so memory is flat
with the film's length.

Times are seconds of film time, 0 = the first frame of the video stream (the same origin as
:mod:`scenedet.media.decode`), taken from each frame's own timestamp: variable frame rates stay
exact. Frame indices count decoded frames in presentation order from 0.

Plain audio files (WAV, FLAC, OGG; anything ``soundfile`` reads) are read with ``soundfile``, in
blocks; other files without a picture (M4A, MP3) through PyAV's audio decoder.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.errors import MediaError, UsageError

#: swscale's interpolation for the small frames: FFmpeg's own default for ``-s WxH`` (what
#: TransNetV2 was trained on), so the network sees the pixels it expects.
INTERPOLATION = "BICUBIC"
SOUNDFILE_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif")
AUDIO_BLOCK_SECONDS = 1.0


@attrs.frozen(kw_only=True, eq=False)
class FrameBatch:
    """Consecutive frames ``index .. index + n - 1`` of a film; ``index`` is the first one's (an int).

    ``times``: each frame's presentation time in seconds (``float64``). ``images``: for each
    requested ``(width, height)``, the frames as RGB ``uint8`` ``(n, height, width, 3)``.
    """

    index: int
    times: np.ndarray
    images: dict[tuple[int, int], np.ndarray]

    def __len__(self) -> int:
        return len(self.times)

    def frames(self, size: tuple[int, int]) -> np.ndarray:
        """The frames at ``size`` (one the detector declared)."""
        return self.images[size]


@attrs.frozen(kw_only=True, eq=False)
class AudioChunk:
    """Mono sound, ``float32`` in ``[-1, 1]``, at ``rate`` Hz; the first sample plays at ``start`` s."""

    start: float
    rate: int
    samples: np.ndarray


@attrs.frozen(kw_only=True)
class StreamInfo:
    """What one pass found: frame count, nominal rate and duration (seconds), which streams."""

    path: Path
    n_frames: int
    fps: float
    duration: float
    has_video: bool
    has_audio: bool
    audio_rate: int | None = None
    #: A part of the film (``MediaStream(start=...)``): the film time and nominal frame number of
    #: the part's first frame, which the times and indices above count from.
    start: float = 0.0
    first_frame: int = 0

    def frame_time(self, index: int) -> float:
        """Seconds of frame ``index`` on the nominal grid (``index >= n_frames``: the end)."""
        if index >= self.n_frames:
            return self.duration
        return index / self.fps if self.fps else 0.0


@attrs.frozen(kw_only=True)
class FrameSegment:
    """One found interval: ``[start, end)`` seconds and, on a picture's grid, ``[start_frame,
    end_frame)`` frames; ``score`` a confidence in ``[0, 1]`` (for a shot: of the cut it starts
    with), ``label`` what it is when a detector finds several kinds (``"black"``, ``"silence"``)."""

    start: float
    end: float
    start_frame: int | None = None
    end_frame: int | None = None
    score: float | None = None
    label: str = ""

    @property
    def length(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": round(self.start, 6), "end": round(self.end, 6),
                               "start_frame": self.start_frame, "end_frame": self.end_frame,
                               "score": None if self.score is None else round(float(self.score), 6)}
        if self.label:
            out["label"] = self.label
        return out


class MediaStream:
    """One pass over ``path``: iterate for :class:`FrameBatch` and :class:`AudioChunk` items in
    film order; :attr:`info` is complete once the iteration ends.

    ``sizes``: the ``(width, height)`` pictures wanted (empty: decode no video). ``audio``: also
    yield the sound. A film without sound yields no chunks (detectors treat that as they see fit).
    Pictures are upright: the display matrix of the first frame (a phone's rotation) is applied
    as :func:`~scenedet.media.decode.iter_seconds` applies it, so ``(width, height)`` is the
    size as displayed.

    ``seconds``: also yield the :class:`~scenedet.media.types.Second` items ``iter_seconds``
    would for this request (:mod:`scenedet.media.secondtap`), from the same decode; ``film`` is
    then the film's :func:`~scenedet.media.probe.probe` (whole seconds, orientation, declared
    ends). With ``seconds``, damaged packets are skipped and counted in ``damage`` as
    ``iter_seconds`` does; ``use_audio=False`` gives those seconds silence.

    ``start``/``end`` (film seconds, not with ``seconds``): decode only that part, from the
    keyframe at or before ``start`` (:mod:`scenedet.media.framepart`). The part is then handed
    over as a film of its own (first frame: index 0 at time 0); :attr:`info` says where it lies.
    """

    def __init__(self, path: str | Path, *, sizes: Sequence[tuple[int, int]] = ((48, 27),),
                 audio: bool = False, batch_frames: int = 128, seconds: Any = None,
                 film: Any = None, damage: Any = None, use_audio: bool = True,
                 start: float | None = None, end: float | None = None) -> None:
        for w, h in sizes:
            if w < 1 or h < 1:
                raise UsageError(f"frame size must be positive, got {w}x{h}")
        if batch_frames < 1:
            raise UsageError(f"batch_frames must be at least 1, got {batch_frames}")
        self.path = Path(path)
        self.sizes = tuple(dict.fromkeys((int(w), int(h)) for w, h in sizes))
        self.audio = audio
        self.batch_frames = batch_frames
        if seconds is not None and film is None:
            raise UsageError("seconds need the film's probe (film=probe(path))")
        self.seconds, self.film, self.damage, self.use_audio = seconds, film, damage, use_audio
        if (start is not None or end is not None) and seconds is not None:
            raise UsageError("a part of the film is decoded frame by frame only (no seconds)")
        from scenedet.media.framepart import check_part

        check_part(start, end)
        self.start, self.end = start, end
        self.info: StreamInfo | None = None

    def __iter__(self) -> Iterator[FrameBatch | AudioChunk]:
        from scenedet.media.probe import check_path

        check_path(self.path)
        if (not self.sizes and self.audio and self.seconds is None and self.start is None
                and self.end is None and self.path.suffix.lower() in SOUNDFILE_SUFFIXES):
            yield from self._soundfile()
        else:
            yield from self._pyav()

    # -- soundfile: plain audio files ------------------------------------------------------------
    def _soundfile(self) -> Iterator[AudioChunk]:
        import soundfile as sf

        try:
            handle = sf.SoundFile(str(self.path))
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            raise MediaError(f"cannot read {self.path} as audio: {exc}") from None
        with handle:
            rate = int(handle.samplerate)
            position = 0
            block = max(1, int(rate * AUDIO_BLOCK_SECONDS))
            for data in handle.blocks(blocksize=block, dtype="float32", always_2d=True):
                yield AudioChunk(start=position / rate, rate=rate, samples=data.mean(axis=1))
                position += len(data)
        self.info = StreamInfo(path=self.path, n_frames=0, fps=0.0, duration=position / rate,
                               has_video=False, has_audio=True, audio_rate=rate)

    # -- PyAV: films (and other containers) ----------------------------------------------------
    def _pyav(self) -> Iterator[FrameBatch | AudioChunk]:
        import av

        from scenedet.media import profiled
        from scenedet.media.probe import ffmpeg_reason, film_audio_stream, film_video_stream, open_input

        container = open_input(self.path)
        try:
            tap_audio = (self.seconds is not None and self.seconds.audio and self.use_audio
                         and self.film.has_audio)
            video = film_video_stream(container) if self.sizes or self.seconds else None
            sound = film_audio_stream(container) if self.audio or tap_audio else None
            if (self.sizes or self.seconds) and video is None:
                raise MediaError(f"no video stream in {self.path}")
            if video is None and sound is None:
                raise MediaError(f"no audio stream in {self.path}")
            streams = [s for s in (video, sound) if s is not None]
            if video is not None:
                video.thread_type = "AUTO"
            origin = _origin(video if video is not None else sound)
            state = _VideoState(self, origin, _nominal_fps(video))
            tap = None
            if self.seconds is not None:
                from scenedet.media.secondtap import SecondTap

                tap = SecondTap(self.film, self.seconds, video, sound if tap_audio else None,
                                damage=self.damage)
            audio_rate = sound.codec_context.sample_rate if sound is not None else None
            resampler = (av.AudioResampler(format="flt", layout="mono", rate=audio_rate)
                         if sound is not None and self.audio else None)
            audio_end = 0.0
            part = None
            if self.start is not None or self.end is not None:
                from scenedet.media.framepart import Part, seek_part

                part = Part(self.start, self.end, has_video=video is not None,
                            has_audio=resampler is not None)
                if part.start > 0:
                    seek_part(container, streams[0], video, origin, part.start)
            try:
                for packet in profiled.packets(container.demux(streams)):
                    if part is not None and (part.done or (packet.stream is video and part.video_done)):
                        if part.done:
                            break
                        continue
                    stage = "decode" if packet.stream is video else "audio"
                    for frame in profiled.call(stage, self._decoded, packet, tap, origin):
                        if packet.stream is video:
                            if part is not None and not part.admits(frame, origin, state):
                                continue
                            batch = (profiled.call("convert", state.add, frame) if self.sizes
                                     else state.tick(frame))
                            if batch is not None:
                                yield batch
                            if tap is not None:
                                yield from tap.video(frame)
                        else:
                            if tap is not None and tap_audio:
                                yield from tap.audio(frame)
                            if resampler is None:
                                continue
                            for chunk in _resampled(resampler, frame, origin, part):
                                audio_end = max(audio_end, chunk.start + len(chunk.samples) / chunk.rate)
                                yield chunk
                if resampler is not None:
                    for chunk in _resampled(resampler, None, origin, part):
                        audio_end = max(audio_end, chunk.start + len(chunk.samples) / chunk.rate)
                        yield chunk
            except av.FFmpegError as exc:
                raise MediaError(f"cannot decode {self.path}: {ffmpeg_reason(exc)}") from None
            batch = state.flush()
            if batch is not None:
                yield batch
            if tap is not None:
                yield from tap.finish()
            if video is not None and state.count == 0:
                if part is not None:
                    raise UsageError(f"no frame of {self.path} lies between {part.start:g} s "
                                     f"and {part.end:g} s")
                raise MediaError(f"no frame of {self.path} could be decoded")
            duration = state.end() if video is not None else audio_end
            self.info = StreamInfo(path=self.path, n_frames=state.count, fps=state.fps,
                                   duration=duration, has_video=video is not None,
                                   has_audio=sound is not None, audio_rate=audio_rate,
                                   start=float(part.first_time or 0.0) if part else 0.0,
                                   first_frame=part.first_frame if part else 0)
        finally:
            container.close()


    def _decoded(self, packet: Any, tap: Any, origin: Fraction) -> list[Any]:
        """The frames of one packet. With a per-second tap, a packet the decoder rejects is
        skipped and counted (as :mod:`scenedet.media.decode` does); else it stops the pass."""
        if tap is None:
            return packet.decode()
        import av

        try:
            return packet.decode()
        except av.FFmpegError:
            if self.damage is not None:
                ts = packet.pts if packet.pts is not None else packet.dts
                when = (None if ts is None or packet.time_base is None
                        else float(Fraction(ts) * packet.time_base - origin))
                self.damage.skipped("video" if packet.stream.type == "video" else "audio", when, ts)
            if packet.stream.type == "audio":
                tap.audio_gap()
            return []


class _VideoState:
    """Collects scaled frames into batches and keeps the clock."""

    def __init__(self, owner: MediaStream, origin: Fraction, fps: float) -> None:
        self.owner = owner
        self.origin = origin
        self.fps = fps
        self.count = 0
        self.first = 0
        self.last_time: float | None = None
        self.last_duration: float | None = None
        self.times: list[float] = []
        self.images: dict[tuple[int, int], list[np.ndarray]] = {s: [] for s in owner.sizes}
        # One reformatter per size keeps its swscale context: a fresh one per frame (what
        # ``VideoFrame.to_ndarray(width=...)`` does) costs more than the decode itself.
        from av.video.reformatter import VideoReformatter

        self.reformatters = {s: VideoReformatter() for s in owner.sizes}
        self.orientation: Any = None

    def tick(self, frame: Any) -> float:
        """Keep the clock (and the count) for one decoded frame; its film time."""
        self.count += 1
        if frame.pts is not None and frame.time_base is not None:
            t = float(Fraction(frame.pts) * frame.time_base - self.origin)
        elif self.last_time is not None:
            t = self.last_time + (1.0 / self.fps if self.fps else 0.0)
        else:
            t = 0.0
        if frame.duration and frame.time_base is not None:
            self.last_duration = float(Fraction(frame.duration) * frame.time_base)
        self.last_time = t
        return t

    def add(self, frame: Any) -> FrameBatch | None:
        self.times.append(self.tick(frame))
        if self.orientation is None:  # read once, from the first frame (as decode.py does)
            from scenedet.media.probe import frame_orientation

            self.orientation = frame_orientation(frame)
        turn = self.orientation
        for (w, h), reformatter in self.reformatters.items():
            # scaled to the stored shape that turns into (w, h) upright
            sw, sh = (h, w) if turn.transpose else (w, h)
            # threads=1: for frames this small, swscale's slice threads cost more than they save
            small = reformatter.reformat(frame, width=sw, height=sh, format="rgb24",
                                         interpolation=INTERPOLATION, threads=1)
            self.images[(w, h)].append(turn.apply(small.to_ndarray()))
        if len(self.times) >= self.owner.batch_frames:
            return self.flush()
        return None

    def flush(self) -> FrameBatch | None:
        if not self.times:
            return None
        batch = FrameBatch(index=self.first, times=np.asarray(self.times, dtype=np.float64),
                           images={s: np.stack(v) for s, v in self.images.items()})
        self.first += len(self.times)
        self.times = []
        self.images = {s: [] for s in self.owner.sizes}
        return batch

    def end(self) -> float:
        """The film's end: the last frame's time plus its duration (or one nominal frame)."""
        if self.last_time is None:
            return 0.0
        step = self.last_duration or (1.0 / self.fps if self.fps else 0.0)
        return self.last_time + step


def _origin(stream: Any) -> Fraction:
    if stream is not None and stream.start_time is not None and stream.time_base is not None:
        return Fraction(stream.start_time) * stream.time_base
    return Fraction(0)


def _nominal_fps(video: Any) -> float:
    if video is None:
        return 0.0
    for rate in (video.average_rate, video.guessed_rate, video.base_rate):
        if rate and math.isfinite(float(rate)) and float(rate) > 0:
            return float(rate)
    return 0.0


def _resampled(resampler: Any, frame: Any, origin: Fraction, part: Any = None
               ) -> Iterator[AudioChunk]:
    """Mono float chunks of one decoded audio frame (``None``: flush the resampler); with a
    ``part``, trimmed to it and on its clock."""
    for out in resampler.resample(frame):
        samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        if not len(samples):
            continue
        start = (float(Fraction(out.pts) * out.time_base - origin)
                 if out.pts is not None and out.time_base is not None else 0.0)
        if part is None:
            yield AudioChunk(start=start, rate=out.sample_rate, samples=samples)
            continue
        for at, kept in part.sound(start, out.sample_rate, samples):
            yield AudioChunk(start=at, rate=out.sample_rate, samples=kept)



def iter_frames(path: str | Path, width: int = 48, height: int = 27, *,
                batch_frames: int = 128) -> Iterator[FrameBatch]:
    """Every frame of ``path`` at ``width`` x ``height``, in batches (the picture-only case)."""
    for item in MediaStream(path, sizes=((width, height),), batch_frames=batch_frames):
        if isinstance(item, FrameBatch):
            yield item
