"""Every frame of a film, small, in one streaming pass: the time grid of frame-level detectors.

Shot cuts and technical cues need to know *which frame* something happens on, so unlike
:func:`scenedet.media.seconds.decode.iter_seconds` (one still per second) this hands over every decoded
frame, scaled in FFmpeg (``VideoFrame.to_ndarray(width=, height=)``, swscale) to each size the
detectors asked for, in batches of at most ``batch_frames``; and, when asked, the film's sound as
mono ``float32`` chunks at its own sample rate. Nothing is kept between batches, so memory is flat
with the film's length.

Numbering (PySceneDetect's): frame ``n`` is the ``n``-th frame shown, counted from 0, and times
are seconds of film time in which the first frame shown sits at 0 s
(:func:`scenedet.media.probe.film_start`, the origin every path shares, the per-second one
included). Each frame's time comes from its own timestamp, so variable frame rates stay exact,
and on a constant-rate film ``round(time * fps)`` is the frame's number: the conversion every
export makes (:func:`scenedet.outputs.timecode.seconds_to_frame`) gives back the numbers the
detector reported. Timestamps a container guessed out of order (AVI with "packed" B-frames) are
put back in order first (:class:`_Reorder`).

Damaged packets (a packet the decoder rejects) are skipped as FFmpeg's players skip them, and
counted in a :class:`~scenedet.media.damage.Damage` (given, or one warning at the end): the frame
is simply not there (the frames after it keep their own times), a damaged stretch of sound is
silence (zeros). A file cut short is the one-line :class:`MediaError` the per-second path raises
(:func:`scenedet.media.videoframes.truncation`), after the frames before the gap.

Plain audio files (WAV, FLAC, OGG; anything ``soundfile`` reads) are read with ``soundfile``, in
blocks; other files without a picture (M4A, MP3) through PyAV's audio decoder.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.errors import MediaError, UsageError
from scenedet.media import profiled

#: swscale's interpolation for the small frames: FFmpeg's own default for ``-s WxH`` (what
#: TransNetV2 was trained on), so the network sees the pixels it expects.
INTERPOLATION = "BICUBIC"
SOUNDFILE_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif")
AUDIO_BLOCK_SECONDS = 1.0
#: Frames held to put timestamps a container guessed out of order back in order (:class:`_Reorder`).
REORDER_FRAMES = 4


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
    """What one pass found: frame count, nominal rate and duration (seconds from the first
    frame shown to the end of the last), which streams, what was skipped as damaged."""

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
    #: Packets skipped as damaged (:class:`~scenedet.media.damage.Damage`; empty: none).
    damage: Any = attrs.field(default=None, eq=False)

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
    as :func:`~scenedet.media.seconds.decode.iter_seconds` applies it, so ``(width, height)`` is the
    size as displayed.

    ``seconds``: also yield the :class:`~scenedet.media.types.Second` items ``iter_seconds``
    would for this request (:mod:`scenedet.media.frames.secondtap`), from the same decode; ``film`` is
    then the film's :func:`~scenedet.media.probe.probe` (whole seconds, orientation, declared
    ends); ``use_audio=False`` gives those seconds silence.

    Damaged packets are always skipped (the module docstring) and counted in ``damage`` when one
    is given; else one :class:`~scenedet.media.damage.DamagedMediaWarning` says what was skipped
    when the pass ends. Either way :attr:`StreamInfo.damage` holds them.

    ``start``/``end`` (film seconds, not with ``seconds``): decode only that part, from the
    keyframe at or before ``start`` (:mod:`scenedet.media.frames.part`). The part is then handed
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
        from scenedet.media.frames.part import check_part

        check_part(start, end)
        self.start, self.end = start, end
        self.info: StreamInfo | None = None

    def __iter__(self) -> Iterator[FrameBatch | AudioChunk]:
        from scenedet.media.probe import check_path

        check_path(self.path)
        if (not self.sizes and self.audio and self.seconds is None and self.start is None
                and self.end is None and self.path.suffix.lower() in SOUNDFILE_SUFFIXES):
            yield from self._soundfile()
            return
        from scenedet.media.damage import Damage

        damage = self.damage if self.damage is not None else Damage()
        try:
            yield from self._pyav(damage)
        finally:
            if self.damage is None:
                damage.warn(self.path, stacklevel=1)

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
    def _pyav(self, damage: Any) -> Iterator[FrameBatch | AudioChunk]:

        from scenedet.media.probe import open_input

        container = open_input(self.path)
        try:
            video, film_video, sound, tap_audio = self._streams(container)
            streams = [s for s in (video, sound) if s is not None]
            origin = _film_origin(self.path, film_video, sound, self.film)
            fps = _nominal_fps(film_video)
            state = _VideoState(self, origin, fps)
            reorder = _Reorder(_frame_step(film_video, fps))
            tap = None
            if self.seconds is not None:
                from scenedet.media.frames.secondtap import SecondTap

                tap = SecondTap(self.film, self.seconds, video, sound if tap_audio else None,
                                damage=damage)
            audio_rate = sound.codec_context.sample_rate if sound is not None else None
            part = None
            if self.start is not None or self.end is not None:
                from scenedet.media.frames.part import Part, seek_part

                part = Part(self.start, self.end, has_video=video is not None,
                            has_audio=sound is not None and self.audio)
                if part.start > 0:
                    seek_part(container, streams[0], video, origin, part.start)
            track = _SoundTrack(sound, origin, part) if sound is not None and self.audio else None
            stopped, last_raw = yield from self._demux(
                container, streams, video, part, tap, tap_audio, track, reorder, state, origin,
                damage)
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
            if not stopped:  # the rule the per-second path (and a tap) applies
                _Declared.of(container, film_video, origin).check(
                    self.path, video_ended=video is not None and not (part and part.video_done),
                    last_pts=last_raw,
                    audio_end=(track.decoded_end if track is not None
                               and not (part and part.audio_done) else None))
            duration = state.end() if video is not None else (track.film_end if track else 0.0)
            self.info = StreamInfo(path=self.path, n_frames=state.count, fps=state.fps,
                                   duration=duration, has_video=video is not None,
                                   has_audio=sound is not None, audio_rate=audio_rate,
                                   start=float(part.first_time or 0.0) if part else 0.0,
                                   first_frame=part.first_frame if part else 0, damage=damage)
        finally:
            container.close()

    def _demux(self, container: Any, streams: list[Any], video: Any, part: Any, tap: Any,
               tap_audio: bool, track: Any, reorder: Any, state: Any, origin: Fraction,
               damage: Any) -> Iterator[FrameBatch | AudioChunk]:
        """The pass over the packets: video frames (reordered) to the batches and the tap, sound
        to its track and the tap, damaged packets skipped. Returns ``(stopped, last_raw)``:
        whether a part ended before the data did, and the last raw pts the decoder handed out."""
        import av

        from scenedet.media.probe import ffmpeg_reason

        last_raw: int | None = None  # pts of the last frame the decoder handed out
        stopped = False  # the part ended before the data did
        try:
            for packet in profiled.packets(container.demux(streams)):
                if part is not None and (part.done or (packet.stream is video and part.video_done)):
                    if part.done:
                        stopped = True
                        break
                    continue
                if packet.stream is video:
                    for frame in profiled.call("decode", _decode, packet, damage, origin) or ():
                        if frame.pts is not None or last_raw is None:
                            last_raw = frame.pts if frame.pts is not None else 0
                        else:
                            last_raw += 1
                        if tap is not None:
                            yield from tap.video(frame)
                        for held, pts in reorder.push(frame):
                            yield from self._frame(state, part, origin, held, pts)
                    continue
                frames = profiled.call("audio", _decode, packet, damage, origin)
                if frames is None:  # skipped: its time is silence
                    if tap is not None:
                        tap.audio_gap()
                    if track is not None:
                        track.skipped(packet)
                    continue
                for frame in frames:
                    if tap is not None and tap_audio:
                        yield from tap.audio(frame)
                    if track is not None:
                        yield from profiled.call("audio", track.frame, frame)
            for held, pts in reorder.drain():
                yield from self._frame(state, part, origin, held, pts)
            if track is not None:
                yield from track.finish()
        except av.FFmpegError as exc:
            raise MediaError(f"cannot decode {self.path}: {ffmpeg_reason(exc)}") from None
        return stopped, last_raw

    def _streams(self, container: Any) -> tuple[Any, Any, Any, bool]:
        """``(video, film_video, sound, tap_audio)``: the streams this pass decodes (``video``
        None when no picture is wanted; ``film_video`` the film's clock all the same), and
        whether the per-second tap takes the sound."""
        from scenedet.media.probe import (_check_index_within_file, film_audio_stream,
                                          film_video_stream)

        tap_audio = (self.seconds is not None and self.seconds.audio and self.use_audio
                     and self.film.has_audio)
        video = film_video_stream(container)
        if (self.sizes or self.seconds) and video is None:
            raise MediaError(f"no video stream in {self.path}")
        if video is not None:
            _check_index_within_file(self.path, video)  # as probe: cut short, one line
        film_video = video
        if not (self.sizes or self.seconds):
            video = None
        sound = film_audio_stream(container) if self.audio or tap_audio else None
        if video is None and sound is None:
            raise MediaError(f"no audio stream in {self.path}")
        if video is not None:
            video.thread_type = "AUTO"
            if self.seconds is None and self.sizes and cheap_decode_for(self.sizes):
                video.codec_context.options = dict(CHEAP_DECODE)
        return video, film_video, sound, bool(tap_audio)

    def _frame(self, state: _VideoState, part: Any, origin: Fraction, frame: Any,
               pts: int | None) -> Iterator[FrameBatch]:
        """One frame in presentation order, with its (reordered) timestamp, to the batches."""
        if part is not None and not part.admits(pts, frame.time_base, origin, state.clock):
            return
        batch = profiled.call("convert", state.add, frame, pts) if self.sizes \
            else state.tick(frame, pts)
        if batch is not None:
            yield batch


#: FFmpeg decoder options for a pass whose every picture is small (:func:`cheap_decode_for`).
#: Empty: the exact decode. Skipping the in-loop deblocking filter (``{"skip_loop_filter":
#: "all"}``) decodes a few per cent faster but moved TransNetV2's probabilities by up to 0.06 on
#: the real test film and changed its cuts (docs/performance.md, "Decode for the small frame
#: path"), so it is not used; the hook stays for a decoder option that keeps the results.
CHEAP_DECODE: dict[str, str] = {}
#: Largest width of a "small" picture (shots 48x27, the cues 64x36).
SMALL_WIDTH = 160


def cheap_decode_for(sizes: Sequence[tuple[int, int]]) -> bool:
    """Whether a frame pass asking for ``sizes`` may decode cheaply: every size small, so that
    the deblocking filter's few-pixel smoothing is averaged away by the scaling."""
    return bool(CHEAP_DECODE) and all(w <= SMALL_WIDTH for w, _h in sizes)


def _decode(packet: Any, damage: Any, origin: Fraction) -> list[Any] | None:
    """The frames of one packet; None for a packet the decoder rejects (damaged: skipped, as
    FFmpeg's players skip it, and counted in ``damage``, keyed by its timestamp)."""
    import av

    try:
        return packet.decode()
    except av.FFmpegError:
        ts = packet.pts if packet.pts is not None else packet.dts
        when = (None if ts is None or packet.time_base is None
                else float(Fraction(ts) * packet.time_base - origin))
        damage.skipped("video" if packet.stream.type == "video" else "audio", when, ts)
        return None


def _film_origin(path: Path, video: Any, sound: Any, film: Any) -> Fraction:
    """Film time 0 in stream seconds: the first frame's presentation time (the probe's when
    given, else :func:`~scenedet.media.probe.film_start_of`); a file without pictures: its
    sound's start."""
    if video is None or video.time_base is None:
        return _origin(sound)
    if film is not None:
        return Fraction(film.start_pts) * video.time_base
    from scenedet.media.probe import film_start_of

    start, time_base = film_start_of(path)
    return Fraction(start) * time_base


def _frame_step(video: Any, fps: float) -> int | None:
    """One nominal frame in ``video``'s time base (None: unknown)."""
    if video is None or video.time_base is None or fps <= 0:
        return None
    return max(1, round(1 / (Fraction(fps) * Fraction(video.time_base))))


class _Reorder:
    """Presentation timestamps for frames in the order the decoder hands them out.

    Decoders hand frames out in presentation order, each with the timestamp of the packet it
    came from. A container without presentation timestamps (AVI) has them guessed by the
    demuxer, and with DivX/XviD "packed" B-frames the guess swaps a P-frame's with the B-frame's
    shown before it: 1, 2, 3, 5, 4, 6, 8, 7 (``Megamind.avi``), times that run backwards and a
    frame number that no longer matches its time. Each frame here gets the smallest timestamp
    not yet given out among itself and the next :data:`REORDER_FRAMES` frames: 1, 2, 3, 4, ...;
    where timestamps already rise (every MP4, MKV and MPEG-TS) nothing changes. A jump backwards
    further than that window (a timestamp reset) is left as it is. Holds at most
    ``REORDER_FRAMES + 1`` decoded frames.
    """

    def __init__(self, step: int | None, window: int = REORDER_FRAMES) -> None:
        self.step, self.window = step, window
        self.pending: deque[Any] = deque()
        self.heap: list[int] = []

    def push(self, frame: Any) -> list[tuple[Any, int | None]]:
        out = []
        pts = frame.pts
        if (pts is not None and self.heap and self.step is not None
                and pts < self.heap[0] - self.window * self.step):
            out = self.drain()  # a reset, not a reordering: the frames before it go out as they are
        self.pending.append(frame)
        if pts is not None:
            heapq.heappush(self.heap, pts)
        while len(self.pending) > self.window:
            out.append(self._pop())
        return out

    def drain(self) -> list[tuple[Any, int | None]]:
        return [self._pop() for _ in range(len(self.pending))]

    def _pop(self) -> tuple[Any, int | None]:
        frame = self.pending.popleft()
        return frame, (None if frame.pts is None else heapq.heappop(self.heap))


class _Ticker:
    """The frame path's clock: each frame's film time from its timestamp (``origin``: film time
    0 in stream seconds), or one nominal frame after the previous one when it has none."""

    def __init__(self, fps: float, origin: Fraction) -> None:
        self.fps = fps
        self.origin = origin
        self.count = 0
        self.last_time: float | None = None
        self.last_duration: float | None = None

    def tick(self, pts: int | None, time_base: Any, duration: int | None) -> float:
        self.count += 1
        if pts is not None and time_base is not None:
            t = float(Fraction(pts) * time_base - self.origin)
        elif self.last_time is not None:
            t = self.last_time + (1.0 / self.fps if self.fps else 0.0)
        else:
            t = 0.0
        if duration and time_base is not None:
            self.last_duration = float(Fraction(duration) * time_base)
        self.last_time = t
        return t

    def end(self) -> float:
        """The film's end: the last frame's time plus its duration (or one nominal frame)."""
        if self.last_time is None:
            return 0.0
        step = self.last_duration or (1.0 / self.fps if self.fps else 0.0)
        return self.last_time + step


class _Pictures:
    """Decoded frames scaled (swscale) to each wanted size, upright, collected until taken."""

    def __init__(self, sizes: tuple[tuple[int, int], ...]) -> None:
        self.sizes = sizes
        self.images: dict[tuple[int, int], list[np.ndarray]] = {s: [] for s in sizes}
        # One reformatter per size keeps its swscale context: a fresh one per frame (what
        # ``VideoFrame.to_ndarray(width=...)`` does) costs more than the decode itself.
        from av.video.reformatter import VideoReformatter

        self.reformatters = {s: VideoReformatter() for s in sizes}
        self.orientation: Any = None

    def add(self, frame: Any) -> None:
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

    def take(self) -> dict[tuple[int, int], np.ndarray]:
        out = {s: np.stack(v) for s, v in self.images.items()}
        self.images = {s: [] for s in self.sizes}
        return out


class _VideoState:
    """Collects scaled frames into batches and keeps the clock."""

    def __init__(self, owner: Any, origin: Fraction, fps: float) -> None:
        self.owner = owner
        self.clock = _Ticker(fps, origin)
        self.first = 0
        self.times: list[float] = []
        self.pictures = _Pictures(owner.sizes)

    @property
    def count(self) -> int:
        return self.clock.count

    @property
    def fps(self) -> float:
        return self.clock.fps

    @property
    def last_duration(self) -> float | None:
        return self.clock.last_duration

    def tick(self, frame: Any, pts: int | None) -> None:
        """Keep the clock (and the count) for a frame no picture is wanted of."""
        self.clock.tick(pts, frame.time_base, frame.duration)

    def add(self, frame: Any, pts: int | None) -> FrameBatch | None:
        self.times.append(self.clock.tick(pts, frame.time_base, frame.duration))
        self.pictures.add(frame)
        if len(self.times) >= self.owner.batch_frames:
            return self.flush()
        return None

    def flush(self) -> FrameBatch | None:
        if not self.times:
            return None
        batch = FrameBatch(index=self.first, times=np.asarray(self.times, dtype=np.float64),
                           images=self.pictures.take())
        self.first += len(self.times)
        self.times = []
        return batch

    def end(self) -> float:
        return self.clock.end()


class _SoundTrack:
    """The sound as frame-level detectors get it: mono ``float32`` at its own rate, each chunk
    placed on film time (``origin``: film time 0 in stream seconds), trimmed to ``part``.

    A packet the decoder rejected (:meth:`skipped`) leaves a hole: the chunk after it starts at
    its own time and the hole in between is handed out as silence (zeros), as the per-second
    path fills it, so a detector that reads the sound as one signal stays on time.
    """

    def __init__(self, stream: Any, origin: Fraction, part: Any = None) -> None:
        import av

        self.rate = stream.codec_context.sample_rate
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=self.rate)
        self.origin, self.part = origin, part
        self.end: Fraction | None = None  # stream time where the sound handed out ends
        self.hole: Fraction | None = None  # silence from here to the next sound (stream time)
        self.hole_end: Fraction | None = None  # where the last skipped packet ended
        self.decoded_end: float | None = None  # film time where the decoded sound ends
        self.film_end = 0.0  # film time where the chunks handed out end

    def skipped(self, packet: Any) -> None:
        at = (None if packet.pts is None or packet.time_base is None
              else Fraction(packet.pts) * packet.time_base)
        if self.hole is None:
            self.hole = self.end if self.end is not None else at
        if at is not None:
            stop = at + Fraction(packet.duration or 0) * packet.time_base
            self.hole_end = stop if self.hole_end is None else max(self.hole_end, stop)

    def frame(self, frame: Any) -> list[AudioChunk]:
        if frame.pts is not None and frame.time_base is not None:
            self.decoded_end = float(Fraction(frame.pts) * frame.time_base - self.origin
                                     + Fraction(frame.samples, frame.sample_rate))
        return [c for out in self.resampler.resample(frame) for c in self._place(out)]

    def finish(self) -> list[AudioChunk]:
        """The resampler's last samples, and silence for damage at the very end."""
        chunks = [c for out in self.resampler.resample(None) for c in self._place(out)]
        if self.hole is not None and self.hole_end is not None and self.hole_end > self.hole:
            chunks.extend(self._silence(self.hole, self.hole_end))
        self.hole = None
        return chunks

    def _place(self, out: Any) -> list[AudioChunk]:
        samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        if not len(samples):
            return []
        at = (Fraction(out.pts) * out.time_base if out.pts is not None and out.time_base is not None
              else self.end if self.end is not None else self.origin)
        chunks = []
        if self.hole is not None:
            if at > self.hole:
                chunks.extend(self._silence(self.hole, at))
            self.hole = self.hole_end = None
        chunks.extend(self._chunks(float(at - self.origin), out.sample_rate, samples))
        self.end = at + Fraction(len(samples), out.sample_rate)
        return chunks

    def _silence(self, begin: Fraction, stop: Fraction) -> list[AudioChunk]:
        n = round((stop - begin) * self.rate)
        if n <= 0:
            return []
        return self._chunks(float(begin - self.origin), self.rate, np.zeros(n, np.float32))

    def _chunks(self, start: float, rate: int, samples: np.ndarray) -> list[AudioChunk]:
        if self.part is None:
            kept = [(start, samples)]
        else:
            kept = self.part.sound(start, rate, samples)
        out = [AudioChunk(start=at, rate=rate, samples=data) for at, data in kept]
        for chunk in out:
            self.film_end = max(self.film_end, chunk.start + len(chunk.samples) / rate)
        return out


@attrs.frozen
class _Declared:
    """What a film's header says about where its streams end (film time), for the rule that
    tells a file cut short from a complete one (:func:`scenedet.media.videoframes.truncation`),
    read as :func:`~scenedet.media.probe.probe` reads it, so both decode paths judge alike."""

    video_end: float | None = None
    video_end_is_stream: bool = False
    fps: float = 0.0
    n_seconds: int = 0
    audio_end: float | None = None
    start_pts: int = 0
    time_base: Fraction = Fraction(1)

    @classmethod
    def of(cls, container: Any, video: Any, origin: Fraction) -> _Declared:
        """From an open ``container`` (its header; no packet is read) whose film time 0 is
        ``origin`` (stream seconds)."""
        from scenedet.media.probe import (_audio_end, _film_duration, _fps, _video_end,
                                          film_audio_stream, whole_seconds)

        start = float(origin)
        sound = film_audio_stream(container)
        audio_end = _audio_end(sound, start)
        if video is None or video.time_base is None:
            return cls(audio_end=audio_end)
        video_end, is_stream = _video_end(container, video, start)
        # declared somewhere, so probe's fallback (a scan of the packets) is never needed
        duration = _film_duration(container, video, sound, start, None) \
            if video_end is not None else 0.0  # type: ignore[arg-type]
        return cls(video_end=video_end, video_end_is_stream=is_stream,
                   fps=_fps(video, duration), n_seconds=whole_seconds(duration),
                   audio_end=audio_end, start_pts=int(origin / Fraction(video.time_base)),
                   time_base=Fraction(video.time_base))

    def check(self, path: Path, *, video_ended: bool, last_pts: int | None,
              audio_end: float | None) -> None:
        """Raise the per-second path's :class:`MediaError` for a file cut short: its video data
        (``video_ended``: read to its end; ``last_pts``: of the last frame the decoder handed
        out, None: none) ends before the last whole second and well before the declared end, or
        its sound (``audio_end``, film time; None: not read to its end) well before the sound's
        declared end."""
        from scenedet.media.audio import TRUNCATION_TOLERANCE
        from scenedet.media.videoframes import truncation

        if video_ended and self.video_end is not None:
            shown = None if last_pts is None else (last_pts - self.start_pts) * self.time_base
            if shown is None or shown <= self.n_seconds:  # as iter_seconds: a whole second lacks its frames
                message = truncation(path, None if shown is None else float(shown),
                                     video_end=self.video_end,
                                     video_end_is_stream=self.video_end_is_stream, fps=self.fps)
                if message is not None:
                    raise MediaError(message)
        if (audio_end is not None and self.audio_end is not None
                and audio_end + TRUNCATION_TOLERANCE < self.audio_end):
            raise MediaError(f"cannot decode {path}: truncated file, the audio stops at "
                             f"{audio_end:.1f} s of {self.audio_end:.1f} s")


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


def iter_frames(path: str | Path, width: int = 48, height: int = 27, *,
                batch_frames: int = 128) -> Iterator[FrameBatch]:
    """Every frame of ``path`` at ``width`` x ``height``, in batches (the picture-only case)."""
    for item in MediaStream(path, sizes=((width, height),), batch_frames=batch_frames):
        if isinstance(item, FrameBatch):
            yield item
