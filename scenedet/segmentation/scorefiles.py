"""Reading per-second scores back from files: what ``scenedet segment`` re-cuts.

Formats: one number per line, a JSON list, or a ``scenedet run`` JSON output (its ``scores``, and
its ``settings`` so a re-cut can start from the run's own parameters); ``-`` is stdin. Errors are
one line with the line or index at fault. Kept free of torch, like :mod:`scenedet.segmentation.segments`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import IO, Any

import numpy as np

from scenedet.errors import UsageError
from scenedet.segmentation.segments import as_scores

_INTEGER = re.compile(r"^[+-]?\d+$")


def load_scores(source: str | os.PathLike[str] | IO[str]) -> np.ndarray:
    """Read per-second scores from a path, ``"-"`` (stdin) or an open text file.

    Accepted contents, told apart by the first non-blank character:

    * a ``scenedet run`` JSON output: an object whose ``"scores"`` is the per-second list;
    * a JSON list of numbers;
    * plain text, one number per line (line ``k`` is second ``k - 1``); blank lines are refused,
      except at the end, because skipping them would shift every later second.

    Integers and JSON booleans are labels, anything with a decimal point or exponent makes the
    whole input probabilities (see the module docstring). Errors are
    :class:`~scenedet.errors.UsageError` with the line or index at fault.
    """
    return load_scores_and_settings(source)[0]


#: the segmentation settings a ``scenedet run`` output records, which ``scenedet segment`` reuses
RUN_SETTINGS = ("aggregator", "min_length", "threshold", "label_threshold")


def load_scores_and_settings(source: str | os.PathLike[str] | IO[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`load_scores`, plus the segmentation settings recorded in a ``scenedet run`` output
    (its ``"settings"``, only the keys of :data:`RUN_SETTINGS`; empty for other formats), so that
    re-cutting a run without options reproduces its scenes. A run on part of a film adds
    ``"start"``: the film second its first score is."""
    label, text = _read_text(source)
    body = text.lstrip()
    if not body:
        raise UsageError(f"{label} is empty: expected one number per line, a JSON list of numbers "
                         "or a `scenedet run` JSON output")
    if body[0] in "[{":
        return _load_json(label, text)
    return _load_lines(label, text), {}


def read_text(source: str | os.PathLike[str] | IO[str]) -> tuple[str, str]:
    """``(label, text)`` of a path, ``"-"`` (stdin) or an open text file; one-line errors."""
    return _read_text(source)


def _read_text(source: str | os.PathLike[str] | IO[str]) -> tuple[str, str]:
    if hasattr(source, "read"):
        return getattr(source, "name", "<stream>"), source.read()  # type: ignore[union-attr]
    if str(source) == "-":
        return "<stdin>", sys.stdin.read()
    try:
        with open(source, encoding="utf-8-sig") as f:
            return str(source), f.read()
    except UnicodeDecodeError:
        raise UsageError(f"{source}: not a text file (expected numbers or JSON)") from None
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None


def _load_json(label: str, text: str) -> tuple[np.ndarray, dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{label}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    settings: dict[str, Any] = {}
    if isinstance(data, dict):
        if "scores" not in data:
            raise UsageError(f"{label}: a JSON object without \"scores\" (expected a `scenedet run` "
                             "output or a JSON list of numbers)")
        recorded = data.get("settings")
        if isinstance(recorded, dict):
            settings = {k: recorded[k] for k in RUN_SETTINGS if recorded.get(k) is not None}
        offset = data.get("start")
        if isinstance(offset, int) and not isinstance(offset, bool) and offset > 0:
            settings["start"] = offset  # a run on part of a film: scores[0] is this second
        data, where = data["scores"], (lambda i: f"{label}: scores[{i}]")
    else:
        where = lambda i: f"{label}: item {i}"  # noqa: E731
    if not isinstance(data, list):
        raise UsageError(f"{label}: the scores must be a JSON list, got {type(data).__name__}")
    for i, item in enumerate(data):
        if not isinstance(item, (bool, int, float)):
            raise UsageError(f"{where(i)} is {json.dumps(item)}: not a number")
    if data and all(isinstance(x, bool) for x in data):
        return np.asarray(data, dtype=bool), settings
    if any(isinstance(x, bool) for x in data) and any(type(x) is not bool for x in data):
        raise UsageError(f"{label}: mixes true/false with numbers; use one kind of value")
    return as_scores(_typed_array(data), where), settings


def _load_lines(label: str, text: str) -> np.ndarray:
    lines = text.rstrip().splitlines()
    values: list[int | float] = []
    for number, line in enumerate(lines, start=1):
        token = line.strip()
        if not token:
            raise UsageError(f"{label}:{number}: empty line (one number per second, no gaps)")
        try:
            values.append(int(token) if _INTEGER.match(token) else float(token))
        except ValueError:
            raise UsageError(f"{label}:{number}: {token!r} is not a number") from None
    return as_scores(_typed_array(values), lambda i: f"{label}:{i + 1}")


def _typed_array(values: list[Any]) -> np.ndarray:
    """Integers stay integers (labels) unless one float is present (probabilities)."""
    if all(isinstance(v, int) for v in values):
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:
            return np.asarray(values, dtype=object)  # as_scores then names the culprit
    return np.asarray(values, dtype=np.float64)
