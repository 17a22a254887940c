"""Splitting a dataset by film, so that no film's seconds leak across train/val/test."""

from __future__ import annotations

import random
from collections.abc import Sequence

SPLITS = ("train", "val", "test")


def split_films(films: Sequence[str], *, seed: int = 0,
                fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list[str]]:
    """Shuffle ``films`` with ``seed`` and cut them 80/10/10 (by default).

    Every split gets at least one film when there are at least three, so validation and test are
    never empty; the order of ``films`` does not matter (they are sorted first).
    """
    if len(set(films)) != len(films):
        raise ValueError("film names must be unique")
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError("split fractions must be >= 0 and add up to 1")
    order = sorted(films)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_val = round(n * fractions[1])
    n_test = round(n * fractions[2])
    if n >= 3:
        n_val = max(n_val, 1 if fractions[1] > 0 else 0)
        n_test = max(n_test, 1 if fractions[2] > 0 else 0)
    n_train = n - n_val - n_test
    return {"train": order[:n_train], "val": order[n_train:n_train + n_val],
            "test": order[n_train + n_val:]}
