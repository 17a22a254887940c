"""What the browser tests share: Debian's chromium driven by Playwright, and a small film that
it plays (H.264, a grey level changing each frame, a keyframe per second, a tone)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from scenedet.media.encode import FilmWriter

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def launch_chromium(extra_args: tuple[str, ...] = ()) -> Iterator[object]:
    """A headless chromium for a fixture to yield (skips the test without Playwright or
    chromium)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright): no browser test")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium): no browser test")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args])
        yield browser
        browser.close()


def tone_film(path: Path, seconds: int = 10, fps: int = 12, codec: str = "libx264",
              audio_rate: int = 48_000) -> Path:
    """H.264 (which Debian's chromium plays), a keyframe per second, a tone. Another ``codec``
    (``"mpeg4"`` into an ``.avi``) counts time in frames: MPEG-4 Part 2 allows no finer time
    base, and the container then states the true frame rate."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fine = codec in ("libx264", "libx265")
    with FilmWriter(path, width=160, height=120, fps=fps, gop=fps, audio_rate=audio_rate,
                    codec=codec, time_base=None if fine else Fraction(1, fps)) as w:
        for i in range(seconds * fps):
            w.write_frame(np.full((120, 160, 3), (i * 7) % 256, np.uint8))
            if i % fps == fps - 1:
                t = np.arange(audio_rate) / audio_rate
                w.write_audio((0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    return path
