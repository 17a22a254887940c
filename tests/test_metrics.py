"""Per-second and per-segment metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenedet.evaluation.metrics import (TIOU_THRESHOLDS, BinaryMetrics, Segment, average_precision,
                              binary_metrics, detection_map, f1_score, format_table,
                              interpolated_average_precision, match_segments,
                              pairwise_temporal_iou, segment_metrics, temporal_iou)

ALL = TIOU_THRESHOLDS


def ap_by_threshold(gt, preds):
    return dict(zip(ALL, average_precision(gt, preds).tolist()))


# ------------------------------------------------------------------------------- per second


def test_binary_metrics_by_hand():
    y_true = [1, 1, 1, 0, 0, 0, -1, -1, 1, 0]
    y_pred = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]
    m = binary_metrics(y_true, y_pred)
    assert (m.tp, m.fp, m.fn, m.tn, m.ignored, m.support) == (2, 1, 2, 3, 2, 8)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 4)
    assert m.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))  # 4/7
    assert m.f1 == pytest.approx(4 / 7)
    assert m.accuracy == pytest.approx(5 / 8)
    assert m.to_dict()["confusion"] == {"tp": 2, "fp": 1, "fn": 2, "tn": 3}


def test_zero_denominators_give_zero():
    m = binary_metrics([0, 0, 0], [0, 0, 0])
    assert (m.precision, m.recall, m.f1, m.accuracy) == (0.0, 0.0, 0.0, 1.0)
    assert binary_metrics([], []).accuracy == 0.0
    assert f1_score(0.0, 0.0) == 0.0


def test_binary_metrics_rejects_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        binary_metrics([1, 0], [1])
    with pytest.raises(ValueError, match="only 0 and 1"):
        binary_metrics([2, 0], [1, 0])
    with pytest.raises(ValueError, match="only 0 and 1"):
        binary_metrics([1, -1], [1, -1], ignore=None)


def test_pooling_adds_counts():
    a = binary_metrics([1, 0], [1, 1])
    b = binary_metrics([1, 1, -1], [0, 1, 0])
    assert a + b == BinaryMetrics(tp=2, fp=1, fn=1, tn=0, ignored=1)


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), max_size=60))
def test_swapping_truth_and_prediction_swaps_precision_and_recall(pairs):
    t = [a for a, _ in pairs]
    p = [b for _, b in pairs]
    m, swapped = binary_metrics(t, p), binary_metrics(p, t)
    assert swapped.precision == pytest.approx(m.recall)
    assert swapped.recall == pytest.approx(m.precision)
    assert swapped.f1 == pytest.approx(m.f1)
    assert 0.0 <= m.f1 <= 1.0
    assert m.support == len(pairs)


# ------------------------------------------------------------------------------------- tIoU


def test_temporal_iou_by_hand():
    assert temporal_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert temporal_iou((0, 10), (0, 6)) == 0.6
    assert temporal_iou((0, 10), (10, 20)) == 0.0
    assert temporal_iou((3, 3), (3, 3)) == 0.0
    np.testing.assert_allclose(
        pairwise_temporal_iou(np.array([[0, 10], [5, 15]]), np.array([[0, 10], [12, 14], [0, 20]])),
        [[1.0, 0.0, 0.5], [5 / 15, 2 / 10, 10 / 20]])


spans = st.tuples(st.floats(0, 1000, allow_nan=False), st.floats(0, 100, allow_nan=False)
                  ).map(lambda p: (p[0], p[0] + p[1]))


@given(spans, spans)
def test_temporal_iou_is_symmetric_and_bounded(a, b):
    iou = temporal_iou(a, b)
    assert iou == pytest.approx(temporal_iou(b, a))
    assert 0.0 <= iou <= 1.0 + 1e-12
    assert pairwise_temporal_iou(np.array([a]), np.array([b]))[0, 0] == pytest.approx(iou)


def test_thresholds_are_exact_decimals():
    assert TIOU_THRESHOLDS[2] == 0.6
    assert len(TIOU_THRESHOLDS) == 10 and TIOU_THRESHOLDS[0] == 0.5 and TIOU_THRESHOLDS[-1] == 0.95


# ------------------------------------------------------------------------- average precision


def test_interpolated_ap_is_the_area_under_the_precision_envelope():
    # Points (r, p): (.5, 1), (.5, .5), (1, 2/3). Envelope: 1 up to r=.5, 2/3 up to r=1.
    ap = interpolated_average_precision(np.array([1, 0.5, 2 / 3]), np.array([0.5, 0.5, 1.0]))
    assert ap == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_perfect_predictions_score_one_at_every_threshold():
    gt = [Segment("a", 0, 10), Segment("a", 20, 35), Segment("b", 5, 6)]
    preds = [Segment(s.video, s.start, s.end, score) for s, score in zip(gt, (0.2, 0.9, 0.5))]
    assert average_precision(gt, preds).tolist() == [1.0] * 10
    assert detection_map(gt, preds).mean_ap == 1.0


def test_tiou_point_six_counts_up_to_point_six_only():
    gt = [Segment("a", 0, 10)]
    aps = ap_by_threshold(gt, [Segment("a", 0, 6, 0.7)])
    assert [aps[t] for t in (0.5, 0.55, 0.6)] == [1.0, 1.0, 1.0]
    assert [aps[t] for t in ALL if t >= 0.65] == [0.0] * 7
    assert detection_map(gt, [Segment("a", 0, 6)]).mean_ap == pytest.approx(0.3)


def test_two_predictions_for_one_truth_one_tp_one_fp():
    gt = [Segment("a", 0, 10)]
    both = [Segment("a", 0, 10, 0.9), Segment("a", 0, 10, 0.8)]
    m = match_segments(gt, both, (0.5,))
    assert m.true_positive.tolist() == [[True, False]]
    assert segment_metrics(gt, both).to_dict() == {
        "tiou": 0.5, "precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "tp": 1,
        "fp": 1, "fn": 0, "predictions": 2, "ground_truth": 1}
    # The duplicate ranks below the hit: precision is 1 when recall reaches 1.
    assert average_precision(gt, both).tolist() == [1.0] * 10
    # A miss ranked above the hit halves AP: points (r 0, p 0), (r 1, p 1/2).
    miss_first = [Segment("a", 0, 4, 0.9), Segment("a", 0, 10, 0.8)]
    assert average_precision(gt, miss_first).tolist() == [0.5] * 10


def test_greedy_by_score_the_first_prediction_takes_the_truth():
    gt = [Segment("a", 0, 10)]
    preds = [Segment("a", 0, 6, 0.9), Segment("a", 0, 10, 0.5)]  # tIoU 0.6 ranked above 1.0
    aps = ap_by_threshold(gt, preds)
    assert aps[0.5] == 1.0 and aps[0.6] == 1.0  # the 0.6 one hits first, the other is a FP
    assert aps[0.65] == 0.5 and aps[0.95] == 0.5  # the 0.6 one misses, the exact one hits second


def test_a_prediction_takes_its_best_free_truth_then_the_next():
    gt = [Segment("a", 0, 10), Segment("a", 1, 11)]
    preds = [Segment("a", 0, 10, 0.9), Segment("a", 0, 10, 0.8)]
    m = match_segments(gt, preds, (0.8, 0.85))
    # The second finds its best truth taken and takes the next: tIoU with [1, 11) is 9/11 = .818.
    assert m.matched.tolist() == [[0, 1], [0, -1]]
    assert m.true_positive.tolist() == [[True, True], [True, False]]


def test_predictions_across_videos():
    gt = [Segment("v1", 0, 10), Segment("v2", 0, 10), Segment("v2", 20, 30)]
    preds = [Segment("v1", 0, 10, 0.9),   # TP
             Segment("v2", 20, 30, 0.8),  # TP
             Segment("v3", 0, 10, 0.7),   # FP: no truth in that film
             Segment("v2", 50, 60, 0.6),  # FP
             Segment("v1", 0, 10, 0.55),  # FP: its truth is taken; v2's [0, 10) is another film
             Segment("v2", 0, 10, 0.5)]   # TP
    # precision 1, 1, 2/3, 1/2, 2/5, 1/2; recall 1/3, 2/3, 2/3, 2/3, 2/3, 1.
    expected = 1 / 3 + 1 / 3 + 1 / 3 * 0.5
    assert average_precision(gt, preds) == pytest.approx([expected] * 10)
    sm = segment_metrics(gt, preds, 0.5)
    assert (sm.tp, sm.fp, sm.fn) == (3, 3, 0)
    assert sm.precision == 0.5 and sm.recall == 1.0


def test_no_predictions_and_no_truth():
    gt = [Segment("a", 0, 10)]
    assert average_precision(gt, []).tolist() == [0.0] * 10
    no_truth = detection_map([], [Segment("a", 0, 10)])
    assert all(math.isnan(a) for a in no_truth.ap) and math.isnan(no_truth.mean_ap)
    assert no_truth.to_dict()["mAP"] is None and no_truth.to_dict()["ap"]["0.50"] is None
    assert math.isnan(detection_map([], []).mean_ap)
    assert segment_metrics([], []).to_dict()["precision"] == 0.0


def test_ties_keep_the_given_order():
    gt = [Segment("a", 0, 10)]
    assert average_precision(gt, [Segment("a", 0, 3, 0.5), Segment("a", 0, 10, 0.5)])[0] == 0.5
    assert average_precision(gt, [Segment("a", 0, 10, 0.5), Segment("a", 0, 3, 0.5)])[0] == 1.0


@st.composite
def detection_problems(draw):
    videos = ["a", "b"]
    gt = [Segment(draw(st.sampled_from(videos)), s, e)
          for s, e in draw(st.lists(spans, max_size=6))]
    preds = [Segment(draw(st.sampled_from(videos)), s, e, draw(st.floats(0, 1)))
             for s, e in draw(st.lists(spans, max_size=8))]
    return gt, preds


@given(detection_problems())
def test_ap_is_between_zero_and_one(problem):
    gt, preds = problem
    ap = average_precision(gt, preds)
    if gt:
        assert ((0.0 <= ap) & (ap <= 1.0)).all()
    else:
        assert np.isnan(ap).all()


@given(detection_problems())
def test_ap_depends_on_the_ranking_only(problem):
    gt, preds = problem
    scaled = [Segment(p.video, p.start, p.end, 4 * p.score) for p in preds]  # exact, same order
    assert np.array_equal(average_precision(gt, preds), average_precision(gt, scaled),
                          equal_nan=True)


@given(st.lists(spans, min_size=1, max_size=6), st.randoms())
def test_finding_exactly_the_truth_scores_one(truth, random):
    gt = [Segment("a", s, e) for s, e in truth if e - s > 0]
    preds = [Segment(g.video, g.start, g.end, random.random()) for g in gt]
    random.shuffle(preds)
    if gt and len({(g.start, g.end) for g in gt}) == len(gt):
        assert average_precision(gt, preds).tolist() == [1.0] * 10


# ------------------------------------------------------------------------------------ table


def test_format_table_layout():
    text = format_table(["", "precision", "n"], [["all", 0.5, 3], ["x", float("nan"), 10]],
                        title="T")
    assert text == "\n".join([
        "T",
        "     precision   n",
        "---  ---------  --",
        "all      0.500   3",
        "x          n/a  10",
    ])
