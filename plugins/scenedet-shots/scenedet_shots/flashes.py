"""Telling a flash from a cut after TransNetV2 has spoken.

TransNetV2 scores a camera flash (a few frames washed towards white inside one shot) just above
its threshold now and then: on the generated films both of its false cuts were flashes, scored
0.52. A flash has a shape no transition has: the frames the network marks are brighter than the
pictures on both sides, and those two pictures are the same shot (they look alike). A dissolve
or a fade can have look-alike neighbours but is not brighter than both; a cut has neighbours
that differ. :class:`FlashGuard` keeps the last few hundred small frames (a bounded ring, so
memory stays flat) and answers that question for a run of transition frames.

"Look alike" and "brighter" use the content detector's HSV scale (:mod:`scenedet_shots.content`):
a mean change below ``same`` (12, the content detector's ``min_change``) and a mean value
``brighter`` (20 of 255) above both sides.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from scenedet_shots.content import change, hsv


class FlashGuard:
    """The last ``keep`` frames (by film index) and the flash test on them."""

    def __init__(self, keep: int, *, frames: int = 4, same: float = 12.0,
                 brighter: float = 20.0) -> None:
        self.frames, self.same, self.brighter = int(frames), float(same), float(brighter)
        self._ring: deque[np.ndarray] = deque(maxlen=max(int(keep), 4 * self.frames + 8))
        self._first = 0  # film index of the ring's first frame
        self._n = 0

    def add(self, frames: np.ndarray) -> None:
        """The next frames of the film, in order (``(n, h, w, 3)`` uint8)."""
        for frame in frames:
            if len(self._ring) == self._ring.maxlen:
                self._first += 1
            self._ring.append(frame)
            self._n += 1

    def _hsv(self, index: int) -> np.ndarray | None:
        if not self._first <= index < self._n:
            return None
        return hsv(self._ring[index - self._first])

    def is_flash(self, first: int, last: int) -> bool:
        """Whether the run of transition frames ``first .. last`` (inclusive) is a flash.

        It is when the run is at most ``frames`` long and some picture up to ``frames`` before
        it looks like one up to ``frames`` after it, while the run is brighter than both.
        Frames no longer (or not yet) held count as "not a flash": the cut stands.
        """
        if last - first + 1 > self.frames:
            return False
        run = [self._hsv(k) for k in range(first, last + 1)]
        if any(r is None for r in run):
            return False
        peak = max(float(r[..., 2].mean()) for r in run)  # type: ignore[index]
        after = [(b, self._hsv(b)) for b in range(last + 1, last + 2 + self.frames)]
        for a in range(first - 1, first - 2 - self.frames, -1):
            before = self._hsv(a)
            if before is None:
                break
            for _, pic in after:
                if pic is None:
                    continue
                if (change(before, pic) < self.same
                        and peak > max(float(before[..., 2].mean()), float(pic[..., 2].mean()))
                        + self.brighter):
                    return True
        return False
