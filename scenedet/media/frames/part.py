"""A part ``[start, end)`` of a film for :class:`~scenedet.media.frames.stream.MediaStream`.

Frame-level detectors on a part of a film (``scenedet run -p shots --start 20:00``) should not
decode the twenty minutes before it. :func:`seek_part` puts the demuxer on the keyframe at or
before ``start`` (backing off a second at a time when the index put it after, as
:func:`scenedet.media.seconds.seeking.seek_for` does for the per-second decode); :class:`Part` then
decides, frame by frame and chunk by chunk, what lies inside: video frames before ``start`` are
decoded (they must be, to reach the first one) but dropped, the pass ends once both streams are
past ``end``, and sound is trimmed to the pictures' span.

The detectors see the part as a film of its own: its first kept frame is frame 0 at time 0. So a
detector needs no notion of parts; the caller moves its results back to film time with
:attr:`Part.first_time` and :attr:`Part.first_frame` (the first kept frame's film time and its
frame number on the nominal grid, ``round(time * fps)``: exact for a constant frame rate).
Memory is flat: at most the sound of one keyframe interval waits for the first kept frame.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from scenedet.errors import UsageError

#: Seeks tried, each a second further back, before decoding from the stream's start.
SEEK_RETRIES = 4
#: A frame this close before ``start`` (seconds) counts as at ``start`` (float round-off).
EPSILON = 1e-6


def check_part(start: float | None, end: float | None) -> None:
    """One-line :class:`UsageError` for a part that cannot be (negative, empty, reversed)."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise UsageError(f"{name} must be a time >= 0 seconds, got {value}")
    if start is not None and end is not None and end <= start:
        raise UsageError(f"end ({end} s) must be after start ({start} s)")


def seek_part(container: Any, stream: Any, video: Any, origin: Fraction, start: float) -> None:
    """Seek ``container`` so that decoding ``stream`` yields every frame from film time ``start``.

    With ``video``, a trial decode checks that the first frame after the seek is not later than
    ``start``; if it is, the seek goes a second further back (and finally to the stream's start).
    The container is left positioned for a fresh demux of every stream.
    """
    tb = Fraction(stream.time_base)
    first_pts = min(stream.start_time or 0, math.floor(origin / tb))
    target = math.floor((origin + Fraction(start)) / tb)
    step = math.ceil(Fraction(1) / tb)
    for attempt in range(SEEK_RETRIES):
        at = target - attempt * step
        if at <= first_pts:
            break
        container.seek(at, stream=stream, backward=True)
        if video is None or _first_pts(container, video) <= target:
            container.seek(at, stream=stream, backward=True)  # again: the trial used packets
            return
    container.seek(first_pts, stream=stream, backward=True)


def _first_pts(container: Any, video: Any) -> float:
    """The pts of the first frame decoded from the container's position (inf: none)."""
    import av

    try:
        for packet in container.demux(video):
            for frame in packet.decode():
                if frame.pts is not None:
                    return frame.pts
    except av.FFmpegError:
        pass
    return math.inf


class Part:
    """What of a pass lies in ``[start, end)`` (film seconds; None: the film's start or end).

    Feed it every decoded video frame's film time (:meth:`keep_frame`) and every sound chunk
    (:meth:`sound`); it says what to keep and returns times on the part's own clock.
    """

    def __init__(self, start: float | None, end: float | None, *, has_video: bool,
                 has_audio: bool) -> None:
        check_part(start, end)
        self.start = float(start or 0.0)
        self.end = math.inf if end is None else float(end)
        self.first_time: float | None = None if has_video else self.start
        self.first_frame = 0
        self.video_done = not has_video
        self.audio_done = not has_audio
        self._waiting: list[tuple[float, int, np.ndarray]] = []

    @property
    def done(self) -> bool:
        """Both streams are past ``end``: the pass can stop."""
        return self.video_done and self.audio_done

    def keep_frame(self, time: float, fps: float) -> bool:
        """Whether the frame at film ``time`` is inside; the first one inside sets the clock."""
        if time < self.start - EPSILON:
            return False
        if time >= self.end - EPSILON:
            self.video_done = True
            return False
        if self.first_time is None:
            self.first_time = time
            self.first_frame = int(round(time * fps)) if fps > 0 else 0
        return True

    def admits(self, pts: int | None, time_base: Any, origin: Fraction, clock: Any) -> bool:
        """Whether a decoded frame (its presentation timestamp ``pts`` in ``time_base``) is inside;
        the first one inside restarts ``clock`` (a ``MediaStream``'s frame clock) at its own time,
        the part's time 0. ``origin``: film time 0 in stream seconds."""
        started = self.first_time is not None
        if pts is None or time_base is None:  # no time of its own: goes with its neighbours
            return started and not self.video_done
        stream_time = Fraction(pts) * time_base
        if not self.keep_frame(float(stream_time - origin), clock.fps):
            return False
        if not started:
            clock.origin = stream_time
        return True

    def sound(self, start: float, rate: int, samples: np.ndarray
              ) -> list[tuple[float, np.ndarray]]:
        """``(part time, samples)`` of a chunk that starts at film ``start``, trimmed to the part
        (sound before the first kept frame waits until that frame is known)."""
        if start >= self.end:
            self.audio_done = True
            return []
        if self.first_time is None:
            self._waiting.append((start, rate, samples))
            return []
        out = [c for w in self._waiting for c in self._trim(*w)]
        self._waiting = []
        return out + self._trim(start, rate, samples)

    def _trim(self, start: float, rate: int, samples: np.ndarray) -> list[tuple[float, np.ndarray]]:
        assert self.first_time is not None
        begin = max(self.first_time, start)
        first = max(0, int(round((begin - start) * rate)))
        last = len(samples) if math.isinf(self.end) else \
            min(len(samples), max(0, int(round((self.end - start) * rate))))
        if last <= first:
            return []
        return [(start + first / rate - self.first_time, samples[first:last])]


__all__ = ["Part", "check_part", "seek_part"]
