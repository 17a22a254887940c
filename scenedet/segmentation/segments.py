"""Per-second scores in, scenes out: the validated front door to every aggregator.

:func:`segment` is what ``scenedet run`` and ``scenedet segment`` call. It validates the inputs
once (so aggregators receive exactly what :class:`~scenedet.AggregatorSpec` promises: a 1-D
``bool`` array, an ``int >= 1`` and a ``Fraction`` in ``(0, 1]``), looks the aggregator up in the
plugin registry, checks what it returns and wraps the scenes in :class:`Segment` values.

Labels or probabilities? **The dtype decides, never the values.** ``bool`` and integer inputs are
labels (each must be 0 or 1; segments get ``score=None``). Floating-point inputs are
probabilities in ``[0, 1]``: a second is positive when its probability is ``>= label_threshold``,
and each segment gets the mean probability of its seconds as ``score``. So ``[0.0, 1.0, 1.0]``
is read as probabilities (scores ``1.0``), ``[0, 1, 1]`` as labels (scores ``None``): a column of
confident probabilities never silently changes the output's shape.

Kept free of torch: re-segmenting cached scores must answer in well under a second. Reading
scores back from files is :mod:`scenedet.segmentation.scorefiles`.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import attrs
import numpy as np

from scenedet.errors import ScenedetError, UsageError
# the parameter validators live in the bottom layer; re-exported here under their old names
from scenedet.values import fraction_text, to_fraction, to_label_threshold, to_min_length  # noqa: F401

DEFAULT_MIN_LENGTH = 10
DEFAULT_THRESHOLD = 0.7
DEFAULT_AGGREGATOR = "runs"
DEFAULT_LABEL_THRESHOLD = 0.5


@attrs.frozen
class Segment:
    """One scene: seconds ``[start, end)`` (end exclusive) of the film.

    ``score`` is the mean probability of the scene's seconds when :func:`segment` was given
    probabilities, ``None`` when it was given labels.
    """

    start: int
    end: int
    score: float | None = None

    @property
    def length(self) -> int:
        """Duration in seconds."""
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written by ``scenedet run`` and ``scenedet segment``."""
        return {"start": self.start, "end": self.end, "score": self.score}


# -- scores ----------------------------------------------------------------------------------------
def as_scores(scores: Any, where: Callable[[int], str] | None = None) -> np.ndarray:
    """Validate ``scores`` and return them as a 1-D ``bool`` array (labels) or ``float64`` array
    (probabilities), following the dtype rule of this module.

    ``where(i)`` describes the position of item ``i`` in error messages (``scores[i]`` unless a
    loader knows better, such as a line number).
    """
    where = where or (lambda i: f"scores[{i}]")
    try:
        array = np.asarray(scores)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"scores must be a flat sequence of numbers: {exc}") from None
    if array.ndim != 1:
        raise UsageError(f"scores must be a flat sequence (one number per second), got shape {array.shape}")
    if array.dtype.kind == "b":
        return array
    if array.dtype.kind in "iu":
        bad = np.flatnonzero((array != 0) & (array != 1))
        if bad.size:
            i = int(bad[0])
            raise UsageError(f"{where(i)} is {array[i]}: integer labels must be 0 or 1 "
                             "(write probabilities as floats, e.g. 1.0)")
        return array.astype(bool)
    if array.dtype.kind == "f":
        array = array.astype(np.float64, copy=False)
        bad = np.flatnonzero(~((array >= 0) & (array <= 1)))  # NaN is caught too
        if bad.size:
            i = int(bad[0])
            raise UsageError(f"{where(i)} is {array[i]}: probabilities must be in [0, 1]")
        return array
    if array.dtype.kind == "O":
        return as_scores(_numbers_only(array.tolist(), where), where)
    raise UsageError(f"scores must be numbers (labels 0/1 or probabilities), got {array.dtype} values")


def _numbers_only(items: list[Any], where: Callable[[int], str]) -> np.ndarray:
    """An object array: something that is not a number, mixed Python types or huge integers."""
    for i, item in enumerate(items):
        if not isinstance(item, numbers.Real):
            raise UsageError(f"{where(i)} is {item!r}: not a number")
    if all(isinstance(x, numbers.Integral) for x in items):
        for i, item in enumerate(items):
            if item not in (0, 1):
                raise UsageError(f"{where(i)} is {item}: integer labels must be 0 or 1")
        return np.asarray([bool(x) for x in items], dtype=bool)
    return np.asarray([float(x) for x in items], dtype=np.float64)


# -- the front door -----------------------------------------------------------------------------------
def segment(scores: Sequence[Any] | np.ndarray, *, min_length: Any = DEFAULT_MIN_LENGTH,
            threshold: Any = DEFAULT_THRESHOLD, aggregator: str = DEFAULT_AGGREGATOR,
            label_threshold: Any = DEFAULT_LABEL_THRESHOLD) -> list[Segment]:
    """Cut per-second ``scores`` into scenes.

    ``scores``: one value per second, labels (bool / integer 0-1) or probabilities (float in
    [0, 1]); see the module docstring for how they are told apart. ``min_length``: shortest scene
    in whole seconds. ``threshold``: smallest fraction of positive seconds in a scene, compared
    exactly (``0.7``, ``"2/3"``, ``Fraction(2, 3)``). ``aggregator``: a registered aggregator name
    (``scenedet plugins`` lists them). ``label_threshold``: the probability at or above which a
    second is positive (ignored for labels).

    Raises :class:`scenedet.errors.UsageError` (a ``ValueError``) with a one-line reason for any
    bad argument or value, naming the offending index.

    >>> segment([1, 0, 1, 1, 1, 0, 0, 1, 1], min_length=3)
    [Segment(start=2, end=5, score=None)]
    """
    m = to_min_length(min_length)
    t = to_fraction(threshold)
    cut = to_label_threshold(label_threshold)
    values = as_scores(scores)
    probabilities = values if values.dtype.kind == "f" else None
    labels = values if probabilities is None else probabilities >= cut
    pairs = _run_aggregator(aggregator, labels, m, t)
    return _segments(pairs, probabilities)


def _run_aggregator(name: str, labels: np.ndarray, m: int, t: Fraction) -> list[tuple[int, int]]:
    from scenedet.plugin.registry import get_aggregator_spec

    if not isinstance(name, str):
        raise UsageError(f"aggregator must be a registered name such as 'runs', got {name!r}")
    spec = get_aggregator_spec(name)
    pairs = spec.function(labels, m, t)
    return _checked_pairs(spec.name, pairs, labels.size)


def _checked_pairs(name: str, pairs: Any, n: int) -> list[tuple[int, int]]:
    """An aggregator is plugin code: a structurally wrong answer is reported, not passed on."""
    out: list[tuple[int, int]] = []
    previous_end = 0
    for k, pair in enumerate(pairs):
        try:
            start, end = (operator.index(v) for v in pair)
        except (TypeError, ValueError):
            raise ScenedetError(f"aggregator {name!r} returned {pair!r} at position {k}, "
                                "expected a (start, end) pair of second indices") from None
        if not previous_end <= start < end <= n:
            raise ScenedetError(f"aggregator {name!r} returned ({start}, {end}) at position {k}: "
                                f"scenes must be sorted, non-overlapping, non-empty, end-exclusive "
                                f"and within 0..{n}")
        out.append((start, end))
        previous_end = end
    return out


def _segments(pairs: list[tuple[int, int]], probabilities: np.ndarray | None) -> list[Segment]:
    """Value objects; the score is the mean probability of the scene."""
    if probabilities is None:
        return [Segment(start, end) for start, end in pairs]
    if not pairs:
        return []
    bounds = np.asarray(pairs, dtype=np.int64)
    # reduceat over [s0, e0, s1, e1, ...] sums each scene and each gap; keep the scenes
    padded = np.append(probabilities, 0.0)
    sums = np.add.reduceat(padded, bounds.ravel())[::2]
    means = sums / (bounds[:, 1] - bounds[:, 0])
    return [Segment(int(s), int(e), float(p)) for (s, e), p in zip(bounds.tolist(), means.tolist())]
