"""Progress of a whole library on stderr: films done / failed / left, film-seconds per second, ETA.

Modes: ``"rich"`` (a live bar drawn by `rich <https://rich.readthedocs.io>`_, when installed),
``"line"`` (one self-rewriting line, like :mod:`scenedet.progress`), ``"log"`` (one line per
finished film, for logs and pipes) and ``"off"``. :func:`auto_mode` picks rich or line on a
terminal and log otherwise. The ETA is the films left over the rate of films finished so far,
so it settles once each worker has finished a film or two.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from scenedet.batch.jobs import FilmOutcome
from scenedet.timefmt import format_time

MODES = ("auto", "rich", "line", "log", "off")


def auto_mode(stream: TextIO | None = None) -> str:
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        return "log"
    try:
        import rich  # noqa: F401
    except ImportError:
        return "line"
    return "rich"


class BatchProgress:
    """Counts films as they finish and shows it (see the module doc for ``mode``)."""

    def __init__(self, total: int, *, skipped: int = 0, mode: str = "auto",
                 stream: TextIO | None = None, interval: float = 0.25) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.stream = stream or sys.stderr
        self.mode = auto_mode(self.stream) if mode == "auto" else mode
        self.total = total
        self.skipped = skipped
        self.done = 0
        self.failed = 0
        self.film_seconds = 0
        self.interval = interval
        self._start = time.perf_counter()
        self._last = 0.0
        self._rich: Any = None
        self._task: Any = None
        if self.mode == "rich":
            self._start_rich()

    @property
    def left(self) -> int:
        return self.total - self.done - self.failed

    def _start_rich(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._rich = Progress(TextColumn("films"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.fields[stats]}"),
                              console=Console(file=self.stream), transient=False)
        self._task = self._rich.add_task("batch", total=self.total, stats=self.stats())
        self._rich.start()

    def stats(self, now: float | None = None) -> str:
        """``"3 done, 1 failed, 4 left  12.3 film-s/s  ETA 00:01:10"``."""
        elapsed = (now or time.perf_counter()) - self._start
        finished = self.done + self.failed
        rate = self.film_seconds / elapsed if elapsed > 0 else 0.0
        if finished and self.left:
            eta = format_time(self.left * elapsed / finished)[:8]
        else:
            eta = "--:--:--" if self.left else format_time(0)[:8]
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return (f"{self.done} done, {self.failed} failed, {self.left} left{skipped}  "
                f"{rate:.1f} film-s/s  ETA {eta}")

    def update(self, outcome: FilmOutcome) -> None:
        if outcome.status == "done":
            self.done += 1
            self.film_seconds += outcome.seconds
        else:
            self.failed += 1
        now = time.perf_counter()
        if self.mode == "rich":
            self._rich.update(self._task, completed=self.done + self.failed, stats=self.stats(now))
        elif self.mode == "log":
            what = (f"{outcome.seconds} s, {outcome.scenes} scene(s)" if outcome.status == "done"
                    else outcome.error)
            if outcome.damage:
                what += " (damaged: see the summary's last lines)"
            self._write(f"[{self.done + self.failed}/{self.total}] {outcome.status} "
                        f"{outcome.path} ({outcome.wall:.1f} s): {what}\n")
        elif self.mode == "line" and (now - self._last >= self.interval or not self.left):
            self._last = now
            self._write(f"\r{self.done + self.failed}/{self.total} films: {self.stats(now)}\x1b[K")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.mode == "rich" and self._rich is not None:
            self._rich.stop()
            self._rich = None
        elif self.mode == "line":
            self._write("\n")
