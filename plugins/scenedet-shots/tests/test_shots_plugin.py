"""The shots plugin: both detectors on generated films with known cuts, TransNetV2's streaming
windows against the reference implementation, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from scenedet.evaluation.cuts import score_cuts
from scenedet.inference.framerun import run_detectors
from scenedet.plugin import FrameBatch, list_detectors
from scenedet.synth.shots import plan_shot_film, render_shot_film


@pytest.fixture(scope="module")
def shot_film(tmp_path_factory):
    plan = plan_shot_film(0, 3, shots=6, fps=25, width=160, height=90, min_shot=1.5, max_shot=3)
    path = tmp_path_factory.mktemp("shots") / plan.file
    render_shot_film(plan, path)
    return plan, path


def test_both_detectors_are_registered():
    assert {"shots", "shots-content"} <= set(list_detectors())


def test_content_finds_every_hard_cut_exactly_and_no_flash(shot_film):
    plan, path = shot_film
    (result,) = run_detectors(path, ["shots-content"])
    truth = [t for t in load_cuts_from_plan(plan) if not t.gradual]
    found = [c.start_frame for c in result.cuts]
    scores = score_cuts(truth, [f for f in found if not _in_gradual(plan, f)], tolerance=0)
    assert scores["hard"].recall == 1.0 and scores["hard"].precision == 1.0
    assert not set(found) & set(plan.flashes)
    shots = result.segments
    assert shots[0].start_frame == 0 and shots[-1].end_frame == plan.n_frames
    assert all(a.end_frame == b.start_frame for a, b in zip(shots, shots[1:]))
    assert all(0 < s.score <= 1 for s in shots[1:])


def load_cuts_from_plan(plan):
    from scenedet.evaluation.cuts import TrueCut

    return [TrueCut(video=plan.file, kind=t.kind, start_frame=t.start_frame,
                    end_frame=t.end_frame) for t in plan.transitions]


def _in_gradual(plan, frame):
    return any(t.start_frame <= frame <= t.end_frame for t in plan.transitions if t.kind != "hard")


def test_content_options_reach_the_detector(shot_film):
    _, path = shot_film
    (result,) = run_detectors(path, ["content"], options={"content": {"min_change": 1e9, "dark_level": 0}})
    assert result.cuts == [] and result.settings["min_change"] == 1e9


class _Frames:
    """Stand-in batches of random 48x27 frames."""

    def __init__(self, frames):
        self.frames_ = frames

    def batches(self, size):
        for i in range(0, len(self.frames_), size):
            part = self.frames_[i:i + size]
            yield FrameBatch(index=i, times=np.arange(i, i + len(part)) / 25.0,
                             images={(48, 27): part})


@pytest.mark.slow
def test_streaming_transnet_equals_the_reference_windows():
    import torch

    from scenedet_shots.transnet import TransNetDetector, load_network

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(73, 27, 48, 3), dtype=np.uint8)
    frames[40:] = frames[40:] // 3  # something like a cut
    net = load_network("cpu")
    detector = TransNetDetector(network=net, batch_size=2)
    for batch in _Frames(frames).batches(17):
        detector.add_frames(batch)

    class Info:
        duration = 73 / 25.0

    detector.finish(Info())
    ours = detector.probabilities()
    reference, _ = net.predict_frames(torch.from_numpy(frames), quiet=True)
    np.testing.assert_allclose(ours, reference.numpy().reshape(-1), atol=1e-5)
    assert not torch.are_deterministic_algorithms_enabled()  # the package's global switch undone


@pytest.mark.slow
def test_transnet_finds_the_hard_cuts_within_two_frames(shot_film):
    plan, path = shot_film
    (result,) = run_detectors(path, ["shots"], options={"shots": {"batch_size": 4}})
    truth = load_cuts_from_plan(plan)
    scores = score_cuts(truth, [c.start_frame for c in result.cuts], tolerance=2)
    assert scores["hard"].recall >= 0.8 and scores["all"].precision >= 0.8


def test_run_cli_writes_frame_accurate_shots(shot_film, tmp_path):
    from scenedet.cli import cli

    plan, path = shot_film
    out = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["run", "-p", "shots-content", str(path), "-o", str(out),
                                      "-O", "window=3", "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["time_grid"] == "frame" and data["n_frames"] == plan.n_frames
    seg = data["segments"][1]
    assert seg["start"] == pytest.approx(seg["start_frame"] / 25, abs=1e-6)
    assert data["settings"]["window"] == 3
    bad = CliRunner().invoke(cli, ["run", "-p", "shots-content", str(path), "-O", "nope=1"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_a_bad_option_is_one_line_before_the_network_loads(shot_film):
    from scenedet.cli import cli

    _, path = shot_film
    bad = CliRunner().invoke(cli, ["run", "-p", "shots", str(path), "-O", "threshold=abc"])
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == ["Error: shots: threshold must be a number, got 'abc'"]
    typo = CliRunner().invoke(cli, ["run", "-p", "shots", str(path), "-O", "treshold=0.4"])
    assert typo.exit_code == 2 and len(typo.output.strip().splitlines()) == 1
    assert ("unknown option 'treshold'; did you mean 'threshold'? (options: flash_confidence, "
            "min_shot, threshold)") in typo.output


def test_plugins_shots_shows_its_options():
    from scenedet.cli import cli

    result = CliRunner().invoke(cli, ["plugins", "shots", "--json"])
    assert result.exit_code == 0, result.output
    (shots,) = json.loads(result.output)["components"]
    assert (shots["kind"], shots["owner"], shots["distribution"]) == ("detector", "shots", "scenedet-shots")
    assert {o["name"]: (o["type"], o["default"]) for o in shots["options"]} == {
        "threshold": ("float", 0.5), "flash_confidence": ("float", 0.9), "min_shot": ("int", 1)}
    assert shots["aliases"] == ["transnetv2", "shots-transnetv2"]
    listing = json.loads(CliRunner().invoke(cli, ["plugins", "scenedet-shots", "--json"]).output)
    assert [c["name"] for c in listing["components"]] == ["shots", "shots-content"]
    text = CliRunner().invoke(cli, ["plugins", "content"]).output
    assert text.startswith("shots-content  detector from plugin 'shots'") and "min_shot" in text
    unknown = CliRunner().invoke(cli, ["plugins", "shot"])
    assert unknown.exit_code == 2 and "did you mean 'shots'?" in unknown.output


def test_find_plugin_suggests_shots_for_shot():
    from scenedet.plugin import UnknownComponentError, find_plugin

    assert find_plugin("transnetv2")[1].name == "shots"
    with pytest.raises(UnknownComponentError) as caught:
        find_plugin("shot")
    assert str(caught.value).startswith("unknown plugin 'shot'; did you mean 'shots'? (scenes: kissing; "
                                        "detectors: shots, shots-content)")


def test_true_runs_are_the_maximal_runs_inclusive():
    import numpy as np

    from scenedet_shots.shotlist import true_runs

    assert true_runs(np.array([0, 1, 1, 0, 1, 0, 1, 1, 1], dtype=bool)) == [(1, 2), (4, 4), (6, 8)]
    assert true_runs(np.zeros(3, dtype=bool)) == [] and true_runs(np.ones(2, dtype=bool)) == [(0, 1)]


def test_content_opens_no_shot_shorter_than_min_shot_at_the_films_start():
    """``Megamind.avi`` opens with one encoded black frame: a real change to the first picture,
    but a one-frame "shot" before it. ``min_shot`` counts from the film's first frame, as
    PySceneDetect's ``min_scene_len`` does; a cut later on is still found exactly."""
    from types import SimpleNamespace

    from scenedet_shots.content import SIZE, ContentDetector

    w, h = SIZE
    rng = np.random.default_rng(0)
    a = rng.integers(40, 200, (h, w, 3), dtype=np.uint8)
    b = 255 - a
    frames = np.stack([np.zeros((h, w, 3), np.uint8)] + [a] * 39 + [b] * 40)
    times = np.arange(len(frames)) / 25
    detector = ContentDetector()
    detector.add_frames(FrameBatch(index=0, times=times, images={SIZE: frames}))
    shots = detector.finish(SimpleNamespace(duration=len(frames) / 25))
    assert [(s.start_frame, s.end_frame) for s in shots] == [(0, 40), (40, 80)]
    late = ContentDetector(min_shot=1)  # min_shot=1: the black frame is a shot of its own
    late.add_frames(FrameBatch(index=0, times=times, images={SIZE: frames}))
    assert [s.start_frame for s in late.finish(SimpleNamespace(duration=3.2))] == [0, 1, 40]
