"""``RunSettings``: every setting of a run in one typed value, checked before anything is opened.

One value serves every plugin kind. Each field is checked on its own when the value is made
(``RunSettings(threshold=2)`` is a one-line :class:`~scenedet.errors.UsageError` at once); what
depends on the plugins asked for (a per-second setting given to a detector, options for a plugin
that is not run) is checked by :func:`scenedet.engine.plan.plan_run`, still before any decode or
model load. Messages name settings, never command-line flags: the library has no flags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from scenedet.errors import SettingError, UsageError
from scenedet.runtime.names import RUNTIMES
from scenedet.values import to_fraction, to_label_threshold

PRECISIONS = ("fp32", "fp16", "auto")
SPEEDUPS = ("none", "int8", "compile")
STRATEGIES = ("auto", "seek", "sequential")
WORKER_KINDS = ("thread", "process")

#: Settings that only per-second scenes use; given to a run of detectors alone they are refused.
SCENE_ONLY = ("model", "aggregator", "min_length", "threshold", "label_threshold", "speedup",
              "device_preprocess", "weights")


def _tagged(check: Any) -> Any:
    """``check`` with its one-line error tagged with the setting (the field) it is about."""
    def validator(inst: Any, attr: Any, value: Any) -> None:
        try:
            check(inst, attr, value)
        except SettingError:
            raise
        except UsageError as exc:
            raise SettingError(attr.name, str(exc)) from None
    return validator


def _at_least_one(name: str):
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{name} must be a whole number, got {value!r}")
        if value < 1:
            raise UsageError(f"{name} must be at least 1, got {value}")
    return check


def _one_of(name: str, choices: tuple[str, ...]):
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if value not in choices:
            raise UsageError(f"unknown {name} {value!r}: use {', '.join(choices)}")
    return check


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _time(name: str):
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise UsageError(f"{name} must be a time >= 0 seconds, got {value!r}")
    return check


def _optional_number(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _min_length(_inst: Any, _attr: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
            or value < 1:
        raise UsageError(f"min_length must be a whole number of seconds >= 1, got {value!r}")


def _threshold(_inst: Any, _attr: Any, value: Any) -> None:
    if value is not None:
        to_fraction(value, "threshold")


def _label_threshold(_inst: Any, _attr: Any, value: Any) -> None:
    if value is not None:
        to_label_threshold(value, "label_threshold")


def _options(value: Any) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise UsageError("options must map a plugin name to its options, "
                         "e.g. {'shots': {'threshold': 0.4}}")
    return {str(k): dict(v) for k, v in value.items()}


def _weights(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UsageError("weights must map a backbone name to a weight file")
    return {str(k): str(v) for k, v in value.items()}


def _path(value: Any) -> Any:
    return None if value is None else Path(value)


@attrs.frozen(kw_only=True)
class RunSettings:
    """How to run plugins over a film: every setting of :func:`scenedet.run`, checked.

    Defaults are the plugins' own: ``None`` means "what the scene recipe, the model file or the
    device says". Per-second scenes only: ``model``, ``aggregator``, ``min_length``,
    ``threshold``, ``label_threshold``, ``weights``, ``speedup``, ``device_preprocess``.
    ``runtime`` (what runs the networks on the CPU: :mod:`scenedet.runtime`), ``threads`` and
    ``precision`` reach every network: the scenes' backbones and the detectors whose factories
    take them. Frame-level detectors only: ``options`` (per plugin name; a scene
    takes none), ``batch_frames``. Both: the rest.
    """

    # where and how the networks run
    device: str = attrs.field(default="cpu", converter=lambda v: str(v).strip())
    batch_size: int | None = attrs.field(default=None, validator=_tagged(_at_least_one("batch size")))
    threads: int | None = attrs.field(default=None, validator=_tagged(_at_least_one("threads")))
    precision: str = attrs.field(default="fp32", converter=_lower,
                                 validator=_tagged(_one_of("precision", PRECISIONS)))
    runtime: str = attrs.field(default="auto", converter=_lower,
                               validator=_tagged(_one_of("runtime", RUNTIMES)))
    speedup: str = attrs.field(default="none", converter=lambda v: _lower(v or "none"),
                               validator=_tagged(_one_of("speed-up", SPEEDUPS)))
    device_preprocess: bool = attrs.field(default=False, converter=bool)
    weights: dict[str, str] = attrs.field(factory=dict, converter=_weights)
    # decoding
    decode_workers: int | None = attrs.field(default=None,
                                             validator=_tagged(_at_least_one("decode workers")))
    decode_worker_kind: str = attrs.field(default="thread",
                                          validator=_tagged(_one_of("decode worker kind", WORKER_KINDS)))
    strategy: str = attrs.field(default="auto", validator=_tagged(_one_of("strategy", STRATEGIES)))
    start: float | None = attrs.field(default=None, converter=_optional_number,
                                      validator=_tagged(_time("start")))
    end: float | None = attrs.field(default=None, converter=_optional_number,
                                    validator=_tagged(_time("end")))
    use_audio: bool = attrs.field(default=True, converter=bool)
    #: Scenes and detectors over one decode of the film where possible (False: each kind
    #: decodes on its own, as a benchmark compares).
    one_decode: bool = attrs.field(default=True, converter=bool)
    # per-second scenes
    model: Path | None = attrs.field(default=None, converter=_path)
    aggregator: str | None = None
    min_length: int | None = attrs.field(default=None, validator=_tagged(_min_length))
    threshold: float | str | None = attrs.field(default=None, validator=_tagged(_threshold))
    label_threshold: float | None = attrs.field(default=None, validator=_tagged(_label_threshold))
    # frame-level detectors
    options: dict[str, dict[str, Any]] = attrs.field(factory=dict, converter=_options)
    batch_frames: int = attrs.field(default=128, validator=_tagged(_at_least_one("batch frames")))
    # scenes with a shot detector
    snap_to: str | None = None
    snap_tolerance: float = attrs.field(default=2.0, converter=_optional_number,
                                        validator=_tagged(_time("snap tolerance")))
    # what the caller sees
    progress: bool | None = None
    profile: bool = attrs.field(default=False, converter=bool)

    def __attrs_post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise SettingError("end", f"end ({self.end:g} s) must be after start ({self.start:g} s)")
        if self.speedup != "none" and self.precision == "fp16":
            raise SettingError("speedup", f"the {self.speedup} speed-up runs in fp32: it cannot be combined "
                             "with precision fp16")

    @property
    def whole_film(self) -> bool:
        return self.start is None and self.end is None

    def given(self, names: tuple[str, ...]) -> list[str]:
        """Which of ``names`` differ from their defaults (what the caller asked for)."""
        fields = attrs.fields_dict(type(self))
        out = []
        for name in names:
            default = fields[name].default
            default = default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[attr-defined]
            if getattr(self, name) != default:
                out.append(name)
        return out

    def min_length_seconds(self) -> int | None:
        return None if self.min_length is None else int(self.min_length)


def make_settings(settings: RunSettings | None = None, **changes: Any) -> RunSettings:
    """``settings`` (default: all defaults) with ``changes``; an unknown name is one line."""
    base = settings if settings is not None else RunSettings()
    known = attrs.fields_dict(RunSettings)
    unknown = sorted(set(changes) - set(known))
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown run setting {unknown[0]!r}{hint}; the settings are: "
                         f"{', '.join(known)}")
    return attrs.evolve(base, **changes) if changes else base


__all__ = ["PRECISIONS", "RUNTIMES", "SCENE_ONLY", "SPEEDUPS", "RunSettings", "make_settings"]
