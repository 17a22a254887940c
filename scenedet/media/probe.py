"""What a film is before it is decoded: duration, whole seconds, rotation, audio, keyframe spacing.

:func:`probe` opens the file once, reads the container header and index, demuxes (without
decoding) the first packets of the video stream to estimate the keyframe spacing, and decodes one
video frame to prove the file decodes and to read its display matrix (the scan and the choice of
strategy: :mod:`scenedet.media.keyframes`; the display matrix: :mod:`scenedet.media.orientation`,
both re-exported here). Every way a path can fail
to be a film ends in :class:`~scenedet.errors.MediaError` with one line.

Time origin: "film time" 0 is the presentation time of the first frame the decoder hands out
(:func:`film_start`), so that frame is frame 0 at 0 s of second 0 whatever the container's own
start time (MPEG-TS starts at 1.4 s, MP4 audio carries a negative priming offset). In MP4, MKV and
MPEG-TS that is the video stream's start time (``stream.start_time``); an AVI has no presentation
timestamps and starts its stream at decode time 0, so with B-frames (or DivX/XviD "packed"
B-frames, ``Megamind.avi``) its first frame comes one decoder delay later, and it is that frame,
not the stream's start, that is 0 s. Every path counts from this one origin: the per-second decode,
the frame-level decode (:mod:`scenedet.media.frames.stream`), clips and stills. Audio is aligned to the
same origin (see :mod:`scenedet.media.audio`).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from scenedet.errors import MediaError, one_line
from scenedet.media.keyframes import (SEEK_MAX_KEYFRAME_INTERVAL, Scan, Strategy, choose_strategy,
                                      keyframe_interval, scan_video)
from scenedet.media.orientation import Orientation, frame_orientation

if TYPE_CHECKING:
    import av.container
    import av.stream

__all__ = ["CONTAINER_DISAGREEMENT", "FilmInfo", "Orientation", "SEEK_MAX_KEYFRAME_INTERVAL",
           "Strategy", "check_path", "choose_strategy", "ffmpeg_reason", "film_audio_stream",
           "film_start", "film_start_of", "film_video_stream", "frame_orientation", "open_input",
           "probe", "whole_seconds"]

#: Formats FFmpeg opens as "video" that are not films: still images and text rendered as video.
_NOT_FILM_FORMATS = frozenset({"image2", "tty", "apng", "gif_pipe", "webp_pipe"})
_NOT_FILM_CODECS = frozenset({"ansi", "bintext", "xbin", "idf"})


@attrs.frozen(kw_only=True)
class FilmInfo:
    """Facts about one film. Times are seconds of film time (0 = its first frame, see the module).

    ``n_seconds`` is the number of WHOLE seconds, ``floor(duration)``: the number of scores a run
    produces; a trailing partial second is not scored. ``width``/``height`` are as displayed
    (after rotation). ``keyframe_interval`` is the mean keyframe spacing, ``None`` when unknown.
    ``video_end`` is where the video is declared to end (film time): the stream's own duration
    when the file states it (``video_end_is_stream``), else the container's; ``audio_end`` is the
    audio stream's own declared end. Decoding compares what it finds with these to tell a
    truncated file from a track that is merely shorter than the other. ``video_start`` is the
    stream time (s) of film time 0, ``start_pts`` the same in the video stream's time base.
    """

    path: Path
    duration: float
    n_seconds: int
    fps: float
    width: int
    height: int
    rotation: int
    orientation: Orientation
    has_audio: bool
    audio_rate: int | None
    audio_channels: int | None
    video_codec: str
    keyframe_interval: float | None
    strategy: Strategy
    video_start: float
    video_end: float | None
    video_end_is_stream: bool
    audio_end: float | None
    format_name: str
    start_pts: int = 0


def check_path(path: str | Path) -> Path:
    """The path as a :class:`Path` if it can be a film file; :class:`MediaError` otherwise."""
    p = Path(path)
    if p.is_dir():
        raise MediaError(f"is a directory: {p}")
    if not p.exists():
        raise MediaError(f"not found: {p}")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise MediaError(f"cannot read {p}: {exc.strerror or exc}") from None
    if size == 0:
        raise MediaError(f"empty file: {p}")
    return p


def open_input(path: Path) -> av.container.InputContainer:
    """``av.open`` for reading, with FFmpeg's failure as a one-line :class:`MediaError`."""
    import av

    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {path}: {ffmpeg_reason(exc)}") from None
    except OSError as exc:  # permissions and the like, before FFmpeg sees the file
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}") from None


def ffmpeg_reason(exc: BaseException) -> str:
    """FFmpeg's message without the ``[Errno N]`` prefix and the repeated path."""
    reason = getattr(exc, "strerror", None) or str(exc)
    return one_line(reason) or type(exc).__name__


def film_video_stream(container: av.container.InputContainer) -> av.stream.Stream | None:
    """The film's video stream: the first one that is not cover art (MP3/M4A attached pictures)."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def film_audio_stream(container: av.container.InputContainer) -> av.stream.Stream | None:
    """The film's audio: the track marked default (a film with several languages), else the first."""
    import av

    tracks = list(container.streams.audio)
    for stream in tracks:
        if stream.disposition & av.stream.Disposition.default:
            return stream
    return tracks[0] if tracks else None


def probe(path: str | Path) -> FilmInfo:
    """Read what :func:`scenedet.media.seconds.decode.iter_seconds` needs to know about a film.

    Raises :class:`MediaError` (one line) for a missing path, a directory, an empty file, a file
    FFmpeg cannot open, a file without a video stream, a still image, a file whose index points
    past its end (a truncated MP4 with ``faststart``) and a file whose first frame does not decode.
    """
    p = check_path(path)
    container = open_input(p)
    try:
        return _probe_open(p, container)
    finally:
        container.close()


def _probe_open(path: Path, container: av.container.InputContainer) -> FilmInfo:
    import av

    fmt = container.format.name
    video = film_video_stream(container)
    if video is None:
        raise MediaError(f"no video stream in {path}")
    codec = video.codec_context.name
    if fmt in _NOT_FILM_FORMATS or fmt.endswith("_pipe") or codec in _NOT_FILM_CODECS:
        raise MediaError(f"cannot decode {path}: a still image or text, not a film ({fmt})")
    _check_index_within_file(path, video)

    audio = film_audio_stream(container)
    try:
        scan = scan_video(container, video)
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {path}: {ffmpeg_reason(exc)}") from None
    if scan.first_frame_orientation is None:
        raise MediaError(f"cannot decode {path}: no video frame could be decoded")
    start_pts = _start_pts(video, scan.first_frame_pts)
    video_start = float(start_pts * video.time_base) if video.time_base is not None else 0.0

    video_end, from_stream = _video_end(container, video, video_start)
    duration = _film_duration(container, video, audio, video_start, scan)
    fps = _fps(video, duration)
    orientation = scan.first_frame_orientation
    width, height = video.codec_context.width, video.codec_context.height
    if orientation.transpose:
        width, height = height, width
    spacing = keyframe_interval(video, scan)
    return FilmInfo(
        path=path, duration=duration, n_seconds=whole_seconds(duration), fps=fps,
        width=width, height=height, rotation=orientation.rotation, orientation=orientation,
        has_audio=audio is not None,
        audio_rate=audio.codec_context.sample_rate if audio is not None else None,
        audio_channels=audio.codec_context.channels if audio is not None else None,
        video_codec=codec, keyframe_interval=spacing,
        strategy=choose_strategy(spacing),
        video_start=video_start, video_end=video_end, video_end_is_stream=from_stream,
        audio_end=_audio_end(audio, video_start),
        format_name=fmt, start_pts=start_pts,
    )


def _start_pts(video: av.stream.Stream, first_frame_pts: int | None) -> int:
    """Film time 0 in the stream's time base: the first frame's pts, else the stream's start."""
    return first_frame_pts if first_frame_pts is not None else (video.start_time or 0)


def film_start(container: av.container.InputContainer, video: av.stream.Stream) -> int:
    """Film time 0 of ``video`` (pts): the presentation time of the first frame the decoder hands
    out, decoding from the container's position (its start) and skipping damaged packets as
    every decode does; the stream's start time when that frame has no timestamp or nothing
    decodes. The container has been read from: seek before demuxing it again."""
    import av

    decoder = video.codec_context
    try:
        for packet in container.demux(video):
            try:
                frames = decoder.decode(packet)
            except av.FFmpegError:
                continue
            for frame in frames:
                return _start_pts(video, frame.pts)
    except av.FFmpegError:
        pass
    return _start_pts(video, None)


def film_start_of(path: Path) -> tuple[int, Fraction]:
    """``(film_start, time base)`` of the film's video stream, from a container of its own (no
    video: ``(0, 1)``)."""
    container = open_input(path)
    try:
        video = film_video_stream(container)
        if video is None or video.time_base is None:
            return 0, Fraction(1)
        from av.stream import Discard

        for stream in container.streams:
            if stream.index != video.index:
                stream.discard = Discard.all
        return film_start(container, video), Fraction(video.time_base)
    finally:
        container.close()


def whole_seconds(duration: float) -> int:
    """``floor(duration)``, tolerant of a timestamp rounded a hair short of a whole second."""
    return max(0, math.floor(duration + 1e-3))


def _check_index_within_file(path: Path, video: av.stream.Stream) -> None:
    """An index (MP4 ``moov`` written first) that points past the end of the file: truncated."""
    try:
        entries = video.index_entries  # type: ignore[attr-defined]
        n = len(entries)
        last = entries[n - 1] if n else None
    except (AttributeError, TypeError, IndexError):
        return
    if last is not None and last.pos >= 0 and last.pos + last.size > path.stat().st_size:
        raise MediaError(f"cannot decode {path}: truncated file (its index points past the end)")


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _stream_duration(stream: av.stream.Stream) -> float | None:
    """A stream's declared length: ``duration`` or the MKV ``DURATION`` tag (``HH:MM:SS.frac``)."""
    seconds = _seconds(stream.duration, stream.time_base)
    if seconds and seconds > 0:
        return seconds
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:
        match = re.fullmatch(r"(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)", tag.strip())
        if match:
            h, m, s = match.groups()
            # Matroska's DURATION tag is where the track ends, not its length (FFmpeg's muxer
            # writes the end timestamp): a track starting late is shorter than its tag.
            end = int(h) * 3600 + int(m) * 60 + float(s)
            return max(0.0, end - (_seconds(stream.start_time, stream.time_base) or 0.0))
    return None


def _video_end(container: av.container.InputContainer, video: av.stream.Stream,
                    video_start: float) -> tuple[float | None, bool]:
    """(declared end of the video in film time, whether the file states it for the stream)."""
    own = _stream_duration(video)
    if own is not None:
        start = _seconds(video.start_time, video.time_base) or 0.0
        return start + own - video_start, True
    if container.duration:
        import av

        start = (container.start_time or 0) / av.time_base
        return start + container.duration / av.time_base - video_start, False
    return None, False


def _audio_end(audio: av.stream.Stream | None, video_start: float) -> float | None:
    """Declared end of the audio stream in film time, when the file states the stream's length."""
    if audio is None:
        return None
    own = _stream_duration(audio)
    if own is None:
        return None
    return (_seconds(audio.start_time, audio.time_base) or 0.0) + own - video_start


#: A container duration further than this (seconds) from its streams' own lengths is overruled
#: by them: a header that lies (an edited or badly remuxed file) must not add or drop seconds.
CONTAINER_DISAGREEMENT = 2.0


def _film_duration(container: av.container.InputContainer, video: av.stream.Stream,
                   audio: av.stream.Stream | None, video_start: float, scan: Scan) -> float:
    """Length of the film from the video's first frame, robust to missing metadata.

    Container duration first (it covers every stream) unless the streams' own durations disagree
    with it by more than :data:`CONTAINER_DISAGREEMENT`, then the streams' own durations, then
    what the scan saw (a file without any duration metadata, e.g. a raw elementary stream, whose
    packets the scan read to the end), then a full demux of the video packets (no decoding).
    """
    import av

    ends = []
    for stream in (video, audio):
        if stream is None:
            continue
        own = _stream_duration(stream)
        if own:
            ends.append((_seconds(stream.start_time, stream.time_base) or 0.0) + own)
    if container.duration and container.duration > 0:
        start = (container.start_time or 0) / av.time_base
        declared = max(0.0, start + container.duration / av.time_base - video_start)
        streams = max(ends) - video_start if ends else None
        if streams is not None and abs(declared - streams) > CONTAINER_DISAGREEMENT:
            return max(0.0, streams)  # a container lying about its length: its streams rule
        return declared
    if ends:
        return max(0.0, max(ends) - video_start)
    if scan.reached_eof and scan.max_end is not None:
        return max(0.0, float(scan.max_end * video.time_base) - video_start)
    return max(0.0, _demux_end(container, video) - video_start)


def _demux_end(container: av.container.InputContainer, video: av.stream.Stream) -> float:
    """End of the last video packet, reading the whole stream without decoding (last resort)."""
    end = None
    container.seek(0)
    for packet in container.demux(video):
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is not None:
            stop = ts + (packet.duration or 0)
            end = stop if end is None else max(end, stop)
    return float(end * video.time_base) if end is not None else 0.0


def _fps(video: av.stream.Stream, duration: float) -> float:
    for rate in (video.average_rate, video.guessed_rate, video.base_rate):
        if rate:
            return float(rate)
    if video.frames and duration > 0:
        return video.frames / duration
    return 0.0
