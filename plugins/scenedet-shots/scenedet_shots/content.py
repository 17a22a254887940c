"""A fast classical shot detector: frame-to-frame HSV change against its neighbourhood.

Per frame, the mean absolute change of hue, saturation and value from the previous frame (on
OpenCV's 8-bit HSV scales, so the numbers read like PySceneDetect's ``content_val``). A frame
starts a new shot when its change is at least ``min_change`` and ``threshold`` times the mean
change of the ``window`` frames on each side (PySceneDetect's AdaptiveDetector rule: camera
motion raises the neighbours too, a cut stands alone), at least ``min_shot`` frames after the
previous cut or the film's first frame (as PySceneDetect's ``min_scene_len`` counts from the
first frame: no shot shorter than ``min_shot`` opens the film, such as the single black frame
before the first picture of ``Megamind.avi``). Two hard negatives are checked explicitly:

* a flash (a few bright frames inside a shot): the picture after the spike matches the picture
  before it, within ``flash_frames``; the spike is then no cut;
* a fade through black: no single frame changes much, so a run of dark frames (mean value below
  ``dark_level``) that ends in picture again is a cut, placed at the run's middle.

Dissolves without black in between are mostly missed: that is what TransNetV2 is for.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from scenedet.plugin import FrameBatch, UsageError
from scenedet_shots.shotlist import FrameClock, shots_from_cuts, true_runs

SIZE = (64, 36)


def hsv(rgb: np.ndarray) -> np.ndarray:
    """OpenCV-style HSV of ``(..., 3)`` uint8 RGB as float32: H in [0, 180), S and V in [0, 255]."""
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = np.maximum(np.maximum(r, g), b)
    delta = v - np.minimum(np.minimum(r, g), b)
    s = np.where(v > 0, delta * 255.0 / np.maximum(v, 1e-6), 0.0)
    safe = np.maximum(delta, 1e-6)
    h = np.where(v == r, (g - b) / safe, np.where(v == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = np.where(delta > 0, (h * 30.0) % 180.0, 0.0)
    return np.stack([h, s, v], axis=-1).astype(np.float32)


def change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute HSV difference of two frames (hue difference on its circle)."""
    d = np.abs(a - b)
    d[..., 0] = np.minimum(d[..., 0], 180.0 - d[..., 0])
    return float(d.mean())


class ContentDetector:
    """Streaming; holds a few frames' HSV and one float per frame."""

    def __init__(self, *, threshold: float = 3.0, min_change: float = 12.0, window: int = 2,
                 min_shot: int = 12, flash_frames: int = 4, dark_level: float = 16.0) -> None:
        if threshold <= 0 or min_change < 0 or window < 1 or min_shot < 1 or flash_frames < 0:
            raise UsageError("content detector: threshold > 0, min_change >= 0, window >= 1, "
                             "min_shot >= 1 and flash_frames >= 0")
        self.threshold, self.min_change = float(threshold), float(min_change)
        self.window, self.min_shot = int(window), int(min_shot)
        self.flash_frames, self.dark_level = int(flash_frames), float(dark_level)
        self.settings = {"detector": "content", "threshold": self.threshold,
                         "min_change": self.min_change, "window": self.window,
                         "min_shot": self.min_shot, "flash_frames": self.flash_frames,
                         "dark_level": self.dark_level}
        self._lag = max(self.window, self.flash_frames)
        self._hsv: deque[tuple[int, np.ndarray]] = deque(maxlen=self._lag + self.flash_frames + 3)
        self._scores: list[float] = []
        self._brightness: list[float] = []
        self._cuts: list[tuple[int, float]] = []
        self._next = 1  # next frame to decide on
        self._clock = FrameClock()
        self._n = 0

    def add_audio(self, chunk: Any) -> None:
        pass

    def add_frames(self, batch: FrameBatch) -> None:
        self._clock.add(batch.times)
        pictures = hsv(batch.frames(SIZE))
        if not len(pictures):
            return
        # all of the batch's frame-to-frame changes at once
        before = np.concatenate([self._hsv[-1][1][None] if self._hsv else pictures[:1],
                                 pictures[:-1]])
        d = np.abs(pictures - before)
        d[..., 0] = np.minimum(d[..., 0], 180.0 - d[..., 0])
        scores = d.mean(axis=(1, 2, 3)).tolist()
        brightness = pictures[..., 2].mean(axis=(1, 2)).tolist()
        for k, picture in enumerate(pictures):
            self._scores.append(scores[k] if self._n else 0.0)
            self._brightness.append(brightness[k])
            self._hsv.append((self._n, picture))
            self._n += 1
            while self._next + self._lag < self._n:
                self._decide(self._next)
                self._next += 1

    def _frame(self, index: int) -> np.ndarray | None:
        for i, picture in self._hsv:
            if i == index:
                return picture
        return None

    def _decide(self, i: int) -> None:
        scores = self._scores
        score = scores[i]
        if score < self.min_change:
            return
        lo, hi = max(1, i - self.window), min(self._n, i + self.window + 1)
        around = [scores[k] for k in range(lo, hi) if k != i]
        mean = sum(around) / len(around) if around else 0.0
        ratio = score / max(mean, 1e-6)
        if ratio < self.threshold or self._is_flash(i):
            return
        if i - (self._cuts[-1][0] if self._cuts else 0) < self.min_shot:
            return  # the film's first frame bounds the first shot as a cut would
        self._cuts.append((i, min(1.0, ratio / (ratio + self.threshold))))

    def _is_flash(self, i: int) -> bool:
        """Whether some frame up to ``flash_frames`` after ``i`` looks like one just before it."""
        f = self.flash_frames
        for a in range(i - 1, max(-1, i - 2 - f), -1):
            before = self._frame(a)
            if before is None:
                break
            for b in range(i, min(self._n, a + f + 2)):
                if b - a < 2:
                    continue
                after = self._frame(b)
                if after is not None and change(before, after) < self.min_change:
                    return True
        return False

    def _fade_cuts(self) -> list[tuple[tuple[int, int], float]]:
        """Each dark run ``(first, last)`` with picture on both sides, and its confidence."""
        dark = np.asarray(self._brightness) < self.dark_level
        n = len(dark)
        return [((i, j), 0.6) for i, j in true_runs(dark) if i > 0 and j + 1 < n]

    def finish(self, info: Any) -> list:
        while self._next < self._n:
            self._decide(self._next)
            self._next += 1
        cuts = list(self._cuts)
        for (first, last), conf in self._fade_cuts():
            at = (first + last + 1) // 2
            if at >= self.min_shot and all(not first - self.min_shot <= c <= last + self.min_shot
                                           for c, _ in self._cuts):
                cuts.append((at, conf))
        cuts.sort()
        return shots_from_cuts(cuts, self._clock.times(), self._n, info.duration)
