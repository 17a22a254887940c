import math

import pytest
from hypothesis import given, strategies as st

from scenedet.timefmt import format_length, format_time, parse_time


@pytest.mark.parametrize("text, seconds", [
    ("123", 123.0), ("12.5", 12.5), ("12.5s", 12.5), ("0", 0.0), (".5", 0.5),
    ("00:02:03.500", 123.5), ("02:03", 123.0), ("1:00:00", 3600.0), ("  7s ", 7.0), (42, 42.0),
])
def test_parse_time_accepts_cli_formats(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "-1", "1:60", "00:61:00", "12.5m", "1::2", "nan", "inf"])
def test_parse_time_rejects_garbage_with_reason(text):
    with pytest.raises(ValueError, match="invalid time"):
        parse_time(text)


@given(st.integers(min_value=0, max_value=100 * 3600 * 1000))
def test_format_then_parse_round_trips_to_the_millisecond(ms):
    seconds = ms / 1000
    assert math.isclose(parse_time(format_time(seconds)), seconds, abs_tol=5e-4)


@pytest.mark.parametrize("seconds, text", [
    (0, "0 s"), (0.4, "0.4 s"), (0.04, "0.04 s"), (0.96, "0.96 s"), (1.0, "1 s"), (3.0, "3 s"),
    (2.5, "2.5 s"), (35.0, "35 s"), (125.4, "125 s"), (7200.0, "7200 s"),
])
def test_format_length_keeps_sub_second_lengths(seconds, text):
    assert format_length(seconds) == text


@given(st.floats(min_value=0.001, max_value=10 * 3600))
def test_a_positive_length_never_reads_as_nothing(seconds):
    text = format_length(seconds)
    assert text.endswith(" s") and float(text[:-2]) > 0
    assert math.isclose(float(text[:-2]), seconds, rel_tol=0.05, abs_tol=0.5)
