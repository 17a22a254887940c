"""One batch for any plugin mix: scenes and detectors over a library with damaged and broken
films, per-plugin outputs, damage and failures said, films with no scenes done, resumable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_helpers import GOOD, batch_cli, lib, model  # noqa: F401
from test_bad_inputs import packets_of, write_film, zero_packets

from scenedet.batch.state import iter_summary


pytestmark = pytest.mark.usefixtures("reference_detectors")


@pytest.fixture(scope="module")
def library(lib, tmp_path_factory):  # noqa: F811
    """The good films, one with three damaged audio packets, one that is not a film."""
    root = tmp_path_factory.mktemp("mixed")
    shutil.copytree(lib / "good", root / "films")
    clean = write_film(root / "clean.mp4")
    n_audio = len(packets_of(clean, "audio"))
    zero_packets(clean, root / "films" / "damaged.mp4", "audio",
                 list(range(n_audio // 2, n_audio // 2 + 3)))
    clean.unlink()
    (root / "films" / "broken.mp4").write_bytes(b"not a film\n" * 64)
    return root / "films"


def test_scenes_and_detectors_over_a_library_say_damage_and_failures_and_resume(
        library, model, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    first = batch_cli("-p", "shots-content", library, "-o", out, "-m", model, "--stills",
                      "--format", ".edl", "-O", "shots-content.min_shot=4")
    assert first.exit_code == 1, first.output  # the broken film failed, the rest went on
    lines = first.stderr.splitlines()
    damaged = [line for line in lines if line.startswith("damaged: ")]
    assert len(damaged) == 1 and "damaged.mp4: skipped 3 damaged audio packet(s)" in damaged[0]
    failed = [line for line in lines if line.startswith("failed: ")]
    assert len(failed) == 1 and "broken.mp4" in failed[0]
    records = {r["name"]: r for r in iter_summary(out / "summary.jsonl")}
    assert sum(r["status"] == "done" for r in records.values()) == len(GOOD) + 1
    (damage,) = [r["damage"] for r in records.values() if r.get("damage")]
    assert "3 damaged audio packet(s)" in damage
    for record in records.values():
        if record["status"] != "done":
            continue
        data = json.loads((out / record["output"]).read_text())
        assert [r["scene"] for r in data["results"]] == ["kissing", "shots-content"]
        assert data["results"][1]["settings"]["min_shot"] == 4
        assert sorted(data["batch"]["outputs"]) == [
            "kissing:.edl", "kissing:stills-3", "shots-content:.edl", "shots-content:stills-3"]
        name = record["name"]
        assert (out / f"{name}.kissing.edl").exists() and (out / f"{name}.shots-content.edl").exists()
        # kissing finds no 10-second scene in these short films: no stills folder, and done
        assert data["results"][0]["segments"] == [] and not (out / f"{name}.kissing.stills").exists()
        assert (out / f"{name}.shots-content.stills").is_dir()
    again = batch_cli("-p", "shots-content", library, "-o", out, "-m", model, "--stills",
                      "--format", ".edl", "-O", "shots-content.min_shot=4")
    assert again.exit_code == 1 and f"1 film(s) to do, {len(GOOD) + 1} already done" in again.stderr
    changed = batch_cli("-p", "shots-content", library, "-o", out, "-m", model, "--stills",
                        "--format", ".edl", "-n")
    assert "scored with other settings (options)" in changed.stderr


MEGAMIND = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")


@pytest.mark.slow
def test_shots_and_cues_over_real_and_corrupt_films_resume_after_ctrl_c(library, tmp_path):
    """The issue's real case: `batch -p shots -p cues` over a folder with a damaged and a broken
    film (and Debian's Megamind.avi, with its bad AC3 packet, when installed), interrupted with
    Ctrl-C after its first film and run again: it resumes, and lists damage and failures."""
    films = tmp_path / "films"
    shutil.copytree(library, films)
    if MEGAMIND.exists():
        shutil.copy(MEGAMIND, films / "Megamind.avi")
    out = tmp_path / "out"
    env = {**os.environ, "SCENEDET_PLUGINS": "scenedet,scenedet-shots,scenedet-cues"}
    cmd = [sys.executable, "-m", "scenedet", "batch", "-p", "shots", "-p", "cues", str(films),
           "-o", str(out), "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        deadline = time.monotonic() + 180
        while not (out / "summary.jsonl").exists() or not (out / "summary.jsonl").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "rerun the same command to resume" in err, err
    assert "Traceback" not in err
    first = {r["name"] for r in iter_summary(out / "summary.jsonl")}
    resumed = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 1, resumed.stderr  # broken.mp4 fails, every other film is done
    n_films = len(list(films.iterdir()))
    assert "already done" in resumed.stderr and "Traceback" not in resumed.stderr
    records = {r["name"]: r for r in iter_summary(out / "summary.jsonl")}
    assert len(records) == n_films and first <= set(records)
    done = [r for r in records.values() if r["status"] == "done"]
    assert len(done) == n_films - 1
    (hurt,) = [r for r in done if r["path"].endswith("damaged.mp4")]
    assert "3 damaged audio packet(s)" in hurt["damage"]  # in its summary line, always
    damaged = [line for line in resumed.stderr.splitlines() if line.startswith("damaged: ")]
    for record in done:  # and on the console of the run that did it
        if record["name"] not in first and record.get("damage"):
            assert any(record["path"] in line for line in damaged), resumed.stderr
    if MEGAMIND.exists():
        (mega,) = [r for r in done if r["path"].endswith("Megamind.avi")]
        assert "1 damaged audio packet(s)" in mega["damage"]
    for record in done:
        data = json.loads((out / record["output"]).read_text())
        assert [r["scene"] for r in data["results"]] == ["shots", "cues"]
        assert data["results"][0]["segments"] and "cuts" in data["results"][0]
