"""min_length and threshold chosen on validation, stored in the model file, below the user's."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scenedet.training.choose import (MIN_LENGTHS, THRESHOLDS, choose_settings, segment_scores,
                                      truth_segments)

KISSING = {"aggregator": "interval", "label_threshold": 0.5}


def _gappy_film(n: int = 90) -> tuple[np.ndarray, np.ndarray]:
    """A true scene [20, 50) whose seconds score high only every other second, and a 3 s
    distractor at [70, 73) outside it."""
    labels = np.zeros(n, np.int8)
    labels[20:50] = 1
    scores = np.full(n, 0.1, np.float32)
    scores[20:50:2] = 0.9
    scores[70:73] = 0.9
    return labels, scores


def test_truth_segments_are_the_runs_of_positive_seconds():
    labels = np.array([0, 1, 1, -1, 1, 0, 1], np.int8)
    assert [(s.start, s.end) for s in truth_segments("f", labels)] == [(1, 3), (4, 5), (6, 7)]


def test_a_gappy_scene_gets_a_low_threshold_and_a_distractor_a_long_minimum():
    labels, scores = _gappy_film()
    recipe = segment_scores({"f": scores}, {"f": labels}, {**KISSING, "min_length": 10,
                                                           "threshold": Fraction(7, 10)})
    assert recipe["f1"] < 1.0  # the recipe's 0.7 cannot keep a scene positive half the time
    chosen = choose_settings({"f": scores}, {"f": labels}, **KISSING)
    assert chosen["validation"]["f1"] == 1.0
    assert Fraction(chosen["threshold"]) <= Fraction(1, 2) and chosen["min_length"] > 3
    assert "segment F1 at tIoU 0.5" in chosen["criterion"]


def test_nothing_to_choose_by_without_a_true_scene():
    assert choose_settings({"f": np.zeros(30, np.float32)}, {"f": np.zeros(30, np.int8)},
                           **KISSING) is None


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 120))
def test_the_choice_is_the_best_of_the_grid(seed, n):
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, np.int8)
    start = int(rng.integers(0, n // 2))
    labels[start:start + int(rng.integers(3, n // 2))] = 1
    scores = np.clip(labels * 0.6 + rng.random(n) * 0.5, 0, 1).astype(np.float32)
    chosen = choose_settings({"f": scores}, {"f": labels}, **KISSING)
    best = max(segment_scores({"f": scores}, {"f": labels},
                              {**KISSING, "min_length": m, "threshold": t})["f1"]
               for m in MIN_LENGTHS for t in THRESHOLDS)
    assert chosen["validation"]["f1"] == best


def _model_file(path, segmentation):
    import torch

    from scenedet.inference.modelfile import ModelMeta, save_model_file

    meta = ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                     backbone_weights=("random:0", "random:0"), feature_dims=(512, 128),
                     segmentation=segmentation)
    return save_model_file(path, meta, torch.nn.Linear(640, 2).state_dict())


def test_run_settings_come_from_the_user_then_the_model_file_then_the_recipe(tmp_path):
    from scenedet.inference.modelfile import model_settings
    from scenedet.inference.pipeline import prepare_run

    chosen = _model_file(tmp_path / "m.pt", {"min_length": 4, "threshold": "0.6"})
    assert model_settings(chosen) == {"min_length": 4, "threshold": "0.6"}
    _, from_model, _ = prepare_run("kissing", model=chosen)
    assert (from_model["min_length"], from_model["threshold"]) == (4, Fraction(3, 5))
    _, given, _ = prepare_run("kissing", model=chosen, min_length=7)
    assert (given["min_length"], given["threshold"]) == (7, Fraction(3, 5))
    _, both, _ = prepare_run("kissing", model=chosen, min_length=2, threshold=0.9)
    assert (both["min_length"], both["threshold"]) == (2, Fraction(9, 10))
    plain = _model_file(tmp_path / "plain.pt", {})
    _, recipe, _ = prepare_run("kissing", model=plain)
    assert (recipe["min_length"], recipe["threshold"]) == (10, Fraction(7, 10))


def test_a_bad_model_file_leaves_the_settings_to_loading(tmp_path):
    from scenedet.inference.modelfile import model_settings

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    assert model_settings(bad) == {}


@pytest.mark.parametrize("runs, expected", [
    ([{"settings": {"aggregator": "interval", "min_length": 8, "threshold": "0.7"}}] * 2,
     {"aggregator": "interval", "min_length": 8, "threshold": "0.7"}),
    ([{"settings": {"aggregator": "interval", "min_length": 8, "threshold": "0.7"}},
      {"settings": {"aggregator": "interval", "min_length": 9, "threshold": "0.7"}}], None),
    ([{"video": "x"}], None),
])
def test_evaluate_reports_the_settings_the_runs_share(runs, expected):
    from scenedet.evaluation.evaluate import runs_segmentation

    assert runs_segmentation(runs) == expected
