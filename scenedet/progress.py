"""A one-line progress display on stderr: film seconds done, rate, ETA.

Quiet unless stderr is a terminal (so logs and pipes stay clean) or when asked to be quiet.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from scenedet.timefmt import format_time


class Progress:
    def __init__(self, total: int, *, label: str = "", enabled: bool | None = None,
                 stream: TextIO | None = None, interval: float = 0.25) -> None:
        self.stream = stream or sys.stderr
        self.enabled = _isatty(self.stream) if enabled is None else enabled
        self.total = total
        self.label = label
        self.done = 0
        self.interval = interval
        self._start = time.perf_counter()
        self._last = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.interval or self.done >= self.total):
            self._last = now
            self.stream.write("\r" + self.line(now) + "\x1b[K")
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.perf_counter()) - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta_text = format_time(eta)[:8] if eta == eta else "--:--:--"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (f"{self.label}{self.done}/{self.total} s ({pct:3.0f}%)  "
                f"{rate:5.1f} film-s/s  ETA {eta_text}")

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
