"""``scenedet.segment``, ``Segment`` and ``load_scores``: validation, the labels/probabilities
rule, plugin lookup, and every SCORES format."""

from __future__ import annotations

import io
import json
from fractions import Fraction
from types import SimpleNamespace

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scenedet
from scenedet import AggregatorSpec, Segment, hookimpl, segment
from scenedet.errors import ScenedetError, UnknownComponentError, UsageError
from scenedet.plugin._host import PluginHost, reset_host
from scenedet.segmentation.scorefiles import load_scores, load_scores_and_settings
from scenedet.segmentation.segments import to_fraction, to_label_threshold, to_min_length
from scenedet_kissing.segmentors import interval

SPEC_EXAMPLE = [1, 0, 1, 1, 1, 0, 0, 1, 1]


# -- Segment ---------------------------------------------------------------------------------------------
def test_segment_is_a_frozen_value_with_exclusive_end():
    s = Segment(2, 9, 0.75)
    assert s.length == 7
    assert s.to_dict() == {"start": 2, "end": 9, "score": 0.75}
    assert s == Segment(start=2, end=9, score=0.75) and hash(s) == hash(Segment(2, 9, 0.75))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        s.start = 3  # type: ignore[misc]


def test_segment_and_segment_are_exported_lazily_from_the_package():
    assert scenedet.segment is segment and scenedet.Segment is Segment


# -- segment(): labels ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("aggregator", ["interval", "algorithm1"])
def test_the_spec_example_through_the_api(aggregator):
    assert segment(SPEC_EXAMPLE, min_length=4, threshold=0.7, aggregator=aggregator) == [Segment(2, 9, None)]


@pytest.mark.parametrize("labels", [
    SPEC_EXAMPLE,
    [bool(v) for v in SPEC_EXAMPLE],
    np.array(SPEC_EXAMPLE, dtype=np.uint8),
    np.array(SPEC_EXAMPLE, dtype=np.int64),
    np.array(SPEC_EXAMPLE, dtype=bool),
])
def test_integer_and_bool_inputs_are_labels_without_score(labels):
    assert segment(labels, min_length=4, threshold="0.7", aggregator="interval") == [Segment(2, 9, None)]


def test_defaults_are_the_papers_ten_seconds_at_seventy_percent():
    labels = [1, 1, 1, 0, 1, 1, 0, 1, 0, 1]  # 7/10 exactly, 10 s long
    assert segment(labels, aggregator="interval") == [Segment(0, 10, None)]
    assert segment([1] * 9, aggregator="interval") == []  # 9 s is too short
    assert segment([1, 1, 1, 0, 1, 0, 0, 1, 0, 1], aggregator="interval") == []  # 6/10 is too sparse


def test_the_core_default_aggregator_keeps_unbroken_runs_long_enough():
    """``runs`` is the core's own default, so a scene needing only scenedet works with defaults."""
    labels = [1] * 10 + [0] + [1] * 12 + [0, 0] + [1] * 9
    assert segment(labels) == [Segment(0, 10, None), Segment(11, 23, None)]
    assert segment(labels, min_length=9) == segment(labels, min_length=9, aggregator="runs")
    assert segment([0.9] * 3 + [0.2] + [0.8] * 2, min_length=2) == [
        Segment(0, 3, pytest.approx(0.9)), Segment(4, 6, pytest.approx(0.8))]


def test_empty_and_too_short_inputs_give_no_scenes():
    assert segment([]) == []
    assert segment(np.array([], dtype=bool), min_length=1) == []
    assert segment([1, 1, 1], min_length=4) == []


# -- segment(): probabilities --------------------------------------------------------------------------------
def test_probabilities_are_thresholded_and_the_score_is_the_mean_inside():
    probs = [0.9, 0.1, 0.8, 0.7, 0.6, 0.2, 0.3, 0.9, 1.0]
    [scene] = segment(probs, min_length=4, threshold=0.7, aggregator="interval")
    assert (scene.start, scene.end) == (2, 9)
    assert scene.score == pytest.approx(np.mean(probs[2:9]))


def test_a_probability_equal_to_the_label_threshold_is_positive():
    assert segment([0.5, 0.5], min_length=2, threshold=1) == [Segment(0, 2, 0.5)]
    assert segment([0.5, 0.4999], min_length=2, threshold=1) == []
    assert segment([0.5, 0.4999], min_length=2, threshold=1, label_threshold=0.4) == [Segment(0, 2, 0.49995)]


def test_float_zeros_and_ones_are_probabilities_not_labels():
    """The dtype decides: confident probabilities keep a float score."""
    assert segment([1.0, 1.0, 0.0, 1.0], min_length=2, threshold=0.7,
                   aggregator="interval") == [Segment(0, 4, 0.75)]


def test_label_threshold_is_ignored_for_labels():
    assert segment([1, 1], min_length=2, threshold=1, label_threshold=1.0) == [Segment(0, 2, None)]


@given(probs=st.lists(st.floats(0, 1), max_size=60), m=st.integers(1, 8),
       t=st.sampled_from([0.5, 0.7, "2/3", 1]), cut=st.sampled_from([0.3, 0.5, 0.8]))
def test_probabilities_give_the_scenes_of_their_labels_with_mean_scores(probs, m, t, cut):
    labels = [p >= cut for p in probs]
    scenes = segment(probs, min_length=m, threshold=t, label_threshold=cut, aggregator="interval")
    assert [(s.start, s.end - 1) for s in scenes] == interval(labels, m, to_fraction(t))
    for s in scenes:
        assert s.score == pytest.approx(sum(probs[s.start:s.end]) / s.length, abs=1e-12)
        assert 0 <= s.score <= 1


@given(probs=st.lists(st.floats(0, 1), max_size=40), m=st.integers(1, 6))
def test_both_aggregators_agree_through_the_api(probs, m):
    assert segment(probs, min_length=m, aggregator="algorithm1") == segment(probs, min_length=m,
                                                                         aggregator="interval")


# -- validation ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    (0.7, Fraction(7, 10)), ("0.7", Fraction(7, 10)), (" 2/3 ", Fraction(2, 3)),
    (Fraction(2, 3), Fraction(2, 3)), (1, Fraction(1)), (1.0, Fraction(1)), ("1e-9", Fraction(1, 10**9)),
    (np.float64(0.7), Fraction(7, 10)), (np.float32(0.7), Fraction(7, 10)),
    (0.1 + 0.2, Fraction("0.30000000000000004")),
])
def test_to_fraction_reads_the_decimal_a_person_wrote(value, expected):
    assert to_fraction(value) == expected
    assert to_fraction(0.7) != Fraction(0.7)  # not the binary double


@pytest.mark.parametrize(("value", "message"), [
    (0, "(0, 1]"), (-0.5, "(0, 1]"), (1.5, "(0, 1]"), (70, "percentage"), ("abc", "such as 0.7"),
    (float("nan"), "such as 0.7"), (float("inf"), "such as 0.7"), (True, "got True"), (None, "got None"),
    ("1/0", "such as 0.7"),
])
def test_bad_thresholds_are_one_line_usage_errors(value, message):
    with pytest.raises(UsageError, match="threshold") as info:
        segment([1, 1], threshold=value)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("value", "expected"), [(10, 10), (10.0, 10), (np.int64(3), 3), (Fraction(4), 4)])
def test_min_length_accepts_whole_numbers(value, expected):
    got = to_min_length(value)
    assert got == expected and type(got) is int


@pytest.mark.parametrize("value", [0, -1, 2.5, True, False, "10", None, float("nan"), float("inf")])
def test_bad_min_lengths_are_refused(value):
    with pytest.raises(UsageError, match=r"^min_length must be a whole number of seconds >= 1"):
        segment([1, 1], min_length=value)


@pytest.mark.parametrize("value", [-0.1, 1.1, float("nan"), True, "0.5", None])
def test_bad_label_thresholds_are_refused(value):
    with pytest.raises(UsageError, match="label_threshold must be a probability in"):
        segment([0.5], label_threshold=value)
    assert to_label_threshold(0) == 0.0 and to_label_threshold(1) == 1.0


@pytest.mark.parametrize(("scores", "message"), [
    ([0, 1, 2], "scores[2] is 2: integer labels must be 0 or 1"),
    ([0, -1], "scores[1] is -1"),
    ([0.2, 0.9, float("nan")], "scores[2] is nan: probabilities must be in [0, 1]"),
    ([0.2, 1.5], "scores[1] is 1.5"),
    ([0.2, -0.0001], "scores[1] is -0.0001"),
    ([0.2, None], "scores[1] is None: not a number"),
    ([0.2, "0.3"], "must be numbers"),
    ([[0.1, 0.2]], "flat sequence"),
    (0.5, "flat sequence"),
    (np.array([1 + 0j]), "must be numbers"),
])
def test_bad_scores_name_the_offending_index(scores, message):
    with pytest.raises(UsageError) as info:
        segment(scores)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_aggregator_lists_the_known_ones():
    with pytest.raises(UnknownComponentError, match=r"unknown aggregator 'nope' \(available: .*interval"):
        segment([1], aggregator="nope")
    with pytest.raises(UsageError, match="aggregator must be a registered name"):
        segment([1], aggregator=interval)  # type: ignore[arg-type]


# -- a third-party aggregator -------------------------------------------------------------------------------------
@pytest.fixture
def private_host():
    """A host holding only the plugins a test adds; the real one is reloaded afterwards."""
    host = PluginHost()
    reset_host(host)
    yield host
    reset_host(None)


def _plugin(**functions) -> SimpleNamespace:
    @hookimpl
    def register_aggregators(register):
        for name, function in functions.items():
            register(AggregatorSpec(name=name, function=function))

    return SimpleNamespace(register_aggregators=register_aggregators)


def test_a_third_party_aggregator_is_called_with_the_validated_contract(private_host):
    calls = []

    def whole_film(labels, min_length, threshold):
        calls.append((labels.dtype, min_length, threshold))
        return [(0, labels.size)] if labels.any() else []

    private_host.add_plugin(_plugin(whole=whole_film), "third-party")
    assert segment([0.2, 0.9, 0.4], min_length=2.0, threshold="0.7", aggregator="whole") == [
        Segment(0, 3, pytest.approx(0.5))]
    assert calls == [(np.dtype(bool), 2, Fraction(7, 10))]
    assert type(calls[0][1]) is int


@pytest.mark.parametrize("bad", [
    [(3, 1)], [(2, 2)], [(0, 2), (1, 3)], [(2, 3), (0, 1)], [(0, 99)], [(-1, 0)], [(0.0, 1.0)], ["ab"], [1],
])
def test_a_broken_aggregator_is_reported_not_passed_on(private_host, bad):
    private_host.add_plugin(_plugin(broken=lambda labels, m, t: bad), "broken-plugin")
    with pytest.raises(ScenedetError, match="aggregator 'broken' returned") as info:
        segment([1] * 5, min_length=1, aggregator="broken")
    assert not isinstance(info.value, UsageError), "a plugin bug is not the user's mistake"


# -- load_scores -------------------------------------------------------------------------------------------------------
def _write(tmp_path, text: str, name: str = "scores") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_one_integer_per_line_is_labels(tmp_path):
    scores = load_scores(_write(tmp_path, "1\n0\n1\n"))
    assert scores.dtype == bool and scores.tolist() == [True, False, True]


def test_one_float_per_line_is_probabilities(tmp_path):
    scores = load_scores(_write(tmp_path, "0.25\r\n1\r\n 0 \r\n1e-3\r\n"))
    assert scores.dtype == np.float64 and scores.tolist() == [0.25, 1.0, 0.0, 0.001]


def test_a_json_list_and_a_run_output_are_read(tmp_path):
    assert load_scores(_write(tmp_path, "[0.1, 0.9]")).tolist() == [0.1, 0.9]
    assert load_scores(_write(tmp_path, "[1, 0, 1]")).dtype == bool
    assert load_scores(_write(tmp_path, "[true, false]")).tolist() == [True, False]
    run = {"film": "x.mp4", "scores": [0.2, 0.8, 0.95], "segments": []}
    assert load_scores(_write(tmp_path, json.dumps(run, indent=2))).tolist() == [0.2, 0.8, 0.95]
    assert load_scores(_write(tmp_path, "[]")).size == 0


def test_a_run_output_gives_its_segmentation_settings(tmp_path):
    run = {"scores": [0.2], "settings": {"aggregator": "algorithm1", "min_length": 5, "threshold": "2/3",
                                         "label_threshold": 0.4, "device": "cpu"}}
    scores, settings = load_scores_and_settings(_write(tmp_path, json.dumps(run)))
    assert scores.tolist() == [0.2]
    assert settings == {"aggregator": "algorithm1", "min_length": 5, "threshold": "2/3", "label_threshold": 0.4}
    assert load_scores_and_settings(_write(tmp_path, "[0.2]"))[1] == {}
    assert load_scores_and_settings(_write(tmp_path, "0.2\n"))[1] == {}


def test_stdin_and_open_files_are_read(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("0.5\n0.75\n"))
    assert load_scores("-").tolist() == [0.5, 0.75]
    assert load_scores(io.StringIO("[1, 1]")).tolist() == [True, True]


def test_a_byte_order_mark_is_tolerated(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff1\n0\n".encode())
    assert load_scores(str(path)).tolist() == [True, False]


@pytest.mark.parametrize(("text", "message"), [
    ("0.1\n\n0.3\n", "scores:2: empty line"),
    ("0.1\nabc\n", "scores:2: 'abc' is not a number"),
    ("0.1\n0.2 0.3\n", "scores:2: '0.2 0.3' is not a number"),
    ("0\n1\n2\n", "scores:3 is 2: integer labels must be 0 or 1"),
    ("0.1\n0.2\n1.7\n", "scores:3 is 1.7: probabilities must be in [0, 1]"),
    ("0.1\nnan\n", "scores:2 is nan"),
    ("", "is empty"),
    ("  \n\n", "is empty"),
    ("[0.1,\n 0.2,,]", "invalid JSON at line 2"),
    ('{"segments": []}', 'without "scores"'),
    ('{"scores": 3}', "must be a JSON list"),
    ('{"scores": [0.1, "x"]}', 'scores[1] is "x": not a number'),
    ('{"scores": [0.1, 7]}', "scores[1] is 7.0: probabilities"),
    ("[0.1, null]", "item 1 is null: not a number"),
    ("[1, true]", "mixes true/false with numbers"),
    ("[0.5, NaN]", "item 1 is nan"),
])
def test_bad_score_files_say_where(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_scores(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unreadable_sources_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="cannot read .*missing.txt: No such file"):
        load_scores(str(tmp_path / "missing.txt"))
    with pytest.raises(UsageError, match="cannot read"):
        load_scores(str(tmp_path))
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(UsageError, match="not a text file"):
        load_scores(str(tmp_path / "binary"))


@given(probs=st.lists(st.floats(0, 1), max_size=50))
def test_text_round_trip_keeps_every_probability(tmp_path_factory, probs):
    path = tmp_path_factory.mktemp("rt") / "scores.txt"
    path.write_text("".join(f"{p!r}\n" for p in probs))
    loaded = load_scores(str(path)) if probs else np.array([])
    assert loaded.tolist() == probs
