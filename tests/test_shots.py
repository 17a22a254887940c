"""Generated shot films: the plan is the ground truth, the pictures agree with it."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from scenedet.evaluation.cuts import load_cuts
from scenedet.media.frames.stream import iter_frames
from scenedet.synth.shots import colour_bars, plan_shot_film


def test_plans_are_seeded_and_consistent():
    a = plan_shot_film(0, 5, shots=10)
    assert a == plan_shot_film(0, 5, shots=10) and a != plan_shot_film(1, 5, shots=10)
    parts = a.parts
    assert parts[0].start_frame == 0
    assert all(p.start_frame + p.frames == q.start_frame for p, q in zip(parts, parts[1:]))
    assert parts[-1].start_frame + parts[-1].frames == a.n_frames
    starts = [t.start_frame for t in a.transitions]
    assert starts == sorted(starts)
    for f in a.flashes:  # flashes lie inside shots, never on a transition
        assert not any(t.start_frame - 2 <= f <= t.end_frame + 2 for t in a.transitions)
    kinds = {c.kind for c in a.cues}
    assert {"bars", "black", "silence"} <= kinds


def test_rendered_film_shows_its_cuts(tmp_path):
    from scenedet.cli import cli

    out = tmp_path / "s"
    result = CliRunner().invoke(cli, ["synth", "--kind", "shots", "-o", str(out), "--films", "1",
                                      "--size", "96x54", "--shots", "4", "--seed", "2", "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "shots.json").read_text())["films"][0]
    frames = np.concatenate([b.frames((96, 54)) for b in iter_frames(out / data["video"], 96, 54)])
    assert len(frames) == data["n_frames"]
    luma = frames.astype(float).mean(axis=(1, 2, 3))
    for cue in data["cues"]:
        if cue["kind"] == "black":
            assert luma[cue["start_frame"]:cue["end_frame"]].max() < 8
        if cue["kind"] == "bars":
            bars = colour_bars(96, 54).astype(float)
            assert np.abs(frames[cue["start_frame"] + 5] - bars).mean() < 12
    diff = np.abs(np.diff(frames.astype(float), axis=0)).mean(axis=(1, 2, 3))
    for t in data["transitions"]:
        if t["kind"] == "hard":  # the biggest change in its neighbourhood is exactly the cut
            f = t["start_frame"]
            assert np.argmax(diff[f - 4:f + 3]) == 3
    rows = list(csv.DictReader((out / "cuts.csv").open()))
    assert len(rows) == len(data["transitions"]) == len(load_cuts(out / "cuts.csv")[data["video"]])
