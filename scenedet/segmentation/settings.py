"""The four segmentation settings, merged from where they come from and validated once.

A value given by the caller wins; else the first source that records it (a run's saved
``settings``, a scene recipe); else the library default. Each value is validated where it came
from, so a mistake is reported under the name the person used (an option, a file's field).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scenedet.errors import UsageError
from scenedet.segmentation.segments import (DEFAULT_AGGREGATOR, DEFAULT_LABEL_THRESHOLD,
                                            DEFAULT_MIN_LENGTH, DEFAULT_THRESHOLD)
from scenedet.values import to_fraction, to_label_threshold, to_min_length

DEFAULTS: dict[str, Any] = {"aggregator": DEFAULT_AGGREGATOR, "min_length": DEFAULT_MIN_LENGTH,
                            "threshold": DEFAULT_THRESHOLD, "label_threshold": DEFAULT_LABEL_THRESHOLD}


def _aggregator(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{name} must be an aggregator name, got {value!r}")
    return value


_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "aggregator": _aggregator, "min_length": to_min_length, "threshold": to_fraction,
    "label_threshold": to_label_threshold,
}


def resolve_settings(given: Mapping[str, Any], *sources: tuple[Mapping[str, Any], str],
                     names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{"aggregator", "min_length", "threshold", "label_threshold"}``, validated.

    ``given``: the caller's values (``None`` = not given). ``sources``: ``(mapping, where)``
    pairs tried in order; an error in one says ``"{where}.{key}"``. ``names`` maps a key to the
    name the caller knows it by in errors about ``given`` (``{"min_length": "--min-length"}``).
    """
    names = names or {}
    out: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        check = _CHECKS[key]
        if given.get(key) is not None:
            out[key] = check(given[key], names.get(key, key))
            continue
        for source, where in sources:
            if source.get(key) is not None:
                out[key] = check(source[key], f"{where}.{key}")
                break
        else:
            out[key] = default
    return out
