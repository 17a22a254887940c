"""One batch for any plugin mix: scenes and detectors over a library with damaged and broken
films, per-plugin outputs, damage and failures said, films with no scenes done, resumable."""

from __future__ import annotations

import json
import shutil

import pytest
from batch_helpers import GOOD, batch_cli, lib, model  # noqa: F401
from test_bad_inputs import packets_of, write_film, zero_packets

from scenedet.batch.state import iter_summary


@pytest.fixture(autouse=True)
def _with_the_reference_detectors(monkeypatch):
    from scenedet.plugin._host import reset_host

    monkeypatch.setenv("SCENEDET_PLUGINS", "scenedet,scenedet-kissing,scenedet-shots,scenedet-cues")
    reset_host(None)
    yield
    reset_host(None)


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
