"""Speech segments from per-window speech probabilities: Silero's own rule, streaming.

A segment opens at the first window whose probability reaches ``threshold``; it stays open
while the probability stays above ``threshold - release`` (hysteresis: a word's quiet end does
not close it), and closes where the probability fell below that, once it has stayed there for
``min_silence`` seconds (shorter pauses belong to the speech). Segments shorter than
``min_speech`` are dropped (a cough, a click). Each kept segment is widened by ``padding`` on
both sides (Silero's ``speech_pad``); two segments whose padding would overlap meet halfway
across their gap. This is ``get_speech_timestamps`` of the ``silero-vad`` package without its
maximum segment length (which splits speech for speech recognisers, not for editors).

:class:`Cutter` holds only the open segment and the segments found, so the detector feeds it
as the probabilities arrive; :func:`speech_segments` runs it over saved probabilities, which
is how ``finish()`` and ``resegment`` give the same segments.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from scenedet.plugin import UsageError


#: The defaults, tuned on generated films apart from the evaluation ones (benchmarks/speech.py
#: --tune): Silero's own, but for a lower threshold and a narrower hysteresis, which keep more
#: speech under loud noise and cost nothing measurable in cleaner sound (docs/performance.md).
DEFAULTS = {"threshold": 0.4, "release": 0.1, "min_speech": 0.25, "min_silence": 0.1,
            "padding": 0.03}


@attrs.frozen(kw_only=True)
class CutSettings:
    """The options that turn probabilities into segments, checked (seconds, probabilities)."""

    threshold: float = DEFAULTS["threshold"]
    release: float = DEFAULTS["release"]
    min_speech: float = DEFAULTS["min_speech"]
    min_silence: float = DEFAULTS["min_silence"]
    padding: float = DEFAULTS["padding"]

    def __attrs_post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise UsageError(f"speech: threshold must be in (0, 1), got {self.threshold}")
        if not 0 <= self.release < 1:
            raise UsageError(f"speech: release must be in [0, 1), got {self.release}")
        for name in ("min_speech", "min_silence", "padding"):
            value = getattr(self, name)
            if not 0 <= value <= 3600:
                raise UsageError(f"speech: {name} must be between 0 and 3600 seconds, got {value}")

    @property
    def low(self) -> float:
        """Below this the speech may end (``release`` under the threshold, at least 0.01)."""
        return max(self.threshold - self.release, 0.01)


class Cutter:
    """Segments as ``(start, end)`` window indices (end exclusive, before padding), streaming."""

    def __init__(self, settings: CutSettings, window: float) -> None:
        self.settings, self.window = settings, float(window)
        self._min_silence = settings.min_silence / self.window  # in windows
        self._min_speech = settings.min_speech / self.window
        self._start: int | None = None  # the open segment's first window
        self._quiet: int | None = None  # where the probability last fell below `low`
        self._n = 0
        self.found: list[tuple[int, int]] = []

    def add(self, probabilities: Iterable[float]) -> None:
        high, low = self.settings.threshold, self.settings.low
        for p in probabilities:
            i = self._n
            self._n += 1
            if self._start is None:
                if p >= high:
                    self._start, self._quiet = i, None
                continue
            if p >= high:
                self._quiet = None
            elif p < low:
                if self._quiet is None:
                    self._quiet = i
                if i - self._quiet >= self._min_silence:
                    self._close(self._quiet)

    def _close(self, end: int) -> None:
        assert self._start is not None
        if end - self._start > self._min_speech:
            self.found.append((self._start, end))
        self._start = self._quiet = None

    def finish(self) -> list[tuple[int, int]]:
        """Close a segment still open at the end of the sound; the segments found."""
        if self._start is not None:
            self._close(self._n)
        return self.found


def padded(found: list[tuple[int, int]], window: float, padding: float, offset: float,
           end: float) -> list[tuple[float, float]]:
    """``found`` (window indices) as seconds: window 0 starts at ``offset``, each segment
    widened by ``padding`` within ``[0, end]``, neighbours meeting halfway where they would
    overlap."""
    out: list[list[float]] = []
    for a, b in found:
        start, stop = offset + a * window, min(offset + b * window, end)
        lo, hi = max(0.0, start - padding), min(end, stop + padding)
        if out and lo < out[-1][1]:
            middle = (out[-1][2] + start) / 2  # halfway across the unpadded gap
            out[-1][1], lo = middle, middle
        out.append([lo, hi, stop])
    return [(lo, hi) for lo, hi, _ in out if hi > lo]


def speech_segments(probabilities: Iterable[float], settings: CutSettings, *, window: float,
                    offset: float, end: float) -> list[tuple[float, float]]:
    """The segments, in seconds, that ``probabilities`` (one per window from ``offset``) give."""
    cutter = Cutter(settings, window)
    cutter.add(probabilities)
    return padded(cutter.finish(), window, settings.padding, offset, end)
