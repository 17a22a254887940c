"""The "seek" decode strategy: per second, seek to the keyframe before its end and decode forward.

Never decodes a frame twice: when the keyframe before the next target is not past the decoder's
position it keeps decoding instead of seeking, and a second with no new frame reuses the previous
answer. Seeking is on the container's index (MP4 indexes by decode time, so with B-frames a
keyframe can sort before a target it is displayed after): when the first frame after a seek is
later than needed, it seeks a second further back and tries again. Non-reference frames no
second shows are left undecoded as in the sequential strategy (:mod:`scenedet.media.nonref`).
See :mod:`scenedet.media.seconds.decode` for when this strategy is chosen.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from scenedet.media.probe import FilmInfo
from scenedet.media.videoframes import Clock, Held, check_complete, decode_video, window_arrays

if TYPE_CHECKING:
    import av.container
    import av.stream

    from scenedet.media.nonref import NonrefSkip

#: Seek retries when the first frame after a seek is later than needed (index by decode time).
SEEK_RETRIES = 6


def seek_windows(container: av.container.InputContainer, video: av.stream.Stream, clock: Clock,
                 info: FilmInfo, n_frames: int, start: int, stop: int,
                 skip: NonrefSkip | None = None) -> Iterator[tuple[np.ndarray, ...]]:
    """Per second: seek near its end (or keep decoding if that is cheaper), decode to the end.

    ``skip``: leave the non-reference frames no window shows undecoded, as the sequential
    strategy does (:mod:`scenedet.media.nonref`; its rule holds across seeks).
    """
    seeker = Seeker(container, video, clock, info, n_frames, skip)
    for k in range(start, stop):
        seeker.advance_to(clock.end_pts(k))
        yield window_arrays(seeker.window, info)


class Seeker:
    """The "seek" strategy's state: the decoder's position and the frames shown last."""

    def __init__(self, container: av.container.InputContainer, video: av.stream.Stream,
                 clock: Clock, info: FilmInfo, n_frames: int,
                 skip: NonrefSkip | None = None) -> None:
        self.container, self.video, self.clock, self.info = container, video, clock, info
        self.n_frames = n_frames
        self.skip = skip
        self.window: deque[Held] = deque(maxlen=n_frames)
        self._span = math.ceil((n_frames - 1) * clock.frame_pts)  # how far back a clip reaches
        self._frames: Iterator[Held] | None = None
        self._pending: Held | None = None  # first decoded frame after the previous target
        self._eof = False
        self._from_start = False  # the last seek went to the start of the stream
        self._last: Held | None = None

    def advance_to(self, target: int) -> None:
        """Make ``window`` the last frames with pts <= ``target``."""
        self._advance_to(target)
        if self.skip is not None:
            self.skip.check_window(self.window, None if self._eof else target)

    def _advance_to(self, target: int) -> None:
        if self._frames is not None and (
                self._eof or (self._pending is not None and self._pending.pts > target)):
            return  # nothing new shown since the previous target: the window stands
        need_from = target - self._span
        if (self._frames is None or self._pending is None
                or not keep_decoding(self.video, self.info, need_from, self._pending.pts)):
            self._seek(need_from)
        self._decode_to(target)
        for _ in range(SEEK_RETRIES):
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
        self._frames, self._pending, self._from_start = seek_for(
            self.container, self.video, self.clock, need_from, self.skip)
        self._eof = False
        self.window.clear()

    def _decode_to(self, target: int) -> None:
        assert self._frames is not None
        while True:
            if self._pending is None:
                self._pending = next(self._frames, None)
                if self._pending is None:
                    self._eof = True
                    check_complete(self.info, self.clock, self._last)
                    return
            if self._pending.pts > target:
                return
            self.window.append(self._pending)
            self._last, self._pending = self._pending, None


def seek_for(container: av.container.InputContainer, video: av.stream.Stream, clock: Clock,
             need_from: int, skip: NonrefSkip | None = None
             ) -> tuple[Iterator[Held], Held | None, bool]:
    """Seek so that decoding starts at or before pts ``need_from``.

    Returns (frames, first frame, whether the seek went to the start of the stream). Backs off
    a second at a time when the container's index put the keyframe after the target (an index
    by decode time with B-frames) or the seek found no frame at all (MPEG-TS, past its last
    keyframe), and stops at the start of the stream.
    """
    decoder = video.codec_context
    back = 0
    step = math.ceil(Fraction(1) / clock.time_base)
    for _ in range(SEEK_RETRIES):
        at = max(clock.start_pts, need_from - back)
        if skip is not None:
            skip.restart()
        container.seek(at, stream=video, backward=True)
        frames = decode_video(container.demux(video), decoder, clock, skip)
        first = next(frames, None)
        # No frame at all is no proof there is none to see: MPEG-TS has no index and seeks by
        # timestamp search over the bytes, which can land past the last keyframe. Back off too.
        if (first is not None and first.pts <= need_from) or at <= clock.start_pts:
            return frames, first, at <= clock.start_pts
        frames.close()
        back += step
    if skip is not None:
        skip.restart()
    container.seek(clock.start_pts, stream=video, backward=True)
    frames = decode_video(container.demux(video), decoder, clock, skip)
    return frames, next(frames, None), True


def keep_decoding(video: av.stream.Stream, info: FilmInfo, need_from: int, position: int) -> bool:
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

