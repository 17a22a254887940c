"""Value validators: the settings every layer checks, with their one-line messages.

The bottom layer of the package: it imports nothing from scenedet but :mod:`scenedet.errors`, so
the plugin specs (:mod:`scenedet.plugin.specs`), segmentation
(:mod:`scenedet.segmentation.segments`) and the run settings (:mod:`scenedet.engine.settings`)
all check ``min_length``, ``threshold`` and ``label_threshold`` the same way without importing
one another.

* :func:`to_fraction`: a threshold as the exact rational the segmentation compares with;
* :func:`fraction_text`: its shortest exact text (what a run records);
* :func:`to_min_length`: a whole number of seconds ``>= 1``;
* :func:`to_label_threshold`: a probability in ``[0, 1]``.

Each raises :class:`~scenedet.errors.UsageError` naming the value (``name``) it was given.
"""

from __future__ import annotations

import math
import numbers
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from scenedet.errors import UsageError


def to_fraction(threshold: Any, name: str = "threshold") -> Fraction:
    """The exact rational the spec compares with: ``Fraction(str(t))`` for a float or a string
    (``0.7`` is 7/10, not the binary double), a ``Fraction`` as given; must be in ``(0, 1]``.

    Strings may be decimals or ratios (``"0.7"``, ``"2/3"``). Booleans are refused: ``True`` is
    more likely a mistake than a threshold of 1.
    """
    value = _exact(threshold, name)
    if not 0 < value <= 1:
        hint = " (a fraction, not a percentage)" if 1 < value <= 100 else ""
        raise UsageError(f"{name} must be in (0, 1]{hint}, got {_show(threshold)}")
    return value


def fraction_text(value: Fraction) -> str:
    """The shortest exact text of a threshold: ``"0.7"`` for 7/10, ``"2/3"`` where no decimal is exact."""
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return f"{value.numerator}/{value.denominator}"
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    return f"{float(value):.{digits}f}" if digits else str(value.numerator)


def _exact(value: Any, name: str) -> Fraction:
    if isinstance(value, (bool, np.bool_)):
        raise UsageError(f"{name} must be a number in (0, 1], got {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (numbers.Integral, Decimal)):
        return Fraction(value)
    if isinstance(value, (numbers.Real, str)):
        try:
            return Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError):
            pass
    raise UsageError(f"{name} must be a number in (0, 1] such as 0.7 or 2/3, got {_show(value)}")


def to_min_length(min_length: Any, name: str = "min_length") -> int:
    """``m`` as an ``int >= 1``. Whole-valued floats (``10.0``, what a parsed ``10s`` gives) are
    accepted; ``2.5``, ``True``, strings and non-finite values are refused."""
    ok = isinstance(min_length, numbers.Real) and not isinstance(min_length, (bool, np.bool_))
    if ok and math.isfinite(min_length) and min_length == int(min_length) and min_length >= 1:
        return int(min_length)
    raise UsageError(f"{name} must be a whole number of seconds >= 1, got {_show(min_length)}")


def to_label_threshold(label_threshold: Any, name: str = "label_threshold") -> float:
    """The probability at or above which a second counts as positive: a number in ``[0, 1]``."""
    ok = isinstance(label_threshold, numbers.Real) and not isinstance(label_threshold, (bool, np.bool_))
    if ok and 0 <= label_threshold <= 1:  # NaN fails both comparisons
        return float(label_threshold)
    raise UsageError(f"{name} must be a probability in [0, 1], got {_show(label_threshold)}")


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)
