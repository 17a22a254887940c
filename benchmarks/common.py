"""Helpers shared by the benchmarks: generated films, timing, tables, JSON results."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FILMS = HERE / ".films"  # generated once, git-ignored


def make_film(name: str, *, seconds: int, width: int, height: int, fps: int = 24,
              gop: int | None = None, audio: bool = True) -> Path:
    """A film with moving content and a tone, generated with PyAV once and reused."""
    from scenedet.media.encode import FilmWriter

    FILMS.mkdir(parents=True, exist_ok=True)
    path = FILMS / f"{name}.mp4"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.mp4")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    base = ((xx[..., None] * np.array([1, 2, 3]) + yy[..., None]) % 256).astype(np.uint8)
    noise = rng.integers(0, 40, size=(height, width, 3), dtype=np.uint8)
    rate = 48_000
    with FilmWriter(tmp, width=width, height=height, fps=fps, gop=gop,
                    audio_rate=rate if audio else None) as writer:
        for i in range(seconds * fps):
            shift = (i * 7) % width
            frame = np.roll(base, shift, axis=1) + np.roll(noise, i % 13, axis=0)
            writer.write_frame(frame)
            if audio and i % fps == fps - 1:
                second = i // fps
                t = np.arange(rate) / rate
                tone = 0.2 * np.sin(2 * np.pi * (220 + 20 * (second % 10)) * t)
                writer.write_audio((tone + 0.02 * rng.standard_normal(rate)).astype(np.float32))
    tmp.rename(path)
    return path


def timed(fn, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A Markdown table (pasted into docs/performance.md as is)."""
    def cell(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def save(name: str, payload: dict[str, Any]) -> Path:
    from importlib.metadata import version

    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": {"python": platform.python_version(), "torch": version("torch"),
                           "cpu_count": __import__("os").cpu_count(),
                           "processor": platform.processor() or platform.machine()},
               **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path
