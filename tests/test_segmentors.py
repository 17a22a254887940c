"""The two segmentors against the spec (docs/segmentors.md, segmentor-spec.md).

``algorithm1`` is the oracle: hand-written cases pin it to the spec's wording. ``interval`` must
equal it element for element on every generated input; both must satisfy the invariants every
scene list obeys. Inputs stay at most ~60 seconds long so that the cubic oracle stays cheap.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from scenedet.plugin._factory import get_aggregator_spec, list_aggregators
from scenedet.plugin._host import get_host
from scenedet.segmentation.segments import to_fraction
from scenedet_kissing.segmentors import _ceil_with_denominator, algorithm1, interval

SEGMENTORS = [algorithm1, interval]
MAX_N = 60


# -- strategies ------------------------------------------------------------------------------------
def _bernoulli(n: int, percent: int) -> st.SearchStrategy[list[bool]]:
    """``n`` independent seconds, each positive with ``percent`` % chance (one draw of bytes:
    much cheaper to generate than ``n`` draws, and it still shrinks towards all negative)."""
    return st.binary(min_size=n, max_size=n).map(lambda b: [x * 100 < percent * 256 for x in b])


@st.composite
def label_lists(draw, max_n: int = MAX_N) -> list[bool]:
    """Per-second labels of the shapes the spec cares about: flat, periodic, noisy and clustered.

    Structured kinds build their length from their parts (Hypothesis favours small integers, and
    short inputs rarely hold more than one scene).
    """
    kind = draw(st.sampled_from(["blocks", "clustered", "noise", "alternating", "zeros", "ones"]))
    if kind == "blocks":  # runs of ones (some with holes) and gaps: several scenes per input
        labels: list[bool] = []
        for ones, holes, gap in draw(st.lists(st.tuples(st.integers(1, 15), st.integers(0, 2),
                                                        st.integers(1, 8)), min_size=2, max_size=12)):
            run = [True] * ones
            for k in range(1, holes + 1):
                run[len(run) * k // (holes + 1)] = False if ones > 2 else True
            labels += run + [False] * gap
        return labels[:max_n]
    n = draw(st.integers(0, max_n))
    if kind == "zeros":
        return [False] * n
    if kind == "ones":
        return [True] * n
    if kind == "alternating":
        period, phase = draw(st.integers(1, 4)), draw(st.integers(0, 7))
        return [((i + phase) // period) % 2 == 0 for i in range(n)]
    if kind == "noise":
        return draw(_bernoulli(n, draw(st.integers(5, 95))))
    n = max(n, draw(st.integers(20, max_n)))
    labels = draw(_bernoulli(n, draw(st.sampled_from([0, 5, 20]))))
    for _ in range(draw(st.integers(0, 4))):  # dense runs in the noise
        start, length = draw(st.integers(0, n - 1)), draw(st.integers(2, 25))
        run = draw(_bernoulli(length, draw(st.sampled_from([70, 90, 100]))))
        labels[start:start + length] = run[: n - start]
    return labels


#: thresholds in every form a user may write them; converted the way the host converts them
THRESHOLDS = st.one_of(
    st.sampled_from([0.6, 0.75, 0.8, 0.9, 1]),
    st.sampled_from([0.7, "0.7", Fraction(7, 10), Fraction(2, 3), "2/3", 1, 1.0, "1", 0.5, 1 / 3,
                     1e-9, "0.000001", Fraction(1, 10**30), 0.7000000000000001,
                     Fraction(10**20 - 1, 10**20)]),
    st.floats(min_value=1e-12, max_value=1.0),
    st.fractions(min_value=Fraction(1, 1000), max_value=1, max_denominator=1000),
    st.decimals(min_value="0.001", max_value="1", places=3).map(str),
).map(to_fraction)


@st.composite
def cases(draw) -> tuple[list[bool], int, Fraction]:
    """``(labels, m, t)`` with ``m`` from 1 to past the length, small ones (many scenes) often."""
    labels = draw(label_lists())
    m = draw(st.one_of(st.integers(1, 6), st.integers(1, len(labels) + 3)))
    return labels, m, draw(THRESHOLDS)


# -- the property that matters: interval is algorithm1 --------------------------------------------
@given(cases())
@example(([1, 0, 1, 1, 1, 0, 0, 1, 1], 4, Fraction(7, 10)))
@example(([1, 0, 1, 0, 1], 1, Fraction(2, 3)))
@example(([True] * 60, 1, Fraction(1)))
@example(([i % 2 == 0 for i in range(30)] + [True] * 30, 1, Fraction(1)))
def test_interval_equals_algorithm1(case):
    labels, m, t = case
    expected = algorithm1(labels, m, t)
    event(f"scenes: {min(len(expected), 3)}{'+' if len(expected) >= 3 else ''}")  # coverage, shown
    assert interval(labels, m, t) == expected                                      # by --hypothesis-show-statistics


def test_interval_equals_algorithm1_on_every_short_input():
    """Exhaustive over every label string up to 9 s: the small cases where ties, touching scenes
    and the first-pair rule all occur, independent of what Hypothesis happens to generate."""
    thresholds = [Fraction(1, 3), Fraction(1, 2), Fraction(2, 3), Fraction(7, 10), Fraction(1)]
    for n in range(10):
        for bits in itertools.product((False, True), repeat=n):
            labels = list(bits)
            for m in (1, 2, 3):
                for t in thresholds:
                    assert interval(labels, m, t) == algorithm1(labels, m, t), (labels, m, t)


# -- invariants, on both ----------------------------------------------------------------------------
def _density_ok(labels: list[bool], start: int, end: int, t: Fraction) -> bool:
    ones = sum(labels[start:end + 1])
    return ones * t.denominator >= t.numerator * (end - start + 1)


@pytest.mark.parametrize("segmentor", SEGMENTORS, ids=lambda f: f.__name__)
@given(case=cases())
def test_scenes_obey_the_spec_invariants(segmentor, case):
    labels, m, t = case
    scenes = segmentor(labels, m, t)
    for start, end in scenes:
        assert isinstance(start, int) and isinstance(end, int)
        assert 0 <= start <= end < len(labels)
        assert end - start + 1 >= m
        assert labels[start] and labels[end], "a scene starts and ends on a positive second"
        assert _density_ok(labels, start, end, t)
        # the spec's second fact: a shorter candidate with the same start never survives
        assert not any(labels[j] and _density_ok(labels, start, j, t) for j in range(end + 1, len(labels)))
    for (_, end), (next_start, _) in zip(scenes, scenes[1:]):
        assert end < next_start, "sorted and non-overlapping"


@pytest.mark.parametrize("segmentor", SEGMENTORS, ids=lambda f: f.__name__)
@given(labels=label_lists(), m=st.integers(1, 8))
def test_threshold_one_gives_the_runs_of_ones_long_enough(segmentor, labels, m):
    """With ``t = 1`` a candidate is a stretch of ones, and the longest per start is the run's
    rest; the first of each run wins, so scenes are exactly the runs of length ``>= m``."""
    runs, start = [], None
    for i, value in enumerate([*labels, False]):
        if value and start is None:
            start = i
        elif not value and start is not None:
            runs.append((start, i - 1))
            start = None
    assert segmentor(labels, m, Fraction(1)) == [(s, e) for s, e in runs if e - s + 1 >= m]


@pytest.mark.parametrize("segmentor", SEGMENTORS, ids=lambda f: f.__name__)
@given(labels=label_lists(), m=st.integers(1, 8), t=THRESHOLDS)
def test_bool_int_and_numpy_inputs_agree(segmentor, labels, m, t):
    expected = segmentor(labels, m, t)
    assert segmentor([int(v) for v in labels], m, t) == expected
    assert segmentor(np.array(labels, dtype=bool), m, t) == expected


# -- hand-written cases ---------------------------------------------------------------------------------
@pytest.mark.parametrize("segmentor", SEGMENTORS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("labels", "m", "t", "expected"), [
    # the spec's example: the original research code returns [(0, 4)] (it always drops the later
    # candidate); here (2, 8), 7 s long, beats (0, 4), 5 s long
    ([1, 0, 1, 1, 1, 0, 0, 1, 1], 4, Fraction(7, 10), [(2, 8)]),
    # a tie: (0, 2) and (2, 4) are both 3 s long and overlap; the later one goes, so the lone
    # second 4 survives as (4, 4). Removing the earlier one would give [(2, 4)]; pruning the
    # last overlapping pair first would give [(0, 2)]
    ([1, 0, 1, 0, 1], 1, Fraction(2, 3), [(0, 2), (4, 4)]),
    ([1, 0, 1, 0, 1], 3, Fraction(2, 3), [(0, 2)]),
    # the end index: m = 2 admits a scene of exactly 2 s (the paper's "i + m + 1" would not)
    ([0, 1, 1, 0], 2, Fraction(1), [(1, 2)]),
    ([0, 1, 1, 0], 3, Fraction(1), []),
    # 0.7 is exactly 7/10: 7 ones in 10 seconds qualify, no float rounding either way
    ([1, 1, 1, 0, 1, 1, 0, 1, 0, 1], 10, Fraction(7, 10), [(0, 9)]),
    ([1, 1, 1, 0, 1, 1, 0, 1, 0, 1], 10, Fraction(7, 10) + Fraction(1, 10**30), []),
    # two scenes separated by a long gap stay two scenes
    ([1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1], 3, Fraction(7, 10), [(0, 2), (8, 10)]),
    # a single positive second is a scene when m = 1
    ([0, 0, 1, 0], 1, Fraction(7, 10), [(2, 2)]),
    ([], 1, Fraction(1, 2), []),
    ([0] * 12, 1, Fraction(1, 10**9), []),
    ([1] * 12, 5, Fraction(7, 10), [(0, 11)]),
    ([1] * 4, 5, Fraction(7, 10), []),
])
def test_hand_written_cases(segmentor, labels, m, t, expected):
    assert segmentor(labels, m, t) == expected


def test_huge_denominators_do_not_overflow_on_long_inputs():
    """``q * S`` with ``q = 10**16`` would overflow int64 at this length; the result must be the
    one for ``t = 1`` because no density lies strictly between ``1 - 1e-16`` and 1 here."""
    rng = np.random.default_rng(7)
    labels = rng.random(300_000) < 0.9
    almost_one = Fraction(10**16 - 1, 10**16)
    assert interval(labels, 5, almost_one) == interval(labels, 5, Fraction(1))
    tiny = Fraction(1, 10**30)  # every pair of positive seconds qualifies: one scene
    positives = np.flatnonzero(labels)
    assert interval(labels, 5, tiny) == [(int(positives[0]), int(positives[-1]))]


def test_interval_on_a_day_of_clustered_scenes_finds_each_scene():
    """An end-to-end sanity check at a realistic size (where algorithm1 cannot follow)."""
    labels = np.zeros(86_400, dtype=bool)
    scenes = [(1_000, 1_059), (20_000, 20_119), (50_000, 50_029)]
    for s, e in scenes:
        labels[s:e + 1] = True
        labels[s + 5] = False  # a dropped second inside each scene
    labels[[10, 30_000, 70_000]] = True  # isolated false positives
    assert interval(labels, 10, Fraction(7, 10)) == scenes


@given(t=st.fractions(min_value=Fraction(1, 10**9), max_value=1), n=st.integers(1, 40))
def test_ceil_with_denominator_is_the_smallest_fraction_at_or_above(t, n):
    brute = min(Fraction(-(-t.numerator * b // t.denominator), b) for b in range(1, n + 1))
    assert _ceil_with_denominator(t, n) == brute


@pytest.mark.parametrize("segmentor", SEGMENTORS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("m", "t"), [(0, Fraction(1, 2)), (2.5, Fraction(1, 2)), (True, Fraction(1, 2)),
                                      (3, Fraction(0)), (3, Fraction(3, 2))])
def test_direct_calls_refuse_bad_parameters(segmentor, m, t):
    with pytest.raises(ValueError):
        segmentor([1, 1, 1], m, t)


# -- registration ------------------------------------------------------------------------------------------
def test_both_are_registered_by_the_segmentors_plugin():
    assert {"algorithm1", "interval"} <= set(list_aggregators())
    labels = np.array([1, 0, 1, 1, 1, 0, 0, 1, 1], dtype=bool)
    for name, segmentor in (("interval", interval), ("algorithm1", algorithm1)):
        # registered end-exclusive (the SDK's convention), the same scenes as the spec's pairs
        assert get_aggregator_spec(name).function(labels, 4, Fraction(7, 10)) == [
            (s, e + 1) for s, e in segmentor(labels, 4, Fraction(7, 10))] == [(2, 9)]
    registry = get_host().registries["aggregator"]
    assert registry.owner("interval") == registry.owner("algorithm1") == "segmentors"


def test_the_segmentors_module_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, scenedet_kissing.segmentors as s; s.interval([1, 1], 1, s.Fraction(1)); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
