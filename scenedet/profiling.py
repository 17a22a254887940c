"""Where a run's time goes: named stages timed cheaply, summed across threads, printed at the end.

A run decodes on one thread (or several worker threads/processes) while the models work on
another, so "where the time goes" is not one stopwatch. Each stage adds its own seconds to a
process-wide :class:`Profile`; the report gives every stage's seconds, calls and share of the
run's wall time. Stages on different threads overlap, so the shares may add up to more than
100 %; ``wait`` (the models waiting for input) is the one to read for "is decoding the
bottleneck".

Off by default, and then :func:`stage` costs one attribute test: nothing is measured unless
:func:`enable` was called or ``SCENEDET_PROFILE=1`` is set. On CUDA, timing a stage
synchronises the device at its end (pass ``sync=True``), so a profiled GPU run is a little
slower than an unprofiled one: the split is right, the total is pessimistic.

Stage names used by scenedet: ``demux``, ``decode``, ``convert`` (colour conversion and
scaling to RGB), ``extract``, ``preprocess``, ``h2d`` (host-to-device copy),
``backbone:<name>``, ``head``, ``segment``, ``wait``. Plugins may add their own.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import attrs


def env_enabled() -> bool:
    """Whether ``SCENEDET_PROFILE`` asks for a profile (``1``, ``true``, ``yes``)."""
    return os.environ.get("SCENEDET_PROFILE", "").strip().lower() in ("1", "true", "yes", "on")


@attrs.frozen
class StageTime:
    """One stage's total: seconds summed over all threads, and how many times it ran."""

    name: str
    seconds: float
    calls: int


@attrs.define
class Profile:
    """Seconds per stage since :meth:`reset`; thread-safe."""

    enabled: bool = attrs.field(factory=env_enabled)
    _totals: dict[str, list[float]] = attrs.field(factory=dict, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    _started: float = attrs.field(factory=time.perf_counter, init=False)

    def reset(self) -> None:
        """Forget what was measured; the wall clock restarts now."""
        with self._lock:
            self._totals.clear()
            self._started = time.perf_counter()

    def add(self, name: str, seconds: float, calls: int = 1) -> None:
        """Add ``seconds`` to stage ``name`` (no-op when disabled)."""
        if not self.enabled:
            return
        with self._lock:
            total = self._totals.setdefault(name, [0.0, 0])
            total[0] += seconds
            total[1] += calls

    def stages(self) -> list[StageTime]:
        """Every stage measured so far, in the order each was first seen."""
        with self._lock:
            return [StageTime(name, t[0], int(t[1])) for name, t in self._totals.items()]

    def wall(self) -> float:
        """Seconds since the profile was (re)started."""
        return time.perf_counter() - self._started

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-ready data (what the benchmarks store)."""
        wall = self.wall()
        return {"wall_s": round(wall, 6),
                "stages": {s.name: {"seconds": round(s.seconds, 6), "calls": s.calls,
                                    "share": round(s.seconds / wall, 4) if wall > 0 else 0.0}
                           for s in self.stages()}}

    def report(self) -> str:
        """A plain-text table: stage, seconds, calls, share of the wall time."""
        wall = self.wall()
        return table(f"{wall:.2f} s wall (stages on other threads overlap)",
                     [(s.name, s.seconds, s.calls, s.seconds / wall if wall > 0 else 0.0)
                      for s in self.stages()])


def table(title: str, rows: Iterable[tuple[str, float, int, float]]) -> str:
    """The profile table ``--profile`` prints: ``profile: TITLE``, then one line per
    ``(stage, seconds, calls, share)``."""
    lines = [f"profile: {title}", f"  {'stage':<24} {'seconds':>9} {'calls':>8} {'share':>7}"]
    lines += [f"  {name:<24} {seconds:>9.3f} {calls:>8} {share:>7.1%}"
              for name, seconds, calls, share in rows]
    return "\n".join(lines)


#: The process-wide profile every stage adds to.
PROFILE = Profile()


def enable(on: bool = True) -> Profile:
    """Switch the process-wide profile on (and restart it) or off; returns it."""
    PROFILE.enabled = on
    PROFILE.reset()
    return PROFILE


@contextlib.contextmanager
def stage(name: str, *, sync: Any = None) -> Iterator[None]:
    """Time the ``with`` block as stage ``name``.

    ``sync``: a CUDA device (or anything ``torch.cuda.synchronize`` takes) to wait for before
    the clock stops, so that queued kernels are counted where they were queued.
    """
    if not PROFILE.enabled:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        if sync is not None:
            import torch

            torch.cuda.synchronize(sync)
        PROFILE.add(name, time.perf_counter() - start)
