"""Ctrl-C and SIGTERM mid-run: the decoding thread stops, no partial output is left, one line is
printed, and the exit code is 130 (SIGINT) or 143 (SIGTERM). Never an abort, never a hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

TIMEOUT = 120  # seconds for any one subprocess: a hang fails the test instead of CI

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def long_film(tmp_path_factory) -> Path:
    """240 s of tiny video with audio: minutes to score, a second to write."""
    from scenedet.media.encode import FilmWriter

    path = tmp_path_factory.mktemp("interrupt") / "long film.mp4"
    with FilmWriter(path, width=64, height=48, fps=4, gop=8, audio_rate=16_000) as w:
        t = np.arange(16_000) / 16_000
        for second in range(240):
            w.write_audio((0.1 * np.sin(2 * np.pi * (200 + second) * t)).astype(np.float32))
            for i in range(4):
                w.write_frame(np.full((48, 64, 3), (second * 7 + i) % 256, np.uint8))
    return path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    import scenedet
    from scenedet.inference.modelfile import ModelMeta, save_model_file

    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    torch.manual_seed(0)
    head = torch.nn.Linear(640, 2)
    path = tmp_path_factory.mktemp("interrupt-model") / "m.pt"
    save_model_file(path, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                    backbone_weights=tuple(b.weights_id for b in backbones),
                                    feature_dims=(512, 128)), head.state_dict())
    return path


def _wait_until_reading(proc: subprocess.Popen, film: Path, deadline: float) -> bool:
    """Wait until the process holds ``film`` open (decoding started); False if it ended first."""
    fd_dir = Path(f"/proc/{proc.pid}/fd")
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if any(os.readlink(fd) == str(film) for fd in fd_dir.iterdir()):
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _interrupt(args: list[str], film: Path, sig: int, extra_delay: float, cwd: Path
               ) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-m", "scenedet", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)
    try:
        started = _wait_until_reading(proc, film.resolve(), time.monotonic() + TIMEOUT)
        if not started:
            out, err = proc.communicate(timeout=TIMEOUT)
            pytest.fail(f"the run ended before it was interrupted: {proc.returncode} {err}")
        time.sleep(extra_delay)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the decoding start")
@pytest.mark.parametrize("sig, code, line, extra_delay", [
    (signal.SIGINT, 130, "Interrupted.", 0.0), (signal.SIGINT, 130, "Interrupted.", 1.5),
    (signal.SIGTERM, 143, "Terminated.", 0.5)])
def test_run_interrupted_mid_film_stops_cleanly(long_film, model_file, tmp_path, sig, code, line,
                                                extra_delay):
    out_dir = tmp_path / "out"
    done = _interrupt(["run", "-p", "kissing", "-m", str(model_file), str(long_film), "-q",
                       "-o", str(out_dir / "r.json")], long_film, sig, extra_delay, tmp_path)
    assert done.returncode == code, done.stderr
    said = [s for s in done.stderr.strip().splitlines()
            if "a test pattern, not a trained detector" not in s]  # the random model's warning
    assert said == [line]
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the decoding start")
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130)])
def test_features_interrupted_leaves_no_partial_array(long_film, tmp_path, sig, code):
    # A backbone's features (VGGish, random weights: seconds of work for this film), not a bare
    # extractor's: log-mel patches of 240 s took well under the delay on a fast machine, so the
    # signal came after the run and the test raced the end of the process.
    out = tmp_path / "feats" / "vggish.npy"
    out.parent.mkdir()
    done = _interrupt(["features", "-e", "vggish", "--weights", "random:0", str(long_film), "-q",
                       "-o", str(out)], long_film, sig, 0.5, tmp_path)
    assert done.returncode == code, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert list(out.parent.iterdir()) == []
    cache = Path(os.environ["SCENEDET_HOME"]) / "features"  # nor a partial entry in the cache
    entries = [p.name for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert set(entries) <= {"hashes.json"}  # (the films' content hashes, written whole)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_synth_interrupted_leaves_no_partial_film(tmp_path, sig, code):
    out = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "scenedet", "synth", "-o", str(out), "--films", "3",
                             "--min-length", "120", "--max-length", "120", "--size", "64x48", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_dir() and any(".partial" in p.name for p in out.iterdir()):
                break  # a film is being written
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert len(err.strip().splitlines()) == 1
    assert [p.name for p in out.iterdir() if ".partial" in p.name] == []


def test_stop_all_ends_a_producer_the_consumer_left(monkeypatch):
    """The library side: a consumer that stops waiting (an exception, Ctrl-C) does not leave a
    decoding thread behind, and stop_all ends producers that are still running."""
    import threading

    from scenedet.inference.stream import _ACTIVE, prefetch, stop_all

    def produce():
        i = 0
        while True:
            time.sleep(0.01)
            yield i
            i += 1

    it = prefetch(produce, maxsize=1)
    assert next(it) == 0
    assert len(_ACTIVE) == 1
    assert stop_all(timeout=5)
    assert not any(t.name == "scenedet-decode" and t.is_alive() for t in threading.enumerate())
    it.close()
    assert len(_ACTIVE) == 0
