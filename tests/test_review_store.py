"""The review's annotations file: what a save writes is what `scenedet train` reads, and no
update is lost to a stale page or another program."""

from __future__ import annotations

import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenedet.errors import UsageError
from scenedet.evaluation.annotations import Annotation, AnnotationSet, load_annotations, save_annotations
from scenedet.review.store import AnnotationStore, StaleVersion


def _spans(draw_list):
    """Non-overlapping segments from sorted cut points, each with a label."""
    out, t = [], 0.0
    for gap, length, label in draw_list:
        start = round(t + gap, 6)
        end = round(start + length, 6)
        out.append({"start": start, "end": end, "label": label})
        t = end
    return out


SEGMENTS = st.lists(st.tuples(st.floats(0, 50, allow_nan=False), st.floats(0.001, 50),
                              st.sampled_from([0, 1])), max_size=12).map(_spans)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=SEGMENTS, suffix=st.sampled_from([".csv", ".json"]))
def test_what_a_save_writes_is_what_train_reads(tmp_path, segments, suffix):
    path = tmp_path / f"labels{suffix}"
    path.unlink(missing_ok=True)
    store = AnnotationStore(path, ["a.mp4", "b.mp4"])
    assert store.save("a.mp4", segments, 0) == 1
    read = load_annotations(path)
    assert [(a.start, a.end, a.label) for a in read.for_video("a.mp4")] == [
        (s["start"], s["end"], s["label"]) for s in segments]
    assert read.videos == ("a.mp4",)  # declared, even with no scene: reviewed, all negative
    assert AnnotationStore(path, ["a.mp4"]).film("a.mp4")["segments"] == segments


def test_a_stale_version_is_refused_and_nothing_is_lost(tmp_path):
    path = tmp_path / "labels.csv"
    one, two = AnnotationStore(path, ["a.mp4"]), AnnotationStore(path, ["a.mp4"])
    one.save("a.mp4", [{"start": 1, "end": 2}], 0)
    with pytest.raises(StaleVersion, match="changed elsewhere"):
        two.save("a.mp4", [{"start": 5, "end": 6}], 0)  # it saw version 0: the file changed
    assert [(a.start, a.end) for a in load_annotations(path)] == [(1, 2)]
    assert two.film("a.mp4") == {"version": 1, "declared": True,
                                 "segments": [{"start": 1.0, "end": 2.0, "label": 1}]}
    assert two.save("a.mp4", [{"start": 5, "end": 6}], 1) == 2  # once it has seen it, it may


def test_another_programs_edit_is_seen_and_a_page_that_missed_it_is_refused(tmp_path):
    path = tmp_path / "labels.json"
    store = AnnotationStore(path, ["a.mp4", "b.mp4"])
    store.save("a.mp4", [{"start": 1, "end": 2}], 0)
    store.save("b.mp4", [{"start": 3, "end": 4}], 0)
    edited = AnnotationSet([Annotation("a.mp4", 1, 2.5), Annotation("b.mp4", 3, 4)])
    save_annotations(path, edited)  # an editor changes a.mp4's scene, not b.mp4's
    os.utime(path, ns=(1, 1))  # a different modification time, whatever the clock's grain
    assert store.version("a.mp4") == 2 and store.version("b.mp4") == 1
    with pytest.raises(StaleVersion):
        store.save("a.mp4", [], 1)
    assert store.save("b.mp4", [], 1) == 2  # the other film's page is still current
    assert [(a.video, a.end) for a in load_annotations(path)] == [("a.mp4", 2.5)]


def test_films_not_under_review_are_kept(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("video,start,end,label\nold.mp4,1,2,1\nempty.mp4,,,\n")
    store = AnnotationStore(path, ["a.mp4"])
    store.save("a.mp4", [{"start": 0, "end": 1, "label": 0}], 0)
    read = load_annotations(path)
    assert set(read.videos) == {"old.mp4", "empty.mp4", "a.mp4"}
    assert [(a.video, a.label) for a in read] == [("old.mp4", 1), ("a.mp4", 0)]
    with pytest.raises(UsageError, match="no film 'old.mp4' under review"):
        store.save("old.mp4", [], 0)


@pytest.mark.parametrize("segments, message", [
    ([{"start": 0, "end": 2}, {"start": 1, "end": 3}], "overlaps"),
    ([{"start": 2, "end": 1}], "not after start"),
    ([{"start": -1, "end": 1}], ">= 0"),
    ([{"start": 0, "end": 1, "label": "maybe"}], "invalid label"),
    ([{"start": 0}], "end"),
    ([{"start": float("inf"), "end": 1}], "finite"),
])
def test_bad_segments_are_refused_and_the_file_is_untouched(tmp_path, segments, message):
    path = tmp_path / "labels.csv"
    store = AnnotationStore(path, ["a.mp4"])
    with pytest.raises(UsageError, match=message):
        store.save("a.mp4", segments, 0)
    assert not path.exists() and store.version("a.mp4") == 0


def test_a_file_of_another_kind_is_refused(tmp_path):
    with pytest.raises(UsageError, match=r"\.csv or \.json"):
        AnnotationStore(tmp_path / "labels.txt", ["a.mp4"])


def test_concurrent_saves_of_one_version_let_exactly_one_through(tmp_path):
    store = AnnotationStore(tmp_path / "labels.csv", ["a.mp4"])
    outcomes: list[str] = []

    def save(i: int) -> None:
        try:
            store.save("a.mp4", [{"start": i, "end": i + 0.5}], 0)
            outcomes.append("saved")
        except StaleVersion:
            outcomes.append("refused")

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["refused"] * 7 + ["saved"]
    assert len(load_annotations(tmp_path / "labels.csv")) == 1


def test_reviewed_is_all_of_a_declared_film_unless_negatives_are_marked(tmp_path):
    store = AnnotationStore(tmp_path / "labels.csv", ["a.mp4", "b.mp4"])
    assert store.reviewed("a.mp4", 10) == 0.0
    store.save("a.mp4", [{"start": 1, "end": 3}], 0)
    assert store.reviewed("a.mp4", 10) == 1.0  # the rest of a.mp4 is negative
    store.save("b.mp4", [{"start": 0, "end": 2, "label": 0}], 0)  # now negatives are explicit
    assert store.reviewed("a.mp4", 10) == pytest.approx(0.2)
    assert store.reviewed("b.mp4", 4) == pytest.approx(0.5)


def test_a_broken_film_in_a_folder_is_left_out_with_a_warning(tmp_path):
    from review_helpers import write_film
    from scenedet.errors import MediaError
    from scenedet.review.films import load_films

    write_film(tmp_path / "good.mp4", seconds=1)
    (tmp_path / "broken.mp4").write_bytes(b"not a film at all")
    with pytest.warns(UserWarning, match="left out of the review: .*broken.mp4"):
        _, films = load_films(tmp_path)
    assert [(f.id, f.key) for f in films] == [("0", "good.mp4")]
    with pytest.raises(MediaError):
        load_films(tmp_path / "broken.mp4")  # named alone: an error, not a warning


def test_the_page_ships_in_the_wheel():
    """Every file of scenedet/review/static/ matches the package-data patterns of pyproject."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["scenedet.review"]
    static = sorted(p.relative_to(root / "scenedet" / "review").as_posix()
                    for p in (root / "scenedet" / "review" / "static").iterdir())
    assert {"static/review.html", "static/review.js", "static/review.css"} <= set(static)
    assert all(any(fnmatch.fnmatch(name, pat) for pat in patterns) for name in static), static


def test_results_become_lanes_with_their_own_time_grid(tmp_path):
    """A scene scores each second; a frame-level detector (shots) each frame, and gives cuts."""
    import json

    from review_helpers import write_film, write_result, write_shots
    from scenedet.review.session import open_review

    film = write_film(tmp_path / "a.mp4", seconds=2)
    shots = json.loads(write_shots(tmp_path / "s.json", film, seconds=2).read_text())
    shots.update(time_grid="frame", fps=12, scores=[0.0] * 24)
    (tmp_path / "s.json").write_text(json.dumps(shots))
    session = open_review(film, [write_result(tmp_path / "r.json", film, seconds=2),
                                 tmp_path / "s.json"], annotations=tmp_path / "l.csv")
    state = session.film_state("0")
    assert [(r["name"], r["step"], len(r["scores"])) for r in state["results"]] == [
        ("kissing", 1.0, 2), ("shots", 1 / 12, 24)]
    assert state["cuts"] == [2.5, 4.0, 6.5]
    assert state["annotations"] == {"version": 0, "declared": False, "segments": []}
