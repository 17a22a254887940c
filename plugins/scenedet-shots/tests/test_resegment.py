"""Re-cutting saved per-frame scores (``DetectorSpec.resegment``): both shot detectors' ``finish``
and ``resegment`` share one function, so a re-cut of a run's saved scores with the run's options
gives exactly the run's shots, and a re-cut with other options the shots a fresh run with them
gives (TransNetV2: where no flash is judged; content: threshold, window, min_shot)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenedet.plugin import FrameBatch, UsageError, get_detector_spec
from scenedet_shots import content, transnet
from scenedet_shots.content import ContentDetector
from scenedet_shots.shotlist import nominal_times
from scenedet_shots.transnet import TransNetDetector

FPS = 25


class _FixedNet:
    """Stands in for TransNetV2: per-frame probabilities given up front (logits out), window by
    window as the detector asks (frame ``50w + k`` is the middle of window ``w``)."""

    device = "cpu"

    def __init__(self, probs: np.ndarray) -> None:
        self.probs = np.clip(np.asarray(probs, dtype=np.float64), 1e-4, 1 - 1e-4)
        self.windows = 0

    def __call__(self, x):
        import torch

        out = []
        for _ in range(len(x)):
            p = np.full(100, 1e-4)
            part = self.probs[50 * self.windows:50 * self.windows + 50]
            p[25:25 + len(part)] = part
            self.windows += 1
            out.append(np.log(p / (1 - p)))
        return torch.tensor(np.array(out))[..., None], {}


class _Info:
    def __init__(self, n: int) -> None:
        self.duration = n / FPS


def _film(seed: int, n: int, size: tuple[int, int]) -> np.ndarray:
    """``n`` frames of a few flat pictures with noise, some flashes and some dark runs."""
    rng = np.random.default_rng(seed)
    w, h = size
    frames = np.empty((n, h, w, 3), dtype=np.int16)
    picture = rng.integers(30, 200, size=3)
    for i in range(n):
        if rng.random() < 0.06:
            picture = rng.integers(30, 200, size=3)
        frames[i] = picture
    for _ in range(rng.integers(0, 3)):  # flashes: a few frames washed towards white
        at = int(rng.integers(0, n))
        frames[at:at + int(rng.integers(1, 4))] += 150
    for _ in range(rng.integers(0, 2)):  # a fade through black
        at = int(rng.integers(0, n))
        frames[at:at + int(rng.integers(1, 8))] = 2
    frames += rng.integers(-4, 5, size=frames.shape)
    return np.clip(frames, 0, 255).astype(np.uint8)


def _feed(detector, frames: np.ndarray, size: tuple[int, int], step: int = 37):
    for i in range(0, len(frames), step):
        part = frames[i:i + step]
        detector.add_frames(FrameBatch(index=i, times=np.arange(i, i + len(part)) / FPS,
                                       images={size: part}))
    return detector.finish(_Info(len(frames)))


def _transnet(frames, probs, **options):
    detector = TransNetDetector(network=_FixedNet(probs), batch_size=2, **options)
    return _feed(detector, frames, transnet.SIZE), detector


def _content(frames, **options):
    detector = ContentDetector(**options)
    return _feed(detector, frames, content.SIZE), detector


def test_both_shot_detectors_register_resegment_and_are_shots():
    for name, function in (("shots", transnet.resegment), ("shots-content", content.resegment)):
        spec = get_detector_spec(name)
        assert spec.shots and spec.resegment is function


# -- TransNetV2 -----------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 260), threshold=st.floats(0.05, 0.95),
       min_shot=st.integers(1, 30), flash_confidence=st.sampled_from([0.0, 0.5, 0.9, 1.0]))
def test_transnet_resegment_of_its_saved_scores_is_its_shots(seed, n, threshold, min_shot,
                                                              flash_confidence):
    rng = np.random.default_rng(seed)
    probs = np.where(rng.random(n) < 0.1, rng.random(n), rng.random(n) * 0.2)
    frames = _film(seed, n, transnet.SIZE)
    options = {"threshold": threshold, "min_shot": min_shot, "flash_confidence": flash_confidence}
    shots, detector = _transnet(frames, probs, **options)
    again = transnet.resegment(detector.scores.tolist(), fps=Fraction(FPS), duration=n / FPS,
                               judged=detector.settings["judged"], **options)
    assert again == shots
    assert shots[0].start_frame == 0 and shots[-1].end_frame == n
    assert all(a.end_frame == b.start_frame for a, b in zip(shots, shots[1:]))
    assert all(b.start_frame - a.start_frame >= min_shot for a, b in zip(shots[1:], shots[2:]))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 200), first=st.floats(0.05, 0.95),
       second=st.floats(0.05, 0.95), min_shot=st.integers(1, 10))
def test_transnet_recut_with_other_options_is_a_fresh_run(seed, n, first, second, min_shot):
    """Without the flash guard the re-cut is exactly the run the new options would give."""
    rng = np.random.default_rng(seed)
    probs = rng.random(n)
    frames = _film(seed, n, transnet.SIZE)
    _, run = _transnet(frames, probs, threshold=first, flash_confidence=0)
    fresh, _ = _transnet(frames, probs, threshold=second, min_shot=min_shot, flash_confidence=0)
    assert transnet.resegment(run.scores, fps=FPS, duration=n / FPS, threshold=second,
                              min_shot=min_shot, flash_confidence=0,
                              judged=run.settings["judged"]) == fresh


def test_transnet_recut_drops_the_flash_the_run_judged():
    n = 160
    frames = _film(3, n, transnet.SIZE)
    frames[:] = frames[0]
    frames[40:43] = np.clip(frames[40:43].astype(int) + 170, 0, 255)
    frames[80:] = 255 - frames[80:]
    probs = np.full(n, 0.01)
    probs[42], probs[79] = 0.52, 0.98
    shots, run = _transnet(frames, probs)
    assert [s.start_frame for s in shots[1:]] == [80]
    assert run.settings["judged"] == {"threshold": 0.5, "flashes": [[42, 42]]}
    judged = run.settings["judged"]
    assert transnet.resegment(run.scores, fps=FPS, judged=judged) == shots
    # a stricter threshold: the flash frame's run lies inside the judged flash -> still dropped
    assert [s.start_frame for s in transnet.resegment(run.scores, fps=FPS, judged=judged,
                                                      threshold=0.51)[1:]] == [80]
    # flash_confidence=0: the network's own output, flash included
    assert [s.start_frame for s in transnet.resegment(run.scores, fps=FPS, judged=judged,
                                                      flash_confidence=0)[1:]] == [43, 80]


def test_transnet_resegment_refuses_bad_options_in_one_line():
    with pytest.raises(UsageError, match="threshold must be in"):
        transnet.resegment([0.1, 0.9], fps=FPS, threshold=1.5)
    with pytest.raises(UsageError, match="min_shot"):
        transnet.resegment([0.1, 0.9], fps=FPS, min_shot=0)


# -- the content detector -------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 220), threshold=st.floats(1.0, 6.0),
       window=st.integers(1, 4), min_shot=st.integers(1, 20), again=st.booleans())
def test_content_recut_is_the_run_and_any_run_with_other_cutting_options(seed, n, threshold,
                                                                         window, min_shot, again):
    frames = _film(seed, n, content.SIZE)
    shots, run = _content(frames)
    judged = run.settings["judged"]
    assert content.resegment(run.scores.tolist(), fps=FPS, duration=n / FPS,
                             judged=judged) == shots
    options = {"threshold": threshold, "window": window, "min_shot": min_shot}
    fresh, _ = _content(frames, **options)
    assert content.resegment(run.scores, fps=FPS, duration=n / FPS, judged=judged,
                             **options) == fresh


def test_content_recut_keeps_what_was_judged_on_the_pictures():
    with pytest.raises(UsageError, match="min_change was judged on the pictures at 12.0"):
        content.resegment([0.0, 30.0], fps=FPS, min_change=5,
                          judged={"min_change": 12.0, "flash_frames": 4, "dark_level": 16.0})


@settings(max_examples=60, deadline=None)
@given(scores=st.lists(st.floats(0, 80, allow_nan=False), min_size=1, max_size=300),
       threshold=st.floats(0.5, 6.0), window=st.integers(1, 5), min_shot=st.integers(1, 25))
def test_content_cuts_of_any_scores_tile_the_film(scores, threshold, window, min_shot):
    shots = content.resegment(scores, fps=FPS, threshold=threshold, window=window,
                              min_shot=min_shot)
    n = len(scores)
    assert shots[0].start_frame == 0 and shots[-1].end_frame == n
    assert all(a.end_frame == b.start_frame and a.end == b.start for a, b in zip(shots, shots[1:]))
    cuts = [s.start_frame for s in shots[1:]]
    assert all(b - a >= min_shot for a, b in zip(cuts, cuts[1:]))  # no fades here
    assert all(scores[c] >= 12.0 for c in cuts)


# -- times ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [Fraction(25), Fraction(30000, 1001), Fraction(24000, 1001),
                                  Fraction(60)])
def test_nominal_times_are_the_timestamps_of_a_constant_rate_film(rate):
    """A constant-rate film's frame ``k`` is at ``float(Fraction(pts) * time_base)`` = the float
    nearest ``k / rate``: the re-cut's seconds are the run's, bit for bit."""
    k = np.arange(0, 400_000, 997)
    times = nominal_times(400_000, rate)[k]
    assert times.tolist() == [float(Fraction(int(i)) / rate) for i in k]
