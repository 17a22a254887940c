"""Several plugins in one run, and scenes snapped to shot cuts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import scenedet
from scenedet.inference.framerun import FrameResult, snap_result
from scenedet.inference.modelfile import ModelMeta, save_model_file
from scenedet.inference.pipeline import SceneResult
from scenedet.media.frames.stream import FrameSegment
from scenedet.segmentation.segments import Segment
from scenedet.synth.shots import plan_shot_film, render_shot_film


def _shots(cut_times, duration=20.0, fps=25.0):
    bounds = [0.0, *cut_times, duration]
    segs = [FrameSegment(start=a, end=b, start_frame=round(a * fps), end_frame=round(b * fps),
                         score=None if i == 0 else 0.9) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]
    return FrameResult(video="f.mp4", scene="shots", duration=duration, fps=fps,
                       n_frames=round(duration * fps), segments=segs, shots=True)


def test_snap_result_moves_scene_bounds_to_cuts_and_keeps_the_originals():
    scene = SceneResult(video="f.mp4", scene="kissing", duration=20.0,
                        scores=np.zeros(20, np.float32),
                        segments=[Segment(3, 9, 0.8), Segment(14, 20, 0.9)])
    data = snap_result(scene, _shots([2.36, 8.8, 12.0]), tolerance=1.0)
    assert [(s["start"], s["end"]) for s in data["segments"]] == [(2.36, 8.8), (14, 20)]
    assert data["segments"][0]["unsnapped"] == [3, 9]
    assert data["settings"]["snap_to"] == {"detector": "shots", "tolerance": 1.0}


@pytest.mark.slow  # scores real films
def test_a_scene_and_a_detector_in_one_run_with_snapping(tmp_path):
    plan = plan_shot_film(2, 1, shots=3, fps=25, width=160, height=90, min_shot=1.5, max_shot=2,
                          bars=False, black=0)
    film = tmp_path / plan.file
    render_shot_film(plan, film)
    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    head = torch.nn.Linear(640, 2)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([-5.0, 5.0]))
    model = tmp_path / "m.pt"
    save_model_file(model, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                     backbone_weights=tuple(b.weights_id for b in backbones),
                                     feature_dims=(512, 128)), head.state_dict())
    from scenedet.cli import cli

    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", "-p", "shots-content", str(film),
                                      "--model", str(model), "-l", "1", "--snap-to",
                                      "shots-content", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    run = json.loads(out.read_text())
    assert run["scenedet"] == "run"  # several plugins in one JSON: a run document
    kissing, shots = run["results"]
    again = CliRunner().invoke(cli, ["segment", str(out)])  # re-cut as recorded: the same
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == run
    assert kissing["scene"] == "kissing" and shots["scene"] == "shots-content"
    assert kissing["settings"]["snap_to"]["detector"] == "shots-content"
    found = [c["frame"] for c in shots["cuts"]]
    assert len(found) == len(plan.transitions)
    for f, t in zip(found, plan.transitions):  # hard cuts exact, a fade's cut inside the fade
        assert t.start_frame <= f <= t.end_frame
    assert len(kissing["segments"]) == 1 and kissing["segments"][0]["start"] == 0


def test_snap_to_needs_a_detector():
    from scenedet.cli import cli

    result = CliRunner().invoke(cli, ["run", "-p", "shots-content", "x.mp4", "--snap-to", "kissing"])
    assert result.exit_code == 2 and "--snap-to applies to per-second scenes" in result.output
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", "-p", "shots-content", "x.mp4",
                                      "--snap-to", "kissing"])
    assert result.exit_code == 2 and "'kissing': it is a per-second scene" in result.output
