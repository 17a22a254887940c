"""Generated films, results and a running review server for the review tests.

Films are tiny H.264 MP4s (which Debian's chromium plays) or MPEG-4 Part 2 AVIs (which no
browser plays), written with :class:`~scenedet.media.encode.FilmWriter`. Results are result
documents as ``scenedet run`` writes them: a scene's (per-second scores, segments) and a shot
detector's (``cuts``). :func:`serving` starts a :class:`~scenedet.review.runner.ReviewServer`
on a free port and always stops it (bounded by a timeout), so no test can hang on it.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import tone_film

#: Seconds a test waits for a server process to start or end.
TIMEOUT = 60
#: The detected scenes of :func:`write_result` (start, end, score).
SCENES = [(1.0, 3.0, 0.9), (5.0, 7.0, 0.8)]
#: The shot cuts of :func:`write_shots`.
CUTS = [2.5, 4.0, 6.5]


def write_film(path: Path, seconds: int = 10, fps: int = 12, codec: str = "libx264") -> Path:
    """A film whose grey level changes with each frame, a keyframe per second, a tone."""
    return tone_film(path, seconds, fps, codec, audio_rate=16_000)


def write_result(path: Path, film: Path, seconds: int = 10) -> Path:
    scores = [0.1] * seconds
    for start, end, p in SCENES:
        for s in range(int(start), min(int(end), seconds)):
            scores[s] = p
    path.write_text(json.dumps({
        "video": str(film), "scene": "kissing", "kind": "scene", "duration": float(seconds),
        "segments": [{"start": s, "end": min(e, seconds), "score": p}
                     for s, e, p in SCENES if s < seconds],
        "scores": scores}))
    return path


def write_shots(path: Path, film: Path, seconds: int = 10) -> Path:
    bounds = [0.0, *CUTS, float(seconds)]
    path.write_text(json.dumps({
        "video": str(film), "scene": "shots", "kind": "detector", "duration": float(seconds),
        "segments": [{"start": a, "end": b, "score": 1.0} for a, b in zip(bounds, bounds[1:])],
        "cuts": [{"frame": int(t * 12), "time": t, "score": 0.9} for t in CUTS]}))
    return path


@contextlib.contextmanager
def serving(session, **kwargs) -> Iterator:
    from scenedet.review.runner import ReviewServer

    server = ReviewServer(session, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def start_review(args: list[str], cwd: Path) -> tuple[subprocess.Popen, str]:
    """`scenedet review ARGS --no-browser` in a process of its own, and the address it printed;
    the caller kills it (``proc.kill()`` in a ``finally``)."""
    proc = subprocess.Popen([sys.executable, "-m", "scenedet", "review", *args, "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    deadline = time.monotonic() + TIMEOUT
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"Open (http://\S+)", line)
        if found:
            return proc, found.group(1)
    proc.kill()
    pytest.fail(f"no address printed: {lines} {proc.stderr.read()}")
