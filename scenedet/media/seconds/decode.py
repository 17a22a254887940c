"""Stream a film as whole seconds: the frames shown at each second's end, and its 16 kHz audio.

:func:`iter_seconds` yields one :class:`~scenedet.media.types.Second` per whole second, in order,
``n_seconds`` of them for a whole film (:mod:`scenedet.media.probe`). Second ``k`` covers film
time ``[k, k + 1)``; its still is the last frame whose timestamp is at or before ``k + 1`` s (a
frame stamped exactly ``k + 1`` s is shown at that instant and counts), compared exactly in the
stream's time base, so variable frame rates and 29.97 fps need no special case. A second in which
no new frame appears repeats the frame still on screen. Before the first frame (a video stream
whose first frame comes late) the still is black.

Two strategies give identical frames (tested):

* ``"seek"`` (:mod:`scenedet.media.seconds.seeking`): for each second, seek to the keyframe before its
  end and decode forward to the last frame at or before it. Cheap when keyframes are dense,
  since a second then costs a few frames. It never decodes a frame twice: when the keyframe
  before the next target is not past the decoder's position it keeps decoding instead of
  seeking, and a second with no new frame reuses the previous answer. Seeking is on the
  container's index (MP4 indexes by decode time, so with B-frames a keyframe can sort before a
  target it is displayed after): when the first frame after a seek is later than needed, it
  seeks a second further back and tries again.
* ``"sequential"`` (:mod:`scenedet.media.seconds.sequential`): decode straight through with frame
  threading (``thread_type="AUTO"``) and convert to RGB only the frames that are kept. Wins with
  long GOPs, where each seek would decode on average half a GOP. ``skip_loop_filter=True`` also
  skips H.264/HEVC deblocking: 11-19 % faster in ``benchmarks/decode.py``, but the pictures are
  then NOT the encoder's (blocking, and drift until the next keyframe since reference frames are
  unfiltered): stills off by 0.5-1.3 grey levels on average, PSNR down to 36.5 dB with 10 s
  GOPs. Acceptable for a classifier looking at a 224x224 crop, but it breaks exactness and the
  two strategies' agreement, so it is off by default and never chosen by ``"auto"``.

Both strategies leave undecoded the H.264 non-reference frames that no second shows
(``skip_nonref``, on by default: exact, see :mod:`scenedet.media.nonref`): about half the frames
of a film encoded with x264's defaults, a third less decoding work (``docs/performance.md``).

``"auto"`` takes the probe's choice (seek when keyframes are at most ~1 s apart, see
:data:`scenedet.media.probe.SEEK_MAX_KEYFRAME_INTERVAL`) for stills, and sequential for clips
(``request.frames > 1``), where a second needs most of its frames decoded anyway.

Memory is bounded whatever the film's length: a window of ``request.frames`` decoded frames,
the current second of audio, and compressed packets of one stream while the other catches up (at
most :data:`STASH_LIMIT` bytes; past that the lagging stream gets its own reader, see
:class:`~scenedet.media.demux.SharedDemux`). ``scenedet.inference.stream.prefetch`` runs this
iterator on a thread ahead of inference, through a bounded queue, so decoding overlaps the models.

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

Profiling (:mod:`scenedet.profiling`): pulling packets is the ``demux`` stage, video decoding
``decode``, conversion to upright RGB ``convert``, audio decoding and resampling ``audio``.

Rotation: frames are turned upright by the display matrix FFmpeg attaches to decoded frames
(:class:`scenedet.media.probe.Orientation`), read once from the film's first frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from fractions import Fraction
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import attrs
import numpy as np

from scenedet.errors import MediaError
from scenedet.media import profiled
from scenedet.media.audio import audio_seconds, silence, warn_no_audio
from scenedet.media.damage import Damage
from scenedet.media.demux import STASH_LIMIT, SharedDemux, discard_others, seek_stream
from scenedet.media.nonref import SKIP_CODECS, NonrefSkip, SkipUnsafe
from scenedet.media.probe import (FilmInfo, Strategy, ffmpeg_reason, film_audio_stream,
                                  film_video_stream, open_input, probe)
from scenedet.media.seconds.seeking import SEEK_RETRIES, seek_windows
from scenedet.media.seconds.sequential import StartedTooLate, sequential_windows
from scenedet.media.types import MediaRequest, Second
from scenedet.media.videoframes import (CONTAINER_TRUNCATION_TOLERANCE, TRUNCATION_TOLERANCE,
                                        Clock)

if TYPE_CHECKING:
    import av
    import av.stream

__all__ = ["AUDIO_PREROLL", "CONTAINER_TRUNCATION_TOLERANCE", "SEEK_THREAD_TYPE", "STASH_LIMIT",
           "StrategyArg", "TRUNCATION_TOLERANCE", "iter_seconds", "resolve_strategy"]

#: Audio decoded before the first requested second, so the AAC decoder and the resampler have
#: settled when ``start_second > 0`` (seconds).
AUDIO_PREROLL = 1.0

#: Decoder threading while seeking: a few frames per seek, so frame threads (which must fill
#: and drain a pipeline of one frame per thread around every seek) only add latency: 12-14 %
#: slower than slice threads with 1-2 s GOPs in ``benchmarks/decode.py``.
SEEK_THREAD_TYPE = "SLICE"

StrategyArg = Literal["auto", "seek", "sequential"]


def iter_seconds(path: str | Path, request: MediaRequest, *, strategy: StrategyArg = "auto",
                 start_second: int = 0, stop_second: int | None = None,
                 skip_loop_filter: bool = False, skip_nonref: bool = True,
                 damage: Damage | None = None, use_audio: bool = True) -> Iterator[Second]:
    """Seconds ``start_second .. stop_second - 1`` of a film (default: all ``n_seconds``).

    The film is probed now (bad input raises :class:`MediaError` before anything is yielded, and
    a film without audio warns once, :class:`~scenedet.media.audio.NoAudioWarning`, when audio is
    requested); decoding happens as the iterator is consumed. Close the iterator (or exhaust it)
    to release the file. ``skip_loop_filter`` trades exactness for speed in the sequential
    strategy (module docstring); "seek" ignores it, since it decodes few frames per second.
    ``skip_nonref`` (exact, so on by default) leaves undecoded the non-reference frames no second
    shows (:mod:`scenedet.media.nonref`).

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
    return _stream(info, request, chosen, start_second, stop, skip_loop_filter, skip_nonref,
                   damage)


def resolve_strategy(strategy: StrategyArg, info: FilmInfo, request: MediaRequest) -> Strategy:
    """The strategy "auto" stands for with this film and request (see the module docstring)."""
    if strategy != "auto":
        return strategy
    return info.strategy if request.frames <= 1 else "sequential"


def _stream(info: FilmInfo, request: MediaRequest, strategy: Strategy, start: int, stop: int,
            skip_loop_filter: bool, skip_nonref: bool, damage: Damage | None) -> Iterator[Second]:
    """:func:`_run`, retried from further back when a clip at ``start`` came out short, and
    from the first second not yet yielded, without skipping, when skipping frames turned out
    unsafe (:class:`~scenedet.media.nonref.SkipUnsafe`)."""
    import av

    if start >= stop:
        return
    report = damage is None
    damage = Damage() if damage is None else damage
    at = start  # the second being decoded, for errors, and where a retry starts
    seek_time = _preroll_time(start, request, info) if start > 0 else None
    attempt = 0
    try:
        while True:
            try:
                for second in _run(info, request, strategy, at, stop, skip_loop_filter,
                                   skip_nonref, seek_time, damage):
                    yield second
                    at = second.index + 1
                return
            except StartedTooLate:  # raised before the first second was yielded
                assert seek_time is not None
                seek_time = seek_time - 2.0 ** attempt
                attempt += 1
                seek_time = seek_time if seek_time > 0 and attempt < SEEK_RETRIES else None
            except SkipUnsafe:
                if not skip_nonref:
                    raise
                skip_nonref, attempt = False, 0
                seek_time = _preroll_time(at, request, info) if at > 0 else None
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {info.path} at {at} s: {ffmpeg_reason(exc)}") from None
    finally:
        if report:
            damage.warn(info.path, stacklevel=1)


def _run(info: FilmInfo, request: MediaRequest, strategy: Strategy, start: int, stop: int,
         skip_loop_filter: bool, skip_nonref: bool, seek_time: float | None, damage: Damage
         ) -> Iterator[Second]:
    """Open the film, set up the video and audio paths of the strategy, yield the seconds."""

    with ExitStack() as stack:
        container = open_input(info.path)
        stack.callback(container.close)
        video = film_video_stream(container)
        assert video is not None  # probe checked
        audio = film_audio_stream(container) if request.audio and info.has_audio else None
        wanted = [s for s in (video if request.frames > 0 else None, audio) if s is not None]
        clock = Clock(video, info)
        clock.damage = damage
        audio_packets: Iterable[av.Packet] = ()
        if request.frames > 0 and strategy == "seek":
            discard_others(container, [video])  # audio has a demuxer of its own (docstring)
            video.thread_type = SEEK_THREAD_TYPE
            skip = (NonrefSkip(clock, request.frames)
                    if skip_nonref and video.codec_context.name in SKIP_CODECS else None)
            windows = seek_windows(container, video, clock, info, request.frames, start, stop,
                                   skip)
            if audio is not None:
                # Decoded by the audio container's own decoder: a seek resets every decoder of
                # its container, so the video container's AAC decoder would restart each second.
                sound = open_input(info.path)
                stack.callback(sound.close)
                audio = sound.streams[audio.index]
                discard_others(sound, [audio])
                if seek_time is not None:
                    seek_stream(sound, audio, clock.origin + Fraction(seek_time))
                audio_packets = profiled.packets(sound.demux(audio))
        else:
            discard_others(container, wanted)
            skip = None
            if request.frames > 0:
                video.thread_type = "AUTO"
                if skip_loop_filter:
                    video.codec_context.options = {"skip_loop_filter": "all"}
                if skip_nonref and video.codec_context.name in SKIP_CODECS:
                    skip = NonrefSkip(clock, request.frames)
            if seek_time is not None and wanted:
                seek_stream(container, wanted[0], clock.origin + Fraction(seek_time))
            demux = SharedDemux(info.path, container, wanted, clock.origin, seek_time)
            stack.callback(demux.close)
            windows = (sequential_windows(demux.packets(video), video.codec_context, clock,
                                          info, request.frames, start, stop,
                                          sought=seek_time is not None, skip=skip)
                       if request.frames > 0 else repeat(()))
            if audio is not None:
                audio_packets = profiled.packets(demux.packets(audio))
        sounds = _sounds(request, info, audio, audio_packets, clock, start)
        for k in range(start, stop):
            yield Second(index=k, frames=next(windows), audio=next(sounds))


def _sounds(request: MediaRequest, info: FilmInfo, audio: av.stream.Stream | None,
            packets: Iterable[av.Packet], clock: Clock, start: int) -> Iterator[np.ndarray | None]:
    if not request.audio:
        return repeat(None)
    if audio is None:
        return (silence() for _ in repeat(None))
    return audio_seconds(packets, audio.codec_context, origin=clock.origin, first_second=start,
                         path=info.path, declared_end=info.audio_end, damage=clock.damage)


def _preroll_time(start: int, request: MediaRequest, info: FilmInfo) -> float:
    """Film time to seek to before ``start``: room for the clip and the audio pre-roll."""
    clip = (request.frames + 1) / info.fps if info.fps > 0 else 1.0
    return max(0.0, start - max(clip, AUDIO_PREROLL if request.audio else 0.0))

