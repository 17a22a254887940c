"""Three technical cues, each a per-frame (or per-window) test plus a minimum duration.

* **black**: a frame is black when its mean luma (BT.601, 0-255) is at most ``max_mean`` and at
  least ``coverage`` of its pixels are darker than ``pixel_threshold`` (FFmpeg's ``blackdetect``
  rule, with its 98% coverage);
* **silence**: 50 ms windows whose RMS level is below ``threshold_db`` dBFS (FFmpeg's
  ``silencedetect``), on films and on plain audio files;
* **colour bars**: the top two thirds of the frame split into seven even strips whose colours,
  relative to the first (grey/white) strip, follow the SMPTE order grey, yellow, cyan, green,
  magenta, red, blue, each strip flat.

A run of matching frames (windows) at least ``min_duration`` seconds long is one segment.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scenedet.plugin import AudioChunk, FrameBatch, FrameSegment, UsageError

SIZE = (64, 36)
BAR_PATTERN = np.array([(1, 1, 1), (1, 1, 0), (0, 1, 1), (0, 1, 0), (1, 0, 1), (1, 0, 0),
                        (0, 0, 1)], dtype=np.float32)


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` index runs of ``True`` in ``flags``."""
    f = np.concatenate([[False], np.asarray(flags, bool), [False]])
    edges = np.flatnonzero(f[1:] != f[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


class _FrameFlags:
    """Shared by the picture cues: one bool and one time per frame, runs into segments."""

    label = ""

    def __init__(self, min_duration: float) -> None:
        if min_duration < 0:
            raise UsageError(f"min_duration must be >= 0 seconds, got {min_duration}")
        self.min_duration = float(min_duration)
        self._flags: list[np.ndarray] = []
        self._times: list[np.ndarray] = []

    def add_audio(self, chunk: Any) -> None:
        pass

    def add_frames(self, batch: FrameBatch) -> None:
        self._flags.append(self.test(batch.frames(SIZE)))
        self._times.append(batch.times)

    def test(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def finish(self, info: Any) -> list[FrameSegment]:
        if not self._flags:
            return []
        flags, times = np.concatenate(self._flags), np.concatenate(self._times)
        out = []
        for a, b in runs(flags):
            start = float(times[a])
            end = float(times[b]) if b < len(times) else float(info.duration)
            if end - start >= self.min_duration - 1e-9:
                out.append(FrameSegment(start=start, end=end, start_frame=a, end_frame=b,
                                        score=1.0, label=self.label))
        return out


class BlackDetector(_FrameFlags):
    label = "black"

    def __init__(self, *, max_mean: float = 24.0, pixel_threshold: float = 32.0,
                 coverage: float = 0.98, min_duration: float = 0.5) -> None:
        super().__init__(min_duration)
        if not 0 < coverage <= 1:
            raise UsageError(f"coverage must be in (0, 1], got {coverage}")
        self.max_mean, self.pixel_threshold, self.coverage = float(max_mean), float(pixel_threshold), float(coverage)
        self.settings = {"max_mean": self.max_mean, "pixel_threshold": self.pixel_threshold,
                         "coverage": self.coverage, "min_duration": self.min_duration}

    def test(self, frames: np.ndarray) -> np.ndarray:
        x = frames.astype(np.float32)
        luma = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
        dark = (luma < self.pixel_threshold).mean(axis=(1, 2))
        return (luma.mean(axis=(1, 2)) <= self.max_mean) & (dark >= self.coverage)


class ColourBarsDetector(_FrameFlags):
    label = "bars"

    def __init__(self, *, tolerance: float = 0.25, flatness: float = 20.0,
                 min_level: float = 100.0, min_duration: float = 0.5) -> None:
        super().__init__(min_duration)
        self.tolerance, self.flatness, self.min_level = float(tolerance), float(flatness), float(min_level)
        self.settings = {"tolerance": self.tolerance, "flatness": self.flatness,
                         "min_level": self.min_level, "min_duration": self.min_duration}

    def test(self, frames: np.ndarray) -> np.ndarray:
        n, h, w, _ = frames.shape
        top = frames[:, : h * 2 // 3].astype(np.float32)
        edges = np.linspace(0, w, 8).round().astype(int)
        ok = np.ones(n, bool)
        level = None
        for k in range(7):
            # the middle half of each strip: scaling blurs the edges between bars
            a, b = edges[k], edges[k + 1]
            q = (b - a) // 4
            strip = top[:, :, a + q: b - q]
            mean = strip.mean(axis=(1, 2))
            ok &= strip.std(axis=(1, 2)).max(axis=-1) <= self.flatness
            if level is None:
                level = mean.mean(axis=-1)
                ok &= level >= self.min_level
            ok &= (np.abs(mean / np.maximum(level, 1.0)[:, None] - BAR_PATTERN[k]) <= self.tolerance).all(axis=-1)
        return ok


class SilenceDetector:
    """RMS level per 50 ms window; sound in any sample rate."""

    label = "silence"

    def __init__(self, *, threshold_db: float = -50.0, min_duration: float = 1.0,
                 window: float = 0.05) -> None:
        if min_duration < 0 or window <= 0:
            raise UsageError("silence: min_duration >= 0 and window > 0 seconds")
        self.threshold_db, self.min_duration, self.window = float(threshold_db), float(min_duration), float(window)
        self.settings = {"threshold_db": self.threshold_db, "min_duration": self.min_duration,
                         "window": self.window}
        self._pending = np.zeros(0, np.float32)
        self._pending_start: float | None = None
        self._rate: int | None = None
        self._levels: list[float] = []
        self._starts: list[float] = []

    def add_frames(self, batch: Any) -> None:
        pass

    def add_audio(self, chunk: AudioChunk) -> None:
        samples = chunk.samples
        if self._rate is None:
            if chunk.start < 0:  # sound before the first frame (film time 0): not the film's
                samples = samples[int(round(-chunk.start * chunk.rate)):]
                if not len(samples):
                    return
            self._rate = chunk.rate
            self._pending_start = max(0.0, chunk.start)
        n = max(1, int(round(self.window * self._rate)))
        data = np.concatenate([self._pending, samples])
        whole = len(data) // n
        if whole:
            blocks = data[: whole * n].reshape(whole, n).astype(np.float64)
            rms = np.sqrt((blocks ** 2).mean(axis=1))
            for k, r in enumerate(rms):
                self._levels.append(20 * math.log10(r) if r > 0 else -math.inf)
                self._starts.append(self._pending_start + k * n / self._rate)  # type: ignore[operator]
            self._pending_start += whole * n / self._rate  # type: ignore[operator]
        self._pending = data[whole * n:]

    def finish(self, info: Any) -> list[FrameSegment]:
        if not self._levels:
            return []
        quiet = np.asarray(self._levels) < self.threshold_db
        out = []
        fps = getattr(info, "fps", 0.0) or 0.0
        for a, b in runs(quiet):
            start = self._starts[a]
            end = self._starts[b] if b < len(self._starts) else self._starts[-1] + self.window
            end = min(end, info.duration) if info.duration else end
            if end - start >= self.min_duration - 1e-9:
                frames = ((int(round(start * fps)), int(round(end * fps))) if fps else (None, None))
                out.append(FrameSegment(start=start, end=end, start_frame=frames[0],
                                        end_frame=frames[1], score=1.0, label="silence"))
        return out


class CuesDetector:
    """Black, silence and colour bars in one detector; segments labelled, in time order."""

    def __init__(self, **options: Any) -> None:
        parts: dict[str, dict[str, Any]] = {"black": {}, "silence": {}, "bars": {}}
        for key, value in options.items():
            cue, _, name = key.partition("_")
            if cue not in parts or not name:
                raise UsageError(f"cues option {key!r}: use black_<option>, silence_<option> "
                                 f"or bars_<option>, e.g. black_min_duration=1")
            parts[cue][name] = value
        try:
            self.parts = [BlackDetector(**parts["black"]), SilenceDetector(**parts["silence"]),
                          ColourBarsDetector(**parts["bars"])]
        except TypeError as exc:
            raise UsageError(f"cues: {exc}") from None
        self.settings = {p.label: p.settings for p in self.parts}

    def add_frames(self, batch: FrameBatch) -> None:
        for p in self.parts:
            p.add_frames(batch)

    def add_audio(self, chunk: AudioChunk) -> None:
        for p in self.parts:
            p.add_audio(chunk)

    def finish(self, info: Any) -> list[FrameSegment]:
        found = [s for p in self.parts for s in p.finish(info)]
        return sorted(found, key=lambda s: (s.start, s.label))
