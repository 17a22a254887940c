"""The two segmentors of the paper's section 4.3, as scenedet aggregators.

Both turn per-second labels ``P`` into scenes, exactly as ``docs/segmentors.md`` defines them
(candidates ``[i, j]`` with ``P[i] == P[j] == 1``, length ``>= m``, density ``>= t``; then the
first overlapping pair in list order loses its shorter member, the later one on a tie):

* :func:`algorithm1` is the oracle: a literal, deliberately slow transcription of the spec that
  relies on no clever fact, so that it can be read beside the paper and trusted.
* :func:`interval` is the one to use: exact integer arithmetic, NumPy-vectorised, ``O(n log n)``.
  Property tests hold it equal to :func:`algorithm1` element for element.

Both return ``(start, end)`` pairs of second indices, **end inclusive**, as the spec writes them
(``docs/segmentors.md``); the registered aggregators hand them to scenedet end-exclusive, the
SDK's convention, and :func:`scenedet.segment` turns them into value objects.
Neither imports torch: re-segmenting cached scores must stay instant.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from scenedet.plugin import AggregatorSpec, hookimpl

Pair = tuple[int, int]


# -- shared argument handling ----------------------------------------------------------------
def _checked(min_length: Any, threshold: Any) -> tuple[int, Fraction]:
    """``(m, t)`` for a direct call; the host has already validated them on the normal path.

    Kept because both functions are public: ``m = 0`` would make the loops produce empty
    "segments", and a float ``t`` would be compared inexactly.
    """
    if isinstance(min_length, bool) or not isinstance(min_length, numbers.Integral) or min_length < 1:
        raise ValueError(f"min_length must be an integer >= 1, got {min_length!r}")
    if not isinstance(threshold, Fraction):
        threshold = Fraction(str(threshold))  # the spec's reading of a float or a decimal string
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    return int(min_length), threshold


# -- the reference ----------------------------------------------------------------------------
def algorithm1(labels: Sequence[Any] | np.ndarray, min_length: int, threshold: Fraction) -> list[Pair]:
    """Algorithm 1 of the paper, read literally (the spec's "Reference"). Slow on purpose.

    Candidate generation is ``O(n^3)`` and pruning restarts from the front after every deletion,
    exactly as the spec words it. Do not optimise this function: its value is that it needs no
    proof, so it can judge :func:`interval`.
    """
    m, t = _checked(min_length, threshold)
    P = [bool(v) for v in np.asarray(labels).ravel()]
    C = _candidates(P, m, t)
    while (pair := _first_overlapping_pair(C)) is not None:
        x, y = pair
        # the shorter one goes; on a tie in length the later one (C[y]) goes
        del C[x if _length(C[x]) < _length(C[y]) else y]
    return C


def _candidates(P: list[bool], m: int, t: Fraction) -> list[Pair]:
    """Step 1: every ``(i, j)`` with positive ends, length ``>= m`` and density ``>= t``, in
    generation order (``i`` ascending, then ``j`` ascending)."""
    C: list[Pair] = []
    for i in range(len(P)):
        if P[i]:
            for j in range(i + m - 1, len(P)):
                if P[j] and _dense_enough(P[i:j + 1], t):
                    C.append((i, j))
    return C


def _dense_enough(window: list[bool], t: Fraction) -> bool:
    """``ones / length >= t`` compared in integers, as the spec demands."""
    return sum(window) * t.denominator >= t.numerator * len(window)


def _first_overlapping_pair(C: list[Pair]) -> Pair | None:
    """The first ``(x, y)``, ``x < y``, in list order whose segments share a second."""
    for x in range(len(C)):
        for y in range(x + 1, len(C)):
            if _overlap(C[x], C[y]):
                return x, y
    return None


def _overlap(a: Pair, b: Pair) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _length(s: Pair) -> int:
    return s[1] - s[0] + 1


# -- the fast version ---------------------------------------------------------------------------
def interval(labels: Sequence[Any] | np.ndarray, min_length: int, threshold: Fraction) -> list[Pair]:
    """The spec's segmentation in ``O(n log n)``, vectorised, with the reference's exact output.

    Three steps, each justified in docs/segmentors.md:

    1. For each positive start ``i``, the longest qualifying end ``J(i)`` (only it can survive),
       by a binary search over suffix maxima of ``D[k] = q*S[k] - p*k``.
    2. The pruning as one left-to-right sweep over these candidates (equivalent to the spec's
       restart-from-the-front loop because candidates are sorted by start).
    3. The sweep visits only candidates that can change its state: a candidate whose start
       ``i - 1`` is also positive is strictly shorter than the one starting at ``i - 1`` and so
       never replaces; it can only open a new scene, and ``searchsorted`` finds those directly.
    """
    m, t = _checked(min_length, threshold)
    P = np.asarray(labels, dtype=bool).ravel()
    starts, ends = _longest_candidates(P, m, t)
    if starts.size == 0:
        return []
    return _sweep(P, starts, ends)


def _longest_candidates(P: np.ndarray, m: int, t: Fraction) -> tuple[np.ndarray, np.ndarray]:
    """Starts ``i`` (ascending) that have a qualifying segment, and their longest end ``J(i)``.

    ``[i, j]`` is dense enough iff ``D[j + 1] >= D[i]`` with ``D[k] = q*S[k] - p*k`` and ``S`` the
    prefix sums of ``P``. The largest such ``k`` comes from a binary search over the suffix
    maxima of ``D`` (non-increasing); trailing zeros are then trimmed, which only raises density.
    """
    n = P.size
    empty = np.empty(0, dtype=np.int64)
    if n < m:
        return empty, empty
    t = _ceil_with_denominator(t, n)  # same decisions, and q*S <= n*n cannot overflow int64
    p, q = t.numerator, t.denominator
    k = np.arange(n + 1, dtype=np.int64)
    S = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(P, out=S[1:])
    D = q * S - p * k
    neg_suffix_max = -np.maximum.accumulate(D[::-1])[::-1]  # non-decreasing
    starts = np.flatnonzero(P)
    K = np.searchsorted(neg_suffix_max, -D[starts], side="right") - 1  # last k with D[k] >= D[i]
    # K >= i + 1 always: D[i + 1] = D[i] + q - p >= D[i] because P[i] is positive and p <= q.
    last_positive = np.maximum.accumulate(np.where(P, k[:-1], -1))
    ends = last_positive[K - 1]
    keep = ends - starts + 1 >= m
    return starts[keep], ends[keep]


def _ceil_with_denominator(t: Fraction, n: int) -> Fraction:
    """The smallest fraction ``>= t`` whose denominator is at most ``n``.

    A density ``ones / length`` with ``length <= n`` is ``>= t`` exactly when it is ``>=`` this
    fraction (densities have denominators ``<= n``), so the decisions do not change while the
    integers stay small: ``t = 0.7000000000000001`` has ``q = 10**16`` and ``q * S`` would overflow.
    The two fractions bracketing ``t`` are the last convergents of the continued-fraction descent
    of :meth:`fractions.Fraction.limit_denominator`.
    """
    if t.denominator <= n:
        return t
    p0, q0, p1, q1 = 0, 1, 1, 0
    num, den = t.numerator, t.denominator
    while True:
        a = num // den
        q2 = q0 + a * q1
        if q2 > n:
            break
        p0, q0, p1, q1 = p1, q1, p0 + a * p1, q2
        num, den = den, num - a * den
    k = (n - q0) // q1
    bounds = (Fraction(p0 + k * p1, q0 + k * q1), Fraction(p1, q1))
    return min(b for b in bounds if b >= t)


def _sweep(P: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[Pair]:
    """The spec's pruning as one pass: keep a current scene; a candidate starting after it ends
    settles it; an overlapping one replaces it only if strictly longer.

    ``settle[c]`` is the first candidate starting after candidate ``c`` ends. Only candidates
    whose start opens a run of positive seconds can replace (``replacers``); the loop jumps
    through the others with ``settle``, so it runs once per replacer or scene, not per candidate.
    """
    settle = np.searchsorted(starts, ends, side="right").tolist()
    replacers = np.flatnonzero((starts == 0) | ~P[starts - 1]).tolist()
    lengths = (ends - starts).tolist()
    scenes: list[int] = []
    cur = 0
    for r in replacers:
        if r == cur:
            continue
        while settle[cur] < r:  # some candidate before r starts after cur ends
            scenes.append(cur)
            cur = settle[cur]
        if settle[cur] == r:  # r itself starts after cur ends
            scenes.append(cur)
            cur = r
        elif lengths[r] > lengths[cur]:  # r overlaps cur (it starts inside it)
            cur = r
    while settle[cur] < len(lengths):
        scenes.append(cur)
        cur = settle[cur]
    scenes.append(cur)
    s, e = starts[scenes].tolist(), ends[scenes].tolist()
    return list(zip(s, e))


# -- plugin registration ------------------------------------------------------------------------
def _end_exclusive(segmentor: Callable[[np.ndarray, int, Fraction], list[Pair]]):
    """The SDK's aggregators return half-open ``(start, end)``; the spec's pairs are inclusive."""

    def aggregate(labels: np.ndarray, min_length: int, threshold: Fraction) -> list[Pair]:
        return [(start, end + 1) for start, end in segmentor(labels, min_length, threshold)]

    aggregate.__name__ = aggregate.__qualname__ = segmentor.__name__
    aggregate.__doc__ = segmentor.__doc__
    return aggregate


@hookimpl
def register_aggregators(register):
    register(AggregatorSpec(
        name="interval",
        function=_end_exclusive(interval),
        summary="Algorithm 1 of the paper (exact), O(n log n) and vectorised",
    ))
    register(AggregatorSpec(
        name="algorithm1",
        function=_end_exclusive(algorithm1),
        summary="Algorithm 1 read literally: the slow reference that judges 'interval'",
    ))
