"""Decoded video frames placed on the film's clock: what both decode strategies share.

:class:`Clock` converts between film time and the video stream's pts (the pts limit of each
second, compared exactly in the stream's time base); :func:`decode_video` turns packets into
frames in presentation order, skipping (and counting) packets the decoder rejects; :class:`Held`
is a decoded frame converted to RGB at most once, when it is handed out; :func:`check_complete`
tells a file cut short from a complete one when the video data ends. See
:mod:`scenedet.media.seconds.decode` for the rules these implement.

Profiling (:mod:`scenedet.profiling`): pulling packets is the ``demux`` stage, ``decoder.decode``
the ``decode`` stage, conversion to upright RGB the ``convert`` stage; when the profile is off
each costs one attribute test.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from fractions import Fraction
from time import perf_counter
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from scenedet.errors import MediaError
from scenedet.media.damage import Damage
from scenedet.media.probe import FilmInfo
from scenedet.profiling import PROFILE

if TYPE_CHECKING:
    import av
    import av.stream

    from scenedet.media.nonref import NonrefSkip

#: Video may stop this much before the declared end of its stream (seconds) before the file is
#: called truncated, plus one frame. Larger when only the container's duration is known, since
#: that covers the audio too and a video track can legitimately be a little shorter.
TRUNCATION_TOLERANCE = 0.5
CONTAINER_TRUNCATION_TOLERANCE = 2.0


@attrs.define(slots=True)
class Held:
    """A decoded frame kept for the window; converted to RGB at most once, when first handed out."""

    pts: int
    frame: Any
    rgb: np.ndarray | None = None

    def array(self, info: FilmInfo) -> np.ndarray:
        if self.rgb is None:
            if PROFILE.enabled:
                began = perf_counter()
                self.rgb = info.orientation.apply(self.frame.to_ndarray(format="rgb24"))
                PROFILE.add("convert", perf_counter() - began)
            else:
                self.rgb = info.orientation.apply(self.frame.to_ndarray(format="rgb24"))
            self.frame = None  # give the decoder its buffer back
        return self.rgb


@attrs.define
class Clock:
    """Film time in the video stream's time base: the pts limit of each second, frame times."""

    time_base: Fraction
    start_pts: int
    origin: Fraction  # film time 0, in seconds of stream time
    frame_pts: Fraction  # one frame, in pts (for tolerances)
    damage: Damage | None  # where skipped packets are counted

    def __init__(self, video: av.stream.Stream, info: FilmInfo) -> None:
        self.time_base = Fraction(video.time_base)
        self.start_pts = info.start_pts  # film time 0: the first frame (probe's film_start)
        self.origin = self.start_pts * self.time_base
        self.frame_pts = (Fraction(1) / Fraction(info.fps).limit_denominator(100_000)
                          / self.time_base) if info.fps > 0 else Fraction(0)
        self.damage = None

    def end_pts(self, k: int) -> int:
        """The largest pts shown at or before the end of second ``k`` (film time ``k + 1``)."""
        return self.start_pts + math.floor(Fraction(k + 1) / self.time_base)

    def second_end(self, pts: int) -> int:
        """``end_pts(k)`` of the second ``k`` that shows a frame of this pts (``k`` s < its film
        time <= ``k + 1`` s), in integers: ``k + 1 = ceil((pts - start) * time_base)``."""
        num, den = self.time_base.numerator, self.time_base.denominator
        k1 = -((self.start_pts - pts) * num // den)
        return self.start_pts + k1 * den // num

    def film_time(self, pts: int) -> float:
        return float((pts - self.start_pts) * self.time_base)


def decode_video(packets: Iterable[av.Packet], decoder: av.CodecContext, clock: Clock,
                 skip: NonrefSkip | None = None) -> Iterator[Held]:
    """Decoded frames in presentation order, each with a pts (made up if the file has none).

    A packet the decoder rejects is skipped and counted (the still stays the previous frame).
    ``skip``: send the packets it picks with ``skip_frame="NONREF"`` (:mod:`scenedet.media.nonref`)
    and check each frame against its rule. Timed as the ``demux`` and ``decode`` stages when
    profiling (:mod:`scenedet.profiling`).
    """
    import av

    last = None
    nonref = False
    if skip is not None:
        decoder.skip_frame = "DEFAULT"  # a previous pass (before a seek) may have left NONREF
    source = iter(packets)
    while True:
        if PROFILE.enabled:
            began = perf_counter()
            packet = next(source, None)
            PROFILE.add("demux", perf_counter() - began)
        else:
            packet = next(source, None)
        if packet is None:
            break
        if skip is not None:
            wanted = skip.decide(packet)
            if wanted is not nonref:
                decoder.skip_frame = "NONREF" if wanted else "DEFAULT"
                nonref = wanted
        try:
            if PROFILE.enabled:
                began = perf_counter()
                frames = decoder.decode(packet)
                PROFILE.add("decode", perf_counter() - began)
            else:
                frames = decoder.decode(packet)
        except av.FFmpegError:
            if skip is not None:
                skip.unsafe("a damaged packet")  # raises if anything was skipped
            if clock.damage is not None:
                ts = packet.pts if packet.pts is not None else packet.dts
                clock.damage.skipped("video", None if ts is None else clock.film_time(ts), ts)
            continue
        for frame in frames:
            pts = frame.pts
            if skip is not None:
                skip.frame(pts)
            if pts is None:
                pts = 0 if last is None else last + 1
            last = pts
            yield Held(pts, frame)


def window_arrays(window: deque[Held], info: FilmInfo) -> tuple[np.ndarray, ...]:
    if not window:  # nothing shown yet: black
        return (np.zeros((info.height, info.width, 3), dtype=np.uint8),)
    return tuple(held.array(info) for held in window)


def check_complete(info: FilmInfo, clock: Clock, last: Held | None) -> None:
    """At the end of the video data: a file cut short is an error, not repeated frames."""
    shown = None if last is None else clock.film_time(last.pts)
    message = truncation(info.path, shown, video_end=info.video_end,
                         video_end_is_stream=info.video_end_is_stream, fps=info.fps)
    if message is not None:
        raise MediaError(message)


def truncation(path: object, shown: float | None, *, video_end: float | None,
               video_end_is_stream: bool, fps: float) -> str | None:
    """The one line for a film whose video data ends well before its declared end (None: it
    does not). ``shown``: film time of the last frame decoded (None: no frame at all).

    The rule both decode paths apply (the per-second one once a whole second lacks its frames,
    the frame one once the data ends): a file cut short is an error, not a shorter film.
    """
    if video_end is None:
        return None
    tolerance = TRUNCATION_TOLERANCE if video_end_is_stream else CONTAINER_TRUNCATION_TOLERANCE
    tolerance += 1.0 / fps if fps > 0 else 0.0
    if shown is None:
        return (f"cannot decode {path}: truncated file, no video data where its header says "
                f"there is (up to {video_end:.1f} s)")
    if shown + tolerance < video_end:
        return (f"cannot decode {path}: truncated file, the video stops at {shown:.1f} s of "
                f"{video_end:.1f} s")
    return None
