"""The glibc malloc tuning that keeps RSS flat with large decode buffers (inference/allocator.py)."""

import ctypes
import subprocess
import sys

import pytest

from scenedet.inference import allocator

LIBC = allocator._glibc()
pytestmark = pytest.mark.skipif(LIBC is None or not hasattr(LIBC, "mallinfo2"),
                                reason="glibc >= 2.33 only (mallopt thresholds, mallinfo2)")

# Free a 4 MB block, then ask for 3 MB: is the 3 MB block its own mapping (hblks + 1)?
PROBE = """
import ctypes, sys
from scenedet.inference import allocator
if sys.argv[1] == "tuned":
    assert allocator.tune_allocator()
libc = allocator._glibc()
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(4 << 20))
before = allocator.mallinfo2()["hblks"]
block = libc.malloc(3 << 20)
print(allocator.mallinfo2()["hblks"] - before)
libc.free(block)
"""


def _new_mappings(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], check=True, capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin"}).stdout
    return int(out.strip())


def test_glibcs_dynamic_threshold_moves_large_blocks_into_the_heap_and_the_tuning_stops_it():
    # The cause of the RSS creep: after one large free, a 3 MB still comes from an arena...
    assert _new_mappings("default") == 0
    # ... and with the fixed threshold it gets (and later returns) its own mapping.
    assert _new_mappings("tuned") == 1


def test_tuning_is_applied_once_and_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(allocator, "_state", {})
    monkeypatch.setenv("SCENEDET_MALLOC_TUNING", "off")
    assert allocator.tune_allocator() is False
    monkeypatch.delenv("SCENEDET_MALLOC_TUNING")
    assert allocator.tune_allocator() is False  # the first answer stands for the process
    monkeypatch.setattr(allocator, "_state", {})
    assert allocator.tune_allocator() is True


def test_score_film_applies_the_tuning(monkeypatch):
    from scenedet.inference import pipeline, stream

    calls = []
    monkeypatch.setattr(allocator, "tune_allocator", lambda: calls.append(1) or True)
    monkeypatch.setattr(stream, "device_batches", lambda *a, **k: (b for b in ()))
    scores = pipeline.score_film(type("M", (), {"backbones": []})(), "film.mp4")
    assert calls == [1] and len(scores) == 0


def test_mallinfo2_reports_the_mmapped_chunks():
    info = allocator.mallinfo2()
    assert set(info) >= {"arena", "hblks", "hblkhd", "uordblks", "fordblks"}
    LIBC.malloc.restype = ctypes.c_void_p
    LIBC.free.argtypes = [ctypes.c_void_p]
    block = LIBC.malloc(64 << 20)  # above glibc's largest dynamic threshold: always mmapped
    try:
        assert allocator.mallinfo2()["hblkhd"] >= info["hblkhd"] + (64 << 20)
    finally:
        LIBC.free(block)
