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

The per-frame changes (rounded to 6 decimals, as the result keeps them) are the detector's
``scores``; :func:`content_shots` cuts them, both in :meth:`ContentDetector.finish` and in
:func:`resegment` (``scenedet segment -O threshold=2.5`` on a saved result). Flashes and fades
are judged on the pictures: the result records which frames were flashes and where the dark runs
lie (``settings["judged"]``), so ``threshold``, ``window`` and ``min_shot`` re-cut exactly,
while ``min_change``, ``flash_frames`` and ``dark_level`` stay the run's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from scenedet.plugin import FrameBatch, FrameSegment, UsageError
from scenedet_shots.shotlist import (FrameClock, nominal_times, recut_duration, rounded_scores,
                                     shots_from_cuts, true_runs)

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
        check_options(threshold, min_change, window, min_shot, flash_frames)
        self.threshold, self.min_change = float(threshold), float(min_change)
        self.window, self.min_shot = int(window), int(min_shot)
        self.flash_frames, self.dark_level = int(flash_frames), float(dark_level)
        self.settings: dict[str, Any] = {
            "detector": "content", "threshold": self.threshold, "min_change": self.min_change,
            "window": self.window, "min_shot": self.min_shot, "flash_frames": self.flash_frames,
            "dark_level": self.dark_level}
        self._lag = max(self.window, self.flash_frames)
        self._hsv: deque[tuple[int, np.ndarray]] = deque(maxlen=self._lag + self.flash_frames + 3)
        self._scores: list[float] = []
        self._brightness: list[float] = []
        self._flashes: list[int] = []  # frames changing by min_change that are flashes
        self._next = 1  # next frame to judge
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
        scores = rounded_scores(d.mean(axis=(1, 2, 3))).tolist()  # what the result keeps
        brightness = pictures[..., 2].mean(axis=(1, 2)).tolist()
        for k, picture in enumerate(pictures):
            self._scores.append(scores[k] if self._n else 0.0)
            self._brightness.append(brightness[k])
            self._hsv.append((self._n, picture))
            self._n += 1
            while self._next + self._lag < self._n:
                self._judge(self._next)
                self._next += 1

    @property
    def scores(self) -> np.ndarray:
        """The per-frame changes the result keeps (frame 0: 0)."""
        return np.asarray(self._scores, dtype=np.float64)

    def _frame(self, index: int) -> np.ndarray | None:
        for i, picture in self._hsv:
            if i == index:
                return picture
        return None

    def _judge(self, i: int) -> None:
        """Whether frame ``i``, if it changes enough to be a cut, is a flash (while its
        neighbours' pictures are still held); the cut itself is decided in :func:`content_cuts`."""
        if self._scores[i] >= self.min_change and self._is_flash(i):
            self._flashes.append(i)

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

    def _dark_runs(self) -> list[tuple[int, int]]:
        """Each dark run ``(first, last)`` with picture on both sides (a fade through black)."""
        dark = np.asarray(self._brightness) < self.dark_level
        n = len(dark)
        return [(i, j) for i, j in true_runs(dark) if i > 0 and j + 1 < n]

    def finish(self, info: Any) -> list:
        while self._next < self._n:
            self._judge(self._next)
            self._next += 1
        dark = self._dark_runs()
        self.settings["judged"] = {"min_change": self.min_change,
                                   "flash_frames": self.flash_frames,
                                   "dark_level": self.dark_level, "flashes": list(self._flashes),
                                   "dark_runs": [list(r) for r in dark]}
        return content_shots(self.scores, self._clock.times(), info.duration,
                             threshold=self.threshold, min_change=self.min_change,
                             window=self.window, min_shot=self.min_shot,
                             flashes=self._flashes, dark_runs=dark)


FADE_CONFIDENCE = 0.6


def check_options(threshold: Any, min_change: Any, window: Any, min_shot: Any,
                  flash_frames: Any) -> None:
    """One-line :class:`UsageError` for options the detector cannot work with."""
    try:
        ok = (float(threshold) > 0 and float(min_change) >= 0 and int(window) >= 1
              and int(min_shot) >= 1 and int(flash_frames) >= 0
              and all(int(v) == float(v) for v in (window, min_shot, flash_frames)))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise UsageError("content detector: threshold > 0, min_change >= 0, and whole numbers "
                         "window >= 1, min_shot >= 1 and flash_frames >= 0")


def content_cuts(scores: Sequence[float], *, threshold: float, min_change: float, window: int,
                 min_shot: int, flashes: Collection[int] = (),
                 dark_runs: Sequence[Sequence[int]] = ()) -> list[tuple[int, float]]:
    """``(frame, confidence)`` of each cut of per-frame changes ``scores`` (frame 0: none).

    A frame is a cut when its change is at least ``min_change`` and ``threshold`` times the
    mean change of the ``window`` frames on each side, it is not one of ``flashes``, and it lies
    ``min_shot`` frames after the previous cut (the film's first frame bounds the first shot, as
    PySceneDetect's ``min_scene_len``); then each of ``dark_runs`` (``(first, last)``) with no
    cut within ``min_shot`` frames is a fade, cut at its middle (``min_shot`` frames in at least).
    """
    values = [float(x) for x in scores]
    n = len(values)
    flashed = {int(f) for f in flashes}
    found: list[tuple[int, float]] = []
    for i in range(1, n):
        score = values[i]
        if score < min_change:
            continue
        lo, hi = max(1, i - window), min(n, i + window + 1)
        around = [values[k] for k in range(lo, hi) if k != i]
        mean = sum(around) / len(around) if around else 0.0
        ratio = score / max(mean, 1e-6)
        if ratio < threshold or i in flashed:
            continue
        if i - (found[-1][0] if found else 0) < min_shot:
            continue  # the film's first frame bounds the first shot as a cut would
        found.append((i, min(1.0, ratio / (ratio + threshold))))
    cuts = list(found)
    for first, last in dark_runs:
        at = (int(first) + int(last) + 1) // 2
        if at >= min_shot and all(not first - min_shot <= c <= last + min_shot for c, _ in found):
            cuts.append((at, FADE_CONFIDENCE))
    cuts.sort()
    return cuts


def content_shots(scores: Sequence[float], times: np.ndarray, duration: float, *,
                  threshold: float, min_change: float, window: int, min_shot: int,
                  flashes: Collection[int] = (),
                  dark_runs: Sequence[Sequence[int]] = ()) -> list[FrameSegment]:
    """The shots of per-frame changes (frame ``k`` at ``times[k]``, the last ending at
    ``duration``): what :meth:`ContentDetector.finish` returns and :func:`resegment` re-cuts."""
    cuts = content_cuts(scores, threshold=threshold, min_change=min_change, window=window,
                        min_shot=min_shot, flashes=flashes, dark_runs=dark_runs)
    return shots_from_cuts(cuts, times, len(scores), duration)


#: The options a re-cut cannot change: they were judged on the pictures.
JUDGED = ("min_change", "flash_frames", "dark_level")


def resegment(scores: Any, *, fps: Any, duration: float | None = None, threshold: float = 3.0,
              min_change: float = 12.0, window: int = 2, min_shot: int = 12,
              flash_frames: int = 4, dark_level: float = 16.0,
              judged: dict[str, Any] | None = None) -> list[FrameSegment]:
    """Re-cut a saved ``shots-content`` result's per-frame changes (``DetectorSpec.resegment``):
    the shots :meth:`ContentDetector.finish` returns for them with these options.

    ``judged``: what the run judged on the pictures (its ``settings["judged"]``): the flash
    frames and the dark runs, with the ``min_change``, ``flash_frames`` and ``dark_level`` they
    were judged at; those three cannot change in a re-cut (one-line :class:`UsageError`).
    """
    check_options(threshold, min_change, window, min_shot, flash_frames)
    judged = dict(judged or {})
    given = {"min_change": float(min_change), "flash_frames": int(flash_frames),
             "dark_level": float(dark_level)}
    for key in JUDGED:
        if key in judged and float(judged[key]) != float(given[key]):
            raise UsageError(f"shots-content: {key} was judged on the pictures at "
                             f"{judged[key]}; a re-cut keeps it (rerun `scenedet run -p "
                             f"shots-content -O {key}={given[key]}` to change it)")
    values = rounded_scores(scores)
    return content_shots(values, nominal_times(len(values), fps),
                         recut_duration(len(values), fps, duration), threshold=float(threshold),
                         min_change=float(min_change), window=int(window),
                         min_shot=int(min_shot), flashes=judged.get("flashes") or (),
                         dark_runs=judged.get("dark_runs") or ())
