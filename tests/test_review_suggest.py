"""`scenedet suggest`: the stretches where the model is least sure, best first, never overlapping."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scenedet.errors import UsageError
from scenedet.review.suggest import (RULES, Stretch, load_suggestions, rank_stretches,
                                     save_suggestions, uncertainty)

PROBS = arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 1))
LIBRARY = st.dictionaries(st.sampled_from(["a.mp4", "b.mp4", "c/d.mkv"]),
                          PROBS.map(lambda p: [p]), min_size=1)


def test_uncertainty_is_highest_at_one_half_and_where_models_disagree():
    u = uncertainty([np.array([0.0, 0.5, 1.0, 0.25])])
    assert u.tolist() == [0.0, 1.0, 0.0, 0.5]
    # two heads: one sure yes, one sure no; their mean is 0.5 and they disagree by 1
    assert uncertainty([np.array([1.0]), np.array([0.0])]).tolist() == [2.0]
    assert uncertainty([np.array([0.9]), np.array([0.9])]).tolist() == pytest.approx([0.2])


@settings(max_examples=60, deadline=None)
@given(library=LIBRARY, n=st.integers(1, 6), length=st.integers(1, 8),
       rule=st.sampled_from(RULES))
def test_stretches_do_not_overlap_come_best_first_and_the_first_is_the_best(library, n, length,
                                                                           rule):
    out = rank_stretches(library, n, length=length, rule=rule)
    assert 1 <= len(out) <= n
    scores = [s.score for s in out]
    assert scores == sorted(scores, reverse=True)
    for s in out:
        probs = library[s.video][0]
        assert 0 <= s.start < s.end <= len(probs)
        assert s.end - s.start == min(length, len(probs))
        assert s.score == pytest.approx(uncertainty([probs], rule)[int(s.start):int(s.end)].mean())
    for a in out:
        for b in out:
            if a is not b and a.video == b.video:
                assert a.end <= b.start or b.end <= a.start
    best = max(np.convolve(uncertainty(p, rule), np.ones(min(length, len(p[0]))), "valid").max()
               / min(length, len(p[0])) for p in library.values())
    assert out[0].score == pytest.approx(best)


def test_the_unsure_stretch_wins_over_sure_ones():
    sure = np.r_[np.zeros(20), np.ones(20)]
    unsure = sure.copy()
    unsure[25:30] = 0.5
    out = rank_stretches({"sure.mp4": [sure], "unsure.mp4": [unsure]}, 1, length=5,
                         rule="uncertain")
    assert out == [Stretch("unsure.mp4", 25.0, 30.0, 1.0)]


def test_the_default_rule_also_favours_what_is_likely_the_scene():
    """Equally unsure (p = 0.25 and p = 0.75 are as far from 0.5), the likelier scene goes
    first: a rare scene's positives get labelled, not only its look-alikes."""
    probs = np.r_[np.full(5, 0.25), np.full(5, 0.75)]
    plain = rank_stretches({"a.mp4": [probs]}, 2, length=5, rule="uncertain")
    assert [s.start for s in plain] == [0, 5]  # a tie: the earlier first
    assert [s.start for s in rank_stretches({"a.mp4": [probs]}, 2, length=5)] == [5, 0]
    assert uncertainty([np.array([0.75])], "uncertain+positive").tolist() == [1.25]
    with pytest.raises(UsageError, match="unknown rule"):
        uncertainty([probs], "loudest")


def test_labelled_seconds_are_never_suggested_again(tmp_path):
    from scenedet.review.suggest import labelled_seconds

    probs = np.full(30, 0.5)
    (tmp_path / "l.csv").write_text("video,start,end,label\na.mp4,5,15,1\nb.mp4,0,30,0\n")
    done = labelled_seconds(tmp_path / "l.csv", {"a.mp4": 30, "b.mp4": 30, "c.mp4": 30})
    assert set(done) == {"a.mp4", "b.mp4"} and done["a.mp4"][5:15].all() and not done["a.mp4"][15:].any()
    out = rank_stretches({"a.mp4": [probs], "b.mp4": [probs]}, 5, length=5, labelled=done,
                         rule="uncertain")
    assert [(s.video, s.start, s.end) for s in out] == [
        ("a.mp4", 0, 5), ("a.mp4", 15, 20), ("a.mp4", 20, 25), ("a.mp4", 25, 30)]


def test_suggestions_round_trip_and_other_files_are_refused(tmp_path):
    stretches = [Stretch("a.mp4", 10, 20, 0.9), Stretch("b/c.mkv", 0, 10, 0.5)]
    path = save_suggestions(tmp_path / "s.json", stretches, "films")
    assert load_suggestions(path) == [s.to_dict() for s in stretches]
    (tmp_path / "x.json").write_text(json.dumps({"video": "a.mp4", "segments": []}))
    with pytest.raises(UsageError, match="not a suggestions file"):
        load_suggestions(tmp_path / "x.json")
    with pytest.raises(UsageError, match="at least 1"):
        rank_stretches({"a.mp4": [np.zeros(3)]}, 0)
