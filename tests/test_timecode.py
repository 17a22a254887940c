"""Frame numbers and SMPTE timecodes: round trips, drop-frame rules, wall-clock anchors."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenedet.outputs.timecode import (FrameRate, frame_to_seconds, frames_to_timecode,
                                       seconds_to_frame, timecode_to_frames)

NTSC = Fraction(30000, 1001)
NTSC60 = Fraction(60000, 1001)
FILM = Fraction(24000, 1001)
RATES = [Fraction(24), Fraction(25), Fraction(30), Fraction(50), Fraction(60), FILM, NTSC, NTSC60,
         Fraction(12), Fraction(15)]


@given(st.sampled_from(RATES), st.integers(0, 30 * 3600 * 60))
def test_frames_timecode_frames_round_trips(rate, frame):
    tc = frames_to_timecode(frame, rate)
    assert timecode_to_frames(tc, rate) == frame


@given(st.sampled_from(RATES), st.integers(0, 10 * 3600 * 60))
def test_consecutive_frames_have_increasing_timecodes(rate, frame):
    a, b = frames_to_timecode(frame, rate), frames_to_timecode(frame + 1, rate)
    assert a.replace(";", ":") < b.replace(";", ":") or len(b) > len(a)


@given(st.sampled_from([NTSC, NTSC60]), st.integers(0, 10 * 3600 * 60))
def test_drop_frame_never_shows_a_dropped_label(rate, frame):
    tc = frames_to_timecode(frame, rate)
    hh, mm, rest = tc.split(":")
    ss, ff = rest.split(";")
    drop = 2 if rate == NTSC else 4
    assert not (ss == "00" and int(ff) < drop and int(mm) % 10 != 0)


@pytest.mark.parametrize("rate,frame,expected", [
    (NTSC, 0, "00:00:00;00"),
    (NTSC, 1799, "00:00:59;29"),
    (NTSC, 1800, "00:01:00;02"),  # ;00 and ;01 are skipped at minute 1
    (NTSC, 17982, "00:10:00;00"),  # ...but not at minute 10
    (NTSC, 107892, "01:00:00;00"),  # one hour of wall clock
    (NTSC60, 3600, "00:01:00;04"),
    (NTSC60, 215784, "01:00:00;00"),
    (Fraction(25), 90000, "01:00:00:00"),
    (FILM, 86400, "01:00:00:00"),  # 23.976 counts at 24, non-drop: drifts from the clock
    (Fraction(24), 24 * 3600 * 25 + 1, "25:00:00:01"),  # hours do not wrap
    (Fraction(10), 37, "00:00:03:07"),  # frames keep two digits below 11 fps (CMX 3600)
    (Fraction(5), 4, "00:00:00:04"),
])
def test_known_timecodes(rate, frame, expected):
    assert frames_to_timecode(frame, rate) == expected
    assert timecode_to_frames(expected, rate) == frame


@pytest.mark.parametrize("tc,rate", [
    ("00:01:00;00", NTSC), ("00:01:00;01", NTSC), ("00:02:00;03", NTSC60),  # dropped labels
    ("00:00:00:24", Fraction(24)), ("00:60:00:00", Fraction(24)), ("1:00:00:00", Fraction(24)),
    ("00:00:00:00", NTSC),  # 29.97 timecodes are drop-frame: ';'
    ("00:00:00;00", Fraction(25)),  # and 25 fps ones are not
])
def test_invalid_timecodes_are_refused(tc, rate):
    with pytest.raises(ValueError):
        timecode_to_frames(tc, rate)


def test_drop_frame_keeps_to_the_wall_clock():
    # drop-frame leaves 0.108 frames per hour (~2.6 a day): within a frame over a day
    for hours in range(1, 25):
        frame = seconds_to_frame(hours * 3600, NTSC)
        assert abs(timecode_to_frames(f"{hours:02d}:00:00;00", NTSC) - frame) <= 3
        assert abs(timecode_to_frames(f"{hours:02d}:00:00;00", NTSC) - frame) <= 1 + hours // 10
    # non-drop at 29.97 would be 3.6 s (108 frames) behind after one hour
    assert timecode_to_frames("01:00:00;00", NTSC) - 108000 == -108


@given(st.sampled_from(RATES), st.integers(0, 10 ** 7))
def test_seconds_of_a_frame_map_back_to_it(rate, frame):
    assert seconds_to_frame(frame_to_seconds(frame, rate), rate) == frame


@given(st.sampled_from(RATES), st.integers(0, 10 ** 5))
def test_a_whole_second_maps_to_the_nearest_frame_boundary(rate, second):
    frame = seconds_to_frame(second, rate)
    assert abs(frame_to_seconds(frame, rate) - second) <= 1 / (2 * rate)


def test_ntsc_second_one_starts_at_frame_30():
    assert seconds_to_frame(1, NTSC) == 30
    assert seconds_to_frame(0.5, Fraction(24)) == 12


def test_frame_rate_describes_itself_and_reads_back():
    rate = FrameRate(NTSC)
    assert rate.nominal == 30 and rate.drop_frame
    data = rate.to_dict()
    assert data["fraction"] == "30000/1001" and data["drop_frame"] is True
    assert FrameRate.from_dict(data) == rate
    assert FrameRate(29.97).value == NTSC  # floats snap to the 1001 family
    assert not FrameRate(25).drop_frame and FrameRate(FILM).nominal == 24
    vfr = FrameRate(Fraction(24), True, "nominal average rate")
    assert FrameRate.from_dict(vfr.to_dict()) == vfr
    with pytest.raises(ValueError):
        FrameRate(0)
