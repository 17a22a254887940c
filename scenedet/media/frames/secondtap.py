"""Whole seconds from a pass that decodes every frame: the per-second grid as a tap on the frame path.

:class:`~scenedet.media.frames.stream.MediaStream` decodes every frame for frame-level detectors. When a
per-second scene runs in the same command, a :class:`SecondTap` fed by that pass builds the very
:class:`~scenedet.media.types.Second` objects :func:`scenedet.media.seconds.decode.iter_seconds` would
(its sequential strategy: tested byte-identical stills and identical audio), so the film is
decoded once. The rules are :mod:`scenedet.media.seconds.decode`'s, reused from it: the still of second
``k`` is the last frame stamped at or before ``k + 1`` s (compared exactly in the stream's time
base), converted to RGB at full size and turned upright only when handed out; black before the
first frame; the last window repeats after the video ends; a file cut short is a
:class:`MediaError` once its data ends. Audio goes through the same
:class:`~scenedet.media.audio.AudioSlicer` (16 kHz mono on film time, silence past the end).

Memory: a second is handed out once both its window and its audio exist. In an interleaved
film (every muxer interleaves by ~1 s or less) that is a second or two of pictures. A file
whose audio lags its video by more than :data:`MAX_PENDING` seconds (all audio at the end)
is refused with a clear error rather than holding the film in memory: run the scene alone then
(``iter_seconds`` reads such a file with a second demuxer).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from scenedet.errors import MediaError
from scenedet.media.audio import TRUNCATION_TOLERANCE as AUDIO_TRUNCATION_TOLERANCE
from scenedet.media.audio import AudioSlicer, silence
from scenedet.media.damage import Damage
from scenedet.media.videoframes import Clock, Held, check_complete, window_arrays
from scenedet.media.probe import FilmInfo
from scenedet.media.types import MediaRequest, Second

#: Seconds whose pictures may wait for their audio (full-size RGB, so bounded).
MAX_PENDING = 16


class SecondTap:
    """Turns the decoded frames of one pass into :class:`Second` items, in order.

    ``video``/``audio`` are the container's streams (``audio`` None: no sound wanted or none
    there; then every second gets silence when ``request.audio``). Feed every decoded video frame
    to :meth:`video` and every decoded audio frame to :meth:`audio` in decode order; each returns
    the seconds that became complete. :meth:`finish` at the end returns the rest (``n_seconds``
    in all, as :func:`~scenedet.media.seconds.decode.iter_seconds`).
    """

    def __init__(self, info: FilmInfo, request: MediaRequest, video: Any, audio: Any | None, *,
                 damage: Damage | None = None) -> None:
        self.info = info
        self.request = request
        self.clock = Clock(video, info)
        self.clock.damage = damage
        self.frames = max(1, request.frames)
        self.window: deque[Held] = deque(maxlen=self.frames)
        self.last: Held | None = None
        self.next_window = 0  # the second whose window is being filled
        self.next_out = 0  # the next second to hand out
        self.windows: deque[tuple[np.ndarray, ...]] = deque()
        self.sounds: deque[np.ndarray] = deque()
        self.with_audio = request.audio and audio is not None
        self.slicer = AudioSlicer(origin=self.clock.origin) if self.with_audio else None

    @property
    def n_seconds(self) -> int:
        return self.info.n_seconds

    def video(self, frame: Any) -> list[Second]:
        """One decoded video frame (presentation order)."""
        pts = frame.pts
        if pts is None:
            pts = 0 if self.last is None else self.last.pts + 1
        while self.next_window < self.n_seconds and pts > self.clock.end_pts(self.next_window):
            if self.request.frames > 0:
                self.windows.append(self._arrays())
            self.next_window += 1
        self.last = Held(pts, frame if self.request.frames > 0 else None)
        if self.request.frames > 0:
            self.window.append(self.last)
        return self._ready()

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return window_arrays(self.window, self.info) if self.request.frames > 0 else ()

    def audio(self, frame: Any) -> list[Second]:
        """One decoded audio frame."""
        if self.slicer is not None:
            self.sounds.extend(self.slicer.push(frame))
        return self._ready()

    def audio_gap(self) -> None:
        """An audio packet was skipped (damaged): its time becomes silence."""
        if self.slicer is not None:
            self.slicer.mark_gap()

    def finish(self) -> list[Second]:
        """The data has ended: check it was complete, hand out every second left."""
        if self.request.frames > 0 and self.next_window < self.n_seconds:
            # as iter_seconds: a file is short only if a whole second lacks its frames
            check_complete(self.info, self.clock, self.last)
        if self.slicer is not None:
            end, declared = self.slicer.end_time, self.info.audio_end
            if declared is not None and end is not None \
                    and end + AUDIO_TRUNCATION_TOLERANCE < declared:
                raise MediaError(f"cannot decode {self.info.path}: truncated file, the audio "
                                 f"stops at {end:.1f} s of {declared:.1f} s")
            self.sounds.extend(self.slicer.finish())
            self.slicer = None
        tail = self._arrays()
        while self.next_window < self.n_seconds:
            if self.request.frames > 0:
                self.windows.append(tail)
            self.next_window += 1
        out = self._ready(final=True)
        assert self.next_out == self.n_seconds
        return out

    def _ready(self, final: bool = False) -> list[Second]:
        out = []
        pictures = self.request.frames > 0
        while self.next_out < self.n_seconds:
            if (pictures and not self.windows) or (self.with_audio and not self.sounds and not final):
                break
            frames = self.windows.popleft() if pictures else ()
            sound = None
            if self.request.audio:
                sound = self.sounds.popleft() if self.with_audio and self.sounds else silence()
            out.append(Second(index=self.next_out, frames=frames, audio=sound))
            self.next_out += 1
        if len(self.windows) > MAX_PENDING:
            raise MediaError(f"{self.info.path}: its audio lags its video by more than "
                             f"{MAX_PENDING} s in the file; run the per-second scene on its own")
        return out
