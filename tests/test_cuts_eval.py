"""Cut evaluation: greedy one-to-one matching with a frame tolerance, hard and gradual apart."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from scenedet.errors import UsageError
from scenedet.evaluation.cuts import (TrueCut, evaluate_cut_results, is_cut_annotation_file,
                                      load_cuts, match_cuts, score_cuts)


def hard(f):
    return TrueCut(video="v", kind="hard", start_frame=f, end_frame=f)


def test_exact_and_tolerant_matches():
    truth = [hard(10), hard(50), TrueCut(video="v", kind="dissolve", start_frame=100, end_frame=115)]
    found = [11, 50, 108, 200]
    at0 = score_cuts(truth, found, tolerance=0)
    assert (at0["all"].true_positives, at0["all"].false_positives, at0["all"].false_negatives) == (2, 2, 1)
    at2 = score_cuts(truth, found, tolerance=2)
    assert at2["all"].true_positives == 3 and at2["all"].false_positives == 1
    assert at2["hard"].recall == 1.0 and at2["gradual"].recall == 1.0
    assert at2["hard"].precision == pytest.approx(2 / 3)  # the 108 belongs to the dissolve


def test_matching_is_one_to_one_and_nearest_first():
    # two found cuts near one true cut: only one matches, the nearer
    assert match_cuts([(10, 10)], [9, 10], tolerance=2) == [(0, 1)]
    # greedy by distance: the 12 takes the cut at 12, the 10 the one at 9
    assert match_cuts([(9, 9), (12, 12)], [10, 12], tolerance=2) == [(0, 0), (1, 1)]
    with pytest.raises(UsageError):
        match_cuts([(1, 1)], [1], tolerance=-1)


@given(st.lists(st.integers(0, 500), unique=True, max_size=30),
       st.lists(st.integers(0, 500), max_size=30), st.integers(0, 5))
def test_counts_add_up(truth_frames, found, tol):
    truth = [hard(f) for f in truth_frames]
    s = score_cuts(truth, found, tolerance=tol)["all"]
    assert s.true_positives + s.false_negatives == len(truth)
    assert s.true_positives + s.false_positives == len(found)
    assert 0 <= s.f1 <= 1
    assert score_cuts(truth, [f for f in truth_frames], tolerance=0)["all"].f1 == 1.0


def test_times_are_resolved_with_the_films_fps():
    cut = TrueCut(video="v", start=2.0)
    assert cut.frames(25) == (50, 50)
    with pytest.raises(UsageError, match="frame rate"):
        cut.frames(None)


def test_files_and_the_cli(tmp_path):
    from scenedet.cli import cli

    csv_path = tmp_path / "cuts.csv"
    csv_path.write_text("video,kind,start_frame,end_frame\nf.mp4,hard,10,10\nf.mp4,fade,40,50\n")
    times = tmp_path / "times.csv"
    times.write_text("video,time\nf.mp4,0.4\n")
    scenes = tmp_path / "scenes.csv"
    scenes.write_text("video,start,end,label\nf.mp4,1,5,kiss\n")
    assert is_cut_annotation_file(csv_path) and is_cut_annotation_file(times)
    assert not is_cut_annotation_file(scenes)
    truth = load_cuts(csv_path)
    assert [t.kind for t in truth["f.mp4"]] == ["hard", "fade"]
    result = {"video": "/x/f.mp4", "time_grid": "frame", "fps": 25.0,
              "cuts": [{"frame": 11, "time": 0.44, "score": 0.9}, {"frame": 45}]}
    report = evaluate_cut_results(truth, [result], tolerances=(0, 1))
    assert report["pooled"]["0"]["all"]["tp"] == 1 and report["pooled"]["1"]["all"]["tp"] == 2
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps(result))
    out = CliRunner().invoke(cli, ["evaluate", "--annotations", str(csv_path), "--predictions",
                                   str(pred), "--frame-tolerance", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["pooled"]["1"]["hard"]["recall"] == 1.0
    bad = CliRunner().invoke(cli, ["evaluate", "--annotations", str(csv_path)])
    assert bad.exit_code == 2 and "predictions" in bad.output
