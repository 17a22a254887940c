"""Annotation files: parsing, per-second labels, validation messages, round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenedet.evaluation.annotations import (IGNORE, Annotation, AnnotationError, AnnotationSet,
                                  load_annotations, match_video, parse_label, per_second_labels,
                                  save_annotations, second_range, validate, video_key)
from scenedet.errors import UsageError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------- parsing


def test_csv_accepts_every_cli_time_form_labels_comments_and_column_order(tmp_path):
    path = write(tmp_path, "a.csv", "\n".join([
        "# scenes of the kind",
        "start,end,video,label",
        "12.5s,00:00:20,film_000.mp4,positive",
        "",
        "00:01:00.500,75,film_000.mp4,NEG",
        "3,4,./sub\\film_001.mp4,",
        "1:02,1:03.25,film_001.mp4,true",
    ]))
    aset = load_annotations(path)
    assert [a.to_dict() for a in aset] == [
        {"video": "film_000.mp4", "start": 12.5, "end": 20.0, "label": 1},
        {"video": "film_000.mp4", "start": 60.5, "end": 75.0, "label": 0},
        {"video": "sub/film_001.mp4", "start": 3.0, "end": 4.0, "label": 1},
        {"video": "film_001.mp4", "start": 62.0, "end": 63.25, "label": 1},
    ]
    assert aset.videos == ("film_000.mp4", "sub/film_001.mp4", "film_001.mp4")
    assert aset.explicit_negatives
    assert aset.source == str(path)


def test_a_row_with_empty_times_declares_a_film_without_scenes(tmp_path):
    aset = load_annotations(write(tmp_path, "a.csv", "video,start,end\nquiet.mp4,,\nb.mp4,1,3\n"))
    assert aset.videos == ("quiet.mp4", "b.mp4")
    assert aset.for_video("quiet.mp4") == ()
    assert aset.labels("quiet.mp4", 4).tolist() == [0, 0, 0, 0]


def test_json_list_and_object_forms(tmp_path):
    items = [{"video": "a.mp4", "start": 1, "end": "00:00:03"},
             {"video": "a.mp4", "start": "5s", "end": 6.5, "label": False}]
    as_list = load_annotations(write(tmp_path, "l.json", json.dumps(items)))
    as_obj = load_annotations(write(tmp_path, "o.json", json.dumps(
        {"annotations": items, "videos": ["b.mp4"]})))
    assert as_list.annotations == as_obj.annotations
    assert [(a.start, a.end, a.label) for a in as_list] == [(1.0, 3.0, 1), (5.0, 6.5, 0)]
    assert as_obj.videos == ("b.mp4", "a.mp4")


@pytest.mark.parametrize("value,expected", [
    ("1", 1), ("0", 0), ("Positive", 1), ("negative", 0), ("TRUE", 1), ("false", 0),
    ("yes", 1), ("no", 0), ("pos", 1), ("neg", 0), ("", 1), (None, 1), (True, 1), (0, 0)])
def test_label_values(value, expected):
    assert parse_label(value) == expected


def test_video_keys_are_relative_posix_paths():
    assert video_key(" ./a/b.mp4 ") == "a/b.mp4"
    assert video_key("a\\b.mp4") == "a/b.mp4"
    for bad in ("", "/abs/film.mp4", "../up.mp4", "C:\\films\\a.mp4"):
        with pytest.raises(ValueError):
            video_key(bad)


# ------------------------------------------------------------------------------ error messages


@pytest.mark.parametrize("body,line,fragment", [
    ("a.mp4,10,5", 2, "end 5 is not after start 10"),
    ("a.mp4,10,10", 2, "end 10 is not after start 10"),
    ("a.mp4,1,2\na.mp4,ten,20", 3, "invalid time 'ten'"),
    ("a.mp4,1,2,maybe", 2, "invalid label 'maybe'"),
    ("a.mp4,1", 2, "expected 3 fields"),
    ("a.mp4,,5", 2, "start is empty"),
    ("/x/a.mp4,1,2", 2, "relative to the videos directory"),
])
def test_csv_errors_name_file_and_line(tmp_path, body, line, fragment):
    header = "video,start,end,label\n" if body.count(",") == 3 else "video,start,end\n"
    path = write(tmp_path, "bad.csv", header + body + "\n")
    with pytest.raises(AnnotationError) as info:
        load_annotations(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line {line}: ")
    assert fragment in message
    assert "\n" not in message


def test_overlap_names_both_lines_and_touching_scenes_are_fine(tmp_path):
    path = write(tmp_path, "o.csv", "video,start,end\na.mp4,0,10\nb.mp4,5,8\na.mp4,10,20\n"
                                    "a.mp4,19.5,30\n")
    with pytest.raises(AnnotationError) as info:
        load_annotations(path)
    assert str(info.value) == f"{path}: line 5: 19.5-30 overlaps 10-20 of a.mp4 (line 4)"


def test_an_overlap_with_a_long_earlier_scene_is_found(tmp_path):
    # [0, 100) contains [10, 20) and [30, 40): both overlap it, not only the neighbour.
    path = write(tmp_path, "o.csv", "video,start,end\na.mp4,0,100\na.mp4,10,20\na.mp4,30,40\n")
    with pytest.raises(AnnotationError) as info:
        load_annotations(path)
    assert len(info.value.problems) == 2
    assert str(info.value).endswith("(and 1 more problem)")


def test_header_is_required(tmp_path):
    path = write(tmp_path, "h.csv", "a.mp4,1,2\n")
    with pytest.raises(AnnotationError, match=r"line 1: the first line must be a header"):
        load_annotations(path)
    with pytest.raises(AnnotationError, match=r"unknown column\(s\) 'lable'"):
        load_annotations(write(tmp_path, "t.csv", "video,start,end,lable\n"))
    with pytest.raises(AnnotationError, match="empty file"):
        load_annotations(write(tmp_path, "e.csv", "\n# nothing\n"))


def test_json_errors_name_the_item(tmp_path):
    items = [{"video": "a.mp4", "start": 1, "end": 2},
             {"video": "a.mp4", "start": 4, "end": 3},
             {"video": "a.mp4", "begin": 5, "end": 6}]
    path = write(tmp_path, "bad.json", json.dumps(items))
    with pytest.raises(AnnotationError) as info:
        load_annotations(path)
    assert info.value.problems == (
        f"{path}: item 1: end 3 is not after start 4",
        f"{path}: item 2: unknown field(s) 'begin' (allowed: video, start, end, label)")
    with pytest.raises(AnnotationError, match=r"line 1: invalid JSON"):
        load_annotations(write(tmp_path, "broken.json", "[{"))


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="annotation file not found"):
        load_annotations(tmp_path / "nope.csv")


def test_unknown_video_with_a_videos_dir_suggests_the_near_name(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    path = write(tmp_path, "a.csv", "video,start,end\nflim_000.mp4,1,2\n")
    aset = load_annotations(path)
    with pytest.raises(AnnotationError) as info:
        validate(aset, known_videos={"film_000.mp4"}, videos_dir=videos)
    assert str(info.value) == (f"{path}: line 2: unknown video 'flim_000.mp4' (no such file in "
                               f"{videos}); did you mean 'film_000.mp4'?")


def test_time_past_the_end_of_the_film(tmp_path):
    path = write(tmp_path, "a.csv", "video,start,end\na.mp4,1,30.4\nb.mp4,2,31\nb.mp4,40,41\n")
    aset = load_annotations(path)
    validate(aset, {"a.mp4": 30.0})  # within the tolerance of 0.5 s
    with pytest.raises(AnnotationError) as info:
        validate(aset, {"a.mp4": 30.0, "b.mp4": 30.0})
    assert info.value.problems == (
        f"{path}: line 3: 2-31 runs past the end of b.mp4 (30 s long)",
        f"{path}: line 4: 40-41 runs past the end of b.mp4 (30 s long)")


def test_videos_dir_checks_existence_and_probes_durations(tmp_path):
    from scenedet.media.encode import FilmWriter

    videos = tmp_path / "videos"
    videos.mkdir()
    with FilmWriter(videos / "short.mp4", width=32, height=32, fps=4, audio_rate=None) as writer:
        for _ in range(8):  # 2 s
            writer.write_frame(np.zeros((32, 32, 3), np.uint8))
    ok = write(tmp_path, "ok.csv", "video,start,end\nshort.mp4,0,2\n")
    assert len(load_annotations(ok, videos_dir=videos)) == 1
    late = write(tmp_path, "late.csv", "video,start,end\nshort.mp4,1,5\n")
    with pytest.raises(AnnotationError, match=r"line 2: 1-5 runs past the end of short.mp4"):
        load_annotations(late, videos_dir=videos)
    missing = write(tmp_path, "missing.csv", "video,start,end\nshort.mp4,0,1\nother.mp4,,\n")
    with pytest.raises(AnnotationError, match=r"line 3: unknown video 'other.mp4'"):
        load_annotations(missing, videos_dir=videos)


# ------------------------------------------------------------------------------ per-second labels


def test_a_second_counts_when_its_centre_is_inside():
    # [2.4, 5.5): centres 2.5, 3.5, 4.5 inside; 5.5 is the end (exclusive).
    labels = per_second_labels([Annotation("v", 2.4, 5.5)], 8)
    assert labels.tolist() == [0, 0, 1, 1, 1, 0, 0, 0]
    assert labels.dtype == np.int8
    # [2.6, 5.6): 2.5 outside, 5.5 inside.
    assert per_second_labels([Annotation("v", 2.6, 5.6)], 8).tolist() == [0, 0, 0, 1, 1, 1, 0, 0]
    # Shorter than a second and covering no centre: no second at all.
    assert per_second_labels([Annotation("v", 3.6, 4.4)], 8).sum() == 0
    assert second_range(10, 20) == (10, 20)


def test_explicit_negatives_make_the_rest_unlabelled():
    anns = [Annotation("v", 1, 3, 1), Annotation("v", 5, 6, 0)]
    assert per_second_labels(anns, 8).tolist() == [-1, 1, 1, -1, -1, 0, -1, -1]
    assert per_second_labels(anns[:1], 8).tolist() == [0, 1, 1, 0, 0, 0, 0, 0]
    # A file-level rule: a film with only positives in a file with negatives elsewhere.
    aset = AnnotationSet([*anns, Annotation("w", 0, 2, 1)])
    assert aset.labels("w", 4).tolist() == [1, 1, IGNORE, IGNORE]


def test_labels_are_cut_at_the_end_of_the_film():
    assert per_second_labels([Annotation("v", 2, 10)], 4).tolist() == [0, 0, 1, 1]


def test_annotation_rejects_reversed_spans():
    with pytest.raises(ValueError, match="not after start"):
        Annotation("v", 5, 5)
    with pytest.raises(ValueError):
        Annotation("v", -1, 5)


# ---------------------------------------------------------------------------------- matching


def test_match_video_by_trailing_components_longest_first(tmp_path):
    keys = {"a.mp4", "s1/a.mp4", "b.mp4"}
    assert match_video("/data/x/s1/a.mp4", keys) == "s1/a.mp4"
    assert match_video("/data/x/a.mp4", keys) == "a.mp4"
    assert match_video("b.mp4", keys) == "b.mp4"
    assert match_video("/data/c.mp4", keys) is None
    root = tmp_path / "films"
    assert match_video(root / "s1" / "a.mp4", keys, videos_dir=root) == "s1/a.mp4"
    assert match_video(root / "a.mp4", keys, videos_dir=root) == "a.mp4"


# ---------------------------------------------------------------------------------- round trip


_times = st.integers(0, 10_000).map(lambda ms: ms / 8)  # exact binary fractions


@st.composite
def annotation_sets(draw):
    anns = []
    for video in draw(st.lists(st.sampled_from(["a.mp4", "b/c.mkv", "d e.mp4"]), unique=True,
                               max_size=3)):
        cuts = sorted(draw(st.lists(_times, min_size=0, max_size=8, unique=True)))
        for start, end in zip(cuts[::2], cuts[1::2]):
            anns.append(Annotation(video, start, end, draw(st.sampled_from([0, 1]))))
    empty = draw(st.lists(st.sampled_from(["x.mp4", "y.mp4"]), unique=True, max_size=2))
    return AnnotationSet(anns, empty)


@given(aset=annotation_sets(), suffix=st.sampled_from([".csv", ".json"]))
def test_save_then_load_gives_the_same_set(tmp_path_factory, aset, suffix):
    path = tmp_path_factory.mktemp("rt") / f"a{suffix}"
    save_annotations(path, aset)
    back = load_annotations(path)
    assert sorted(back.annotations, key=repr) == sorted(aset.annotations, key=repr)
    assert set(back.videos) == set(aset.videos)


def test_save_refuses_unknown_suffix(tmp_path):
    with pytest.raises(UsageError, match="use a .csv or .json name"):
        save_annotations(tmp_path / "a.txt", [Annotation("v", 0, 1)])
