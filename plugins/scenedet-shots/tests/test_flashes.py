"""The flash guard: a weak TransNetV2 transition shaped like a flash is dropped, nothing else is."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scenedet.plugin import FrameBatch
from scenedet_shots.flashes import FlashGuard
from scenedet_shots.transnet import TransNetDetector

RNG = np.random.default_rng(7)
SHOT_A = RNG.integers(40, 160, size=(27, 48, 3), dtype=np.uint8)
SHOT_B = np.ascontiguousarray(SHOT_A[::-1, ::-1] // 2 + 60)  # another picture


def film(n: int, *, flash: range = range(0), cut: int | None = None,
         dissolve: range = range(0)) -> np.ndarray:
    """Frames of SHOT_A (with a little noise), then SHOT_B from ``cut`` or across ``dissolve``."""
    noise = np.random.default_rng(1).integers(-3, 4, size=(n, 27, 48, 3))
    frames = np.repeat(SHOT_A[None].astype(int), n, axis=0)
    if cut is not None:
        frames[cut:] = SHOT_B
    for k, i in enumerate(dissolve):
        w = (k + 1) / (len(dissolve) + 1)
        frames[i] = (1 - w) * SHOT_A + w * SHOT_B
    if len(dissolve):
        frames[dissolve.stop:] = SHOT_B
    for i in flash:
        frames[i] = frames[i] + (255 - frames[i]) * 0.8  # washed towards white
    return np.clip(frames + noise, 0, 255).astype(np.uint8)


def guard_over(frames: np.ndarray, keep: int = 1000) -> FlashGuard:
    guard = FlashGuard(keep=keep)
    guard.add(frames)
    return guard


def test_a_flash_inside_a_shot_is_a_flash():
    guard = guard_over(film(40, flash=range(20, 23)))
    assert guard.is_flash(22, 22)  # TransNetV2 marks the last flash frame
    assert guard.is_flash(20, 22)


def test_a_cut_a_dissolve_and_a_fade_are_not():
    assert not guard_over(film(40, cut=20)).is_flash(19, 19)
    assert not guard_over(film(40, dissolve=range(15, 27))).is_flash(20, 21)
    fade = film(40, cut=25)
    fade[18:25] = (fade[18:25] * np.linspace(0.8, 0.0, 7)[:, None, None, None]).astype(np.uint8)
    assert not guard_over(fade).is_flash(23, 23)


def test_a_bright_cut_between_different_pictures_is_not_a_flash():
    frames = film(40, cut=22, flash=range(20, 22))
    assert not guard_over(frames).is_flash(21, 21)


def test_frames_no_longer_held_keep_the_cut():
    frames = film(400, flash=range(20, 23))
    guard = guard_over(frames, keep=100)  # frame 20 left the ring long ago
    assert not guard.is_flash(22, 22)
    assert guard_over(frames).is_flash(22, 22)


@given(st.integers(5, 12))
@settings(max_examples=10, deadline=None)
def test_a_long_run_is_never_a_flash(length):
    guard = guard_over(film(60, flash=range(20, 20 + length)))
    assert not guard.is_flash(20, 20 + length - 1)


class _FixedNet:
    """Stands in for TransNetV2: per-frame probabilities given up front (logits out)."""

    device = "cpu"

    def __init__(self, probs: np.ndarray) -> None:
        self.probs = probs
        self.windows = 0

    def __call__(self, x):
        import torch

        out = []
        for _ in range(len(x)):
            # window w covers padded frames 50w .. 50w + 99; its middle 50 are frames 50w .. 50w + 49
            p = np.full(100, 1e-4)
            start = 50 * self.windows
            part = self.probs[start:start + 50]
            p[25:25 + len(part)] = part
            self.windows += 1
            out.append(np.log(p / (1 - p)))
        return torch.tensor(np.array(out))[..., None], {}


@pytest.mark.parametrize("flash_confidence,expected", [(0.9, [80]), (0.0, [43, 80]), (0.5, [43, 80])])
def test_the_detector_drops_weak_flashes_while_streaming(flash_confidence, expected):
    frames = film(160, flash=range(40, 43), cut=80)
    probs = np.full(160, 0.01)
    probs[42], probs[79] = 0.52, 0.98  # the flash's last frame, the cut's last old frame
    detector = TransNetDetector(network=_FixedNet(probs), batch_size=1,
                                flash_confidence=flash_confidence)
    for i in range(0, 160, 30):
        part = frames[i:i + 30]
        detector.add_frames(FrameBatch(index=i, times=np.arange(i, i + len(part)) / 25.0,
                                       images={(48, 27): part}))

    class Info:
        duration = 160 / 25.0

    shots = detector.finish(Info())
    assert [s.start_frame for s in shots[1:]] == expected
    assert detector.flashes() == ([(42, 42)] if expected == [80] else [])
