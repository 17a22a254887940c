"""Stream a film as whole seconds: the frames shown at each second's end, and its 16 kHz audio.

:func:`iter_seconds` yields one :class:`~scenedet.media.types.Second` per whole second, in order,
``n_seconds`` of them for a whole film (:mod:`scenedet.media.probe`). Second ``k`` covers film
time ``[k, k + 1)``; its still is the last frame whose timestamp is at or before ``k + 1`` s (a
frame stamped exactly ``k + 1`` s is shown at that instant and counts), compared exactly in the
stream's time base, so variable frame rates and 29.97 fps need no special case. A second in which
no new frame appears repeats the frame still on screen. Before the first frame (a video stream
whose first frame comes late) the still is black.

Two strategies give identical frames (tested):

* ``"seek"``: for each second, seek to the keyframe before its end and decode forward to the
  last frame at or before it. Cheap when keyframes are dense, since a second then costs a few
  frames. It never decodes a frame twice: when the keyframe before the next target is not past
  the decoder's position it keeps decoding instead of seeking, and a second with no new frame
  reuses the previous answer. Seeking is on the container's index (MP4 indexes by decode time,
  so with B-frames a keyframe can sort before a target it is displayed after): when the first
  frame after a seek is later than needed, it seeks a second further back and tries again.
* ``"sequential"``: decode straight through with frame threading (``thread_type="AUTO"``) and
  convert to RGB only the frames that are kept. Wins with long GOPs, where each seek would
  decode on average half a GOP. ``skip_loop_filter=True`` also skips H.264/HEVC deblocking:
  11-19 % faster in ``benchmarks/decode.py``, but the pictures are then NOT the encoder's
  (blocking, and drift until the next keyframe since reference frames are unfiltered): stills
  off by 0.5-1.3 grey levels on average, PSNR down to 36.5 dB with 10 s GOPs. Acceptable for a
  classifier looking at a 224x224 crop, but it breaks exactness and the two strategies'
  agreement, so it is off by default and never chosen by ``"auto"``.

``"auto"`` takes the probe's choice (seek when keyframes are at most ~1 s apart, see
:data:`scenedet.media.probe.SEEK_MAX_KEYFRAME_INTERVAL`) for stills, and sequential for clips
(``request.frames > 1``), where a second needs most of its frames decoded anyway.

Memory is bounded whatever the film's length: a window of ``request.frames`` decoded frames,
the current second of audio, and compressed packets of one stream while the other catches up (at
most :data:`STASH_LIMIT` bytes; past that the lagging stream gets its own reader, see
:class:`_SharedDemux`). ``scenedet.inference.stream.prefetch`` runs this iterator on a thread ahead of
inference, through a bounded queue, so decoding overlaps the models.

Audio and video come from one demux pass (``"sequential"``). With ``"seek"``, audio is read by a
second demuxer of the same file, sequentially: the video demuxer jumps around, and audio decoded
from seek points would restart the AAC decoder and the resampler every second (seams, priming).
The second demuxer reads only the audio packets (MP4 skips the others' bytes), so it is cheap.

Truncated files: an MP4 cut before its index (``moov`` at the end, FFmpeg's default) fails to
open; one whose index points past the end of the file fails in :func:`probe`; any other (an MKV
cut in half) is found when the video data ends before the stream's declared end: then
:class:`MediaError` ("truncated file, the video stops at 4.9 s of 10.0 s"), raised when the
decoder reaches the gap, after the seconds before it were yielded. A clear error, not seconds that
silently repeat the last frame: a caller that writes output must write it atomically (the CLI
does). Corrupt packets that FFmpeg's decoders reject are skipped, as FFmpeg's players do, and
counted (:mod:`scenedet.media.damage`): their seconds get silence, or the previous still;
corruption a decoder conceals silently is not detectable here. An error that does stop decoding
says at which second.

Rotation: frames are turned upright by the display matrix FFmpeg attaches to decoded frames
(:class:`scenedet.media.probe.Orientation`), read once from the film's first frame.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from fractions import Fraction
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np

from scenedet.errors import MediaError
from scenedet.media.audio import audio_seconds, silence, warn_no_audio
from scenedet.media.damage import Damage
from scenedet.media.probe import (FilmInfo, Strategy, ffmpeg_reason, film_audio_stream, film_video_stream,
                    open_input, probe)
from scenedet.media.types import MediaRequest, Second

if TYPE_CHECKING:
    import av
    import av.container
    import av.stream
    import av.video.frame

#: Compressed packets of one stream held while the other stream is read (bytes). A badly
#: interleaved file (all audio at the end) would otherwise hold the whole film in memory.
STASH_LIMIT = 32 * 1024 * 1024

#: Audio decoded before the first requested second, so the AAC decoder and the resampler have
#: settled when ``start_second > 0`` (seconds).
AUDIO_PREROLL = 1.0

#: Video may stop this much before the declared end of its stream (seconds) before the file is
#: called truncated, plus one frame. Larger when only the container's duration is known, since
#: that covers the audio too and a video track can legitimately be a little shorter.
TRUNCATION_TOLERANCE = 0.5
CONTAINER_TRUNCATION_TOLERANCE = 2.0

#: Decoder threading while seeking: a few frames per seek, so frame threads (which must fill
#: and drain a pipeline of one frame per thread around every seek) only add latency: 12-14 %
#: slower than slice threads with 1-2 s GOPs in ``benchmarks/decode.py``.
SEEK_THREAD_TYPE = "SLICE"

#: Seek retries when the first frame after a seek is later than needed (index by decode time).
_SEEK_RETRIES = 6

StrategyArg = Literal["auto", "seek", "sequential"]


def iter_seconds(path: str | Path, request: MediaRequest, *, strategy: StrategyArg = "auto",
                 start_second: int = 0, stop_second: int | None = None,
                 skip_loop_filter: bool = False, damage: Damage | None = None,
                 use_audio: bool = True) -> Iterator[Second]:
    """Seconds ``start_second .. stop_second - 1`` of a film (default: all ``n_seconds``).

    The film is probed now (bad input raises :class:`MediaError` before anything is yielded, and
    a film without audio warns once, :class:`~scenedet.media.audio.NoAudioWarning`, when audio is
    requested); decoding happens as the iterator is consumed. Close the iterator (or exhaust it)
    to release the file. ``skip_loop_filter`` trades exactness for speed in the sequential
    strategy (module docstring); "seek" ignores it, since it decodes few frames per second.

    Damaged packets are skipped (:mod:`scenedet.media.damage`): counted in ``damage`` when one is
    given (the caller reports them), else warned about once, when the iteration ends.
    ``use_audio=False`` ignores the film's audio track: every second's audio is silence, with no
    warning (the caller asked for it).
    """
    if strategy not in ("auto", "seek", "sequential"):
        raise ValueError(f"unknown decode strategy {strategy!r}: auto, seek or sequential")
    if start_second < 0:
        raise ValueError(f"start_second must be >= 0, got {start_second}")
    info = probe(path)
    stop = info.n_seconds if stop_second is None else max(0, min(stop_second, info.n_seconds))
    chosen = resolve_strategy(strategy, info, request)
    if not use_audio:
        info = attrs.evolve(info, has_audio=False)
    elif request.audio and not info.has_audio:
        warn_no_audio(info.path, stacklevel=2)
    return _stream(info, request, chosen, start_second, stop, skip_loop_filter, damage)


def resolve_strategy(strategy: StrategyArg, info: FilmInfo, request: MediaRequest) -> Strategy:
    """The strategy "auto" stands for with this film and request (see the module docstring)."""
    if strategy != "auto":
        return strategy
    return info.strategy if request.frames <= 1 else "sequential"


# --- the decoding itself ---------------------------------------------------------------------


@attrs.define(slots=True)
class _Held:
    """A decoded frame kept for the window; converted to RGB at most once, when first handed out."""

    pts: int
    frame: Any
    rgb: np.ndarray | None = None

    def array(self, info: FilmInfo) -> np.ndarray:
        if self.rgb is None:
            self.rgb = info.orientation.apply(self.frame.to_ndarray(format="rgb24"))
            self.frame = None  # give the decoder its buffer back
        return self.rgb


class _StartedTooLate(Exception):
    """The first clip after a seek is short of frames that exist: seek further back."""


def _stream(info: FilmInfo, request: MediaRequest, strategy: Strategy, start: int, stop: int,
            skip_loop_filter: bool, damage: Damage | None) -> Iterator[Second]:
    """:func:`_run`, retried from further back when a clip at ``start`` came out short."""
    import av

    if start >= stop:
        return
    report = damage is None
    damage = Damage() if damage is None else damage
    seek_time = _preroll_time(start, request, info) if start > 0 else None
    at = start  # the second being decoded, for errors
    try:
        for attempt in range(_SEEK_RETRIES):
            try:
                for second in _run(info, request, strategy, start, stop, skip_loop_filter,
                                   seek_time, damage):
                    yield second
                    at = second.index + 1
                return
            except _StartedTooLate:  # raised before the first second was yielded
                assert seek_time is not None
                seek_time = seek_time - 2.0 ** attempt
                seek_time = seek_time if seek_time > 0 else None
        for second in _run(info, request, strategy, start, stop, skip_loop_filter, None, damage):
            yield second
            at = second.index + 1
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {info.path} at {at} s: {ffmpeg_reason(exc)}") from None
    finally:
        if report:
            damage.warn(info.path, stacklevel=1)


def _run(info: FilmInfo, request: MediaRequest, strategy: Strategy, start: int, stop: int,
         skip_loop_filter: bool, seek_time: float | None, damage: Damage) -> Iterator[Second]:
    """Open the film, set up the video and audio paths of the strategy, yield the seconds."""
    import av

    with ExitStack() as stack:
        container = open_input(info.path)
        stack.callback(container.close)
        video = film_video_stream(container)
        assert video is not None  # probe checked
        audio = film_audio_stream(container) if request.audio and info.has_audio else None
        wanted = [s for s in (video if request.frames > 0 else None, audio) if s is not None]
        clock = _Clock(video, info)
        clock.damage = damage
        audio_packets: Iterable[av.Packet] = ()
        if request.frames > 0 and strategy == "seek":
            _discard_others(container, [video])  # audio has a demuxer of its own (docstring)
            video.thread_type = SEEK_THREAD_TYPE
            windows = _seek_windows(container, video, clock, info, request.frames, start, stop)
            if audio is not None:
                own = _own_packets(info.path, audio.index, clock.origin, seek_time, None)
                stack.callback(own.close)
                audio_packets = own
        else:
            _discard_others(container, wanted)
            if request.frames > 0:
                video.thread_type = "AUTO"
                if skip_loop_filter:
                    video.codec_context.options = {"skip_loop_filter": "all"}
            if seek_time is not None and wanted:
                _seek(container, wanted[0], clock.origin + Fraction(seek_time))
            demux = _SharedDemux(info.path, container, wanted, clock.origin, seek_time)
            stack.callback(demux.close)
            windows = (_sequential_windows(demux.packets(video), video.codec_context, clock,
                                           info, request.frames, start, stop,
                                           sought=seek_time is not None)
                       if request.frames > 0 else repeat(()))
            if audio is not None:
                audio_packets = demux.packets(audio)
        sounds = _sounds(request, info, audio, audio_packets, clock, start)
        for k in range(start, stop):
            yield Second(index=k, frames=next(windows), audio=next(sounds))


def _sounds(request: MediaRequest, info: FilmInfo, audio: av.stream.Stream | None,
            packets: Iterable[av.Packet], clock: _Clock, start: int) -> Iterator[np.ndarray | None]:
    if not request.audio:
        return repeat(None)
    if audio is None:
        return (silence() for _ in repeat(None))
    return audio_seconds(packets, audio.codec_context, origin=clock.origin, first_second=start,
                         path=info.path, declared_end=info.audio_end, damage=clock.damage)


def _discard_others(container: av.container.InputContainer, wanted: list[av.stream.Stream]) -> None:
    """Tell the demuxer to skip streams nobody reads (MP4 then does not even read their bytes)."""
    from av.stream import Discard

    keep = {s.index for s in wanted}
    for stream in container.streams:
        if stream.index not in keep:
            stream.discard = Discard.all


def _preroll_time(start: int, request: MediaRequest, info: FilmInfo) -> float:
    """Film time to seek to before ``start``: room for the clip and the audio pre-roll."""
    clip = (request.frames + 1) / info.fps if info.fps > 0 else 1.0
    return max(0.0, start - max(clip, AUDIO_PREROLL if request.audio else 0.0))


@attrs.define
class _Clock:
    """Film time in the video stream's time base: the pts limit of each second, frame times."""

    time_base: Fraction
    start_pts: int
    origin: Fraction  # film time 0, in seconds of stream time
    frame_pts: Fraction  # one frame, in pts (for tolerances)
    damage: Damage | None  # where skipped packets are counted

    def __init__(self, video: av.stream.Stream, info: FilmInfo) -> None:
        self.time_base = Fraction(video.time_base)
        self.start_pts = video.start_time or 0
        self.origin = self.start_pts * self.time_base
        self.frame_pts = (Fraction(1) / Fraction(info.fps).limit_denominator(100_000)
                          / self.time_base) if info.fps > 0 else Fraction(0)
        self.damage = None

    def end_pts(self, k: int) -> int:
        """The largest pts shown at or before the end of second ``k`` (film time ``k + 1``)."""
        return self.start_pts + math.floor(Fraction(k + 1) / self.time_base)

    def film_time(self, pts: int) -> float:
        return float((pts - self.start_pts) * self.time_base)


def _decode_video(packets: Iterable[av.Packet], decoder: av.CodecContext,
                  clock: _Clock) -> Iterator[_Held]:
    """Decoded frames in presentation order, each with a pts (made up if the file has none).

    A packet the decoder rejects is skipped and counted (the still stays the previous frame).
    """
    import av

    last = None
    for packet in packets:
        try:
            frames = decoder.decode(packet)
        except av.FFmpegError:
            if clock.damage is not None:
                ts = packet.pts if packet.pts is not None else packet.dts
                clock.damage.skipped("video", None if ts is None else clock.film_time(ts), ts)
            continue
        for frame in frames:
            pts = frame.pts
            if pts is None:
                pts = 0 if last is None else last + 1
            last = pts
            yield _Held(pts, frame)


def _window_arrays(window: deque[_Held], info: FilmInfo) -> tuple[np.ndarray, ...]:
    if not window:  # nothing shown yet: black
        return (np.zeros((info.height, info.width, 3), dtype=np.uint8),)
    return tuple(held.array(info) for held in window)


def _check_complete(info: FilmInfo, clock: _Clock, last: _Held | None) -> None:
    """At the end of the video data: a file cut short is an error, not repeated frames."""
    if info.video_end is None:
        return
    tolerance = TRUNCATION_TOLERANCE if info.video_end_is_stream else CONTAINER_TRUNCATION_TOLERANCE
    tolerance += 1.0 / info.fps if info.fps > 0 else 0.0
    if last is None:
        raise MediaError(f"cannot decode {info.path}: truncated file, no video data where its "
                         f"header says there is (up to {info.video_end:.1f} s)")
    shown = clock.film_time(last.pts)
    if shown + tolerance < info.video_end:
        raise MediaError(f"cannot decode {info.path}: truncated file, the video stops at "
                         f"{shown:.1f} s of {info.video_end:.1f} s")


def _sequential_windows(packets: Iterable[av.Packet], decoder: av.CodecContext, clock: _Clock,
                        info: FilmInfo, n_frames: int, start: int, stop: int, *, sought: bool
                        ) -> Iterator[tuple[np.ndarray, ...]]:
    """Decode straight through; after each second's end, hand out the window of last frames.

    ``sought``: decoding starts from a seek, so the first window may lack frames that precede
    the keyframe sought to (a clip reaching back further than the average frame rate says);
    then :class:`_StartedTooLate` asks for an earlier start.
    """
    window: deque[_Held] = deque(maxlen=n_frames)
    k = start
    last: _Held | None = None
    first: _Held | None = None
    for held in _decode_video(packets, decoder, clock):
        first = first or held
        while held.pts > clock.end_pts(k):
            if (k == start and sought and len(window) < n_frames
                    and (first is None or first.pts > clock.start_pts)):
                raise _StartedTooLate
            yield _window_arrays(window, info)
            k += 1
            if k >= stop:
                return
        window.append(held)
        last = held
    _check_complete(info, clock, last)
    while True:
        yield _window_arrays(window, info)


def _seek(container: av.container.InputContainer, stream: av.stream.Stream, when: Fraction) -> None:
    """Seek ``stream`` to the keyframe at or before ``when`` (seconds of stream time)."""
    container.seek(max(0, math.floor(when / stream.time_base)), stream=stream, backward=True)


def _seek_windows(container: av.container.InputContainer, video: av.stream.Stream, clock: _Clock,
                  info: FilmInfo, n_frames: int, start: int, stop: int
                  ) -> Iterator[tuple[np.ndarray, ...]]:
    """Per second: seek near its end (or keep decoding if that is cheaper), decode to the end."""
    seeker = _Seeker(container, video, clock, info, n_frames)
    for k in range(start, stop):
        seeker.advance_to(clock.end_pts(k))
        yield _window_arrays(seeker.window, info)


class _Seeker:
    """The "seek" strategy's state: the decoder's position and the frames shown last."""

    def __init__(self, container: av.container.InputContainer, video: av.stream.Stream,
                 clock: _Clock, info: FilmInfo, n_frames: int) -> None:
        self.container, self.video, self.clock, self.info = container, video, clock, info
        self.n_frames = n_frames
        self.window: deque[_Held] = deque(maxlen=n_frames)
        self._span = math.ceil((n_frames - 1) * clock.frame_pts)  # how far back a clip reaches
        self._frames: Iterator[_Held] | None = None
        self._pending: _Held | None = None  # first decoded frame after the previous target
        self._eof = False
        self._from_start = False  # the last seek went to the start of the stream
        self._last: _Held | None = None

    def advance_to(self, target: int) -> None:
        """Make ``window`` the last frames with pts <= ``target``."""
        if self._frames is not None and (
                self._eof or (self._pending is not None and self._pending.pts > target)):
            return  # nothing new shown since the previous target: the window stands
        need_from = target - self._span
        if (self._frames is None or self._pending is None
                or not _keep_decoding(self.video, self.info, need_from, self._pending.pts)):
            self._seek(need_from)
        self._decode_to(target)
        for _ in range(_SEEK_RETRIES):
            if len(self.window) >= self.n_frames or self._from_start or not self.window:
                break
            # A clip reaching further back than the average frame rate says (variable rate):
            # seek again, before the earliest frame we have, until the window is full.
            missing = self.n_frames - len(self.window)
            self._seek(self.window[0].pts - 1 - math.ceil(2 * missing * self.clock.frame_pts))
            self._decode_to(target)

    def _seek(self, need_from: int) -> None:
        if self._frames is not None:
            self._frames.close()
        self._frames, self._pending, self._from_start = _seek_for(
            self.container, self.video, self.clock, need_from)
        self._eof = False
        self.window.clear()

    def _decode_to(self, target: int) -> None:
        assert self._frames is not None
        while True:
            if self._pending is None:
                self._pending = next(self._frames, None)
                if self._pending is None:
                    self._eof = True
                    _check_complete(self.info, self.clock, self._last)
                    return
            if self._pending.pts > target:
                return
            self.window.append(self._pending)
            self._last, self._pending = self._pending, None


def _seek_for(container: av.container.InputContainer, video: av.stream.Stream, clock: _Clock,
              need_from: int) -> tuple[Iterator[_Held], _Held | None, bool]:
    """Seek so that decoding starts at or before pts ``need_from``.

    Returns (frames, first frame, whether the seek went to the start of the stream). Backs off
    a second at a time when the container's index put the keyframe after the target (an index
    by decode time with B-frames), and stops at the start of the stream.
    """
    decoder = video.codec_context
    back = 0
    step = math.ceil(Fraction(1) / clock.time_base)
    for _ in range(_SEEK_RETRIES):
        at = max(clock.start_pts, need_from - back)
        container.seek(at, stream=video, backward=True)
        frames = _decode_video(container.demux(video), decoder, clock)
        first = next(frames, None)
        if first is None or first.pts <= need_from or at <= clock.start_pts:
            return frames, first, at <= clock.start_pts
        frames.close()
        back += step
    container.seek(clock.start_pts, stream=video, backward=True)
    frames = _decode_video(container.demux(video), decoder, clock)
    return frames, next(frames, None), True


def _keep_decoding(video: av.stream.Stream, info: FilmInfo, need_from: int, position: int) -> bool:
    """Whether decoding on from ``position`` is no more work than seeking for ``need_from``.

    It is when the keyframe a seek would land on is not after the decoder's position: the seek
    would only decode the same frames again. Without an index, decode on across less than one
    keyframe interval.
    """
    if need_from <= position:
        return True
    try:
        entries = video.index_entries  # type: ignore[attr-defined]
        i = entries.search_timestamp(need_from, backward=True)
        if i >= 0:
            return entries[i].timestamp <= position
    except (AttributeError, TypeError, IndexError):
        pass
    if info.keyframe_interval is None:
        return False
    return (need_from - position) * video.time_base < info.keyframe_interval


# --- packets of two streams from one demux pass ------------------------------------------------


class _SharedDemux:
    """One pass over a container, read by one consumer per stream, each at its own pace.

    A consumer that pulls past packets of the other stream stashes them (compressed: ~1 s of
    interleaving is typically kilobytes of audio or a megabyte of video). If the stash passes
    :data:`STASH_LIMIT` (a file with its audio far from its video), that stream is detached: its
    consumer gets a demuxer of its own on the same file, resuming after the last packet it got,
    and this pass drops its packets from then on. Memory stays bounded either way.
    """

    def __init__(self, path: Path, container: av.container.InputContainer,
                 streams: list[av.stream.Stream], origin: Fraction, seek_time: float | None) -> None:
        self._path = path
        self._demux = container.demux(*streams) if streams else iter(())
        self._stash: dict[int, deque[av.Packet]] = {s.index: deque() for s in streams}
        self._stashed = 0
        self.peak_stashed = 0  # bytes, for tests and curiosity
        self._last_dts: dict[int, int | None] = {s.index: None for s in streams}
        self._own: dict[int, Iterator[av.Packet]] = {}
        self._origin = origin
        self._seek_time = seek_time

    @property
    def detached(self) -> frozenset[int]:
        return frozenset(self._own)

    def packets(self, stream: av.stream.Stream) -> Iterator[av.Packet]:
        index = stream.index
        while True:
            own = self._own.get(index)
            if own is not None:
                yield from own
                return
            stash = self._stash[index]
            if stash:
                packet = stash.popleft()
                self._stashed -= packet.size
            else:
                packet = next(self._demux, None)
                if packet is None:
                    return
                if packet.stream.index != index:
                    self._keep(packet)
                    continue
            if packet.dts is not None:
                self._last_dts[index] = packet.dts
            yield packet

    def _keep(self, packet: av.Packet) -> None:
        index = packet.stream.index
        if index in self._own:
            return
        self._stash[index].append(packet)
        self._stashed += packet.size
        self.peak_stashed = max(self.peak_stashed, self._stashed)
        if self._stashed > STASH_LIMIT:
            self._detach(index)

    def _detach(self, index: int) -> None:
        stash = self._stash[index]
        self._stashed -= sum(p.size for p in stash)
        stash.clear()
        self._own[index] = _own_packets(self._path, index, self._origin, self._seek_time,
                                        self._last_dts[index])

    def close(self) -> None:
        for own in self._own.values():
            close = getattr(own, "close", None)
            if close is not None:
                close()


def _own_packets(path: Path, index: int, origin: Fraction, seek_time: float | None,
                 after_dts: int | None) -> Iterator[av.Packet]:
    """Packets of one stream from a demuxer of its own, after decode time ``after_dts``."""
    container = open_input(path)
    try:
        stream = container.streams[index]
        _discard_others(container, [stream])
        if seek_time is not None:
            _seek(container, stream, origin + Fraction(seek_time))
        for packet in container.demux(stream):
            if after_dts is not None and packet.dts is not None and packet.dts <= after_dts:
                continue
            yield packet
    finally:
        container.close()
