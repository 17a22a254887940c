"""The command line's values as the engine's settings (what ``run`` and ``batch`` share)."""

from __future__ import annotations

import click

from scenedet.errors import SettingError


def run_settings(**values: object):
    """:class:`~scenedet.engine.RunSettings` of the command line's values; a bad one is said
    under the option's name (``--min-length``), not the library's (``min_length``)."""
    from scenedet.engine import RunSettings
    from scenedet.errors import SettingError

    try:
        return RunSettings(**values)
    except SettingError as exc:
        raise click.BadParameter(str(exc), param_hint=flag(exc.setting)) from None


#: Settings whose option is not their name with dashes.
_FLAGS = {"options": "--option", "device_preprocess": "--gpu-preprocess",
          "use_audio": "--no-audio", "model": "--model"}


def flag(setting: str) -> str:
    """The command line's option for a library setting (``min_length`` -> ``--min-length``)."""
    return _FLAGS.get(setting, "--" + setting.replace("_", "-"))


def in_flags(exc: SettingError) -> click.UsageError:
    """``exc`` (a setting no plugin of the run uses, say) with its settings named as options."""
    import re

    text = str(exc)
    for name in sorted(exc.settings, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", flag(name), text)
    return click.UsageError(text)


def whole_seconds(value: float | None) -> int | float | None:
    """--min-length as whole seconds (a fraction is refused by the settings, in one line)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def settings_from_options(plugins: tuple[str, ...] | list[str], o: dict, **extra: object):
    """The engine's settings from the options ``run`` and ``batch`` share (``o``: click's
    values by parameter name); ``extra``: settings of one command alone (a part of the film,
    ``use_audio``, ``threads``...). Unknown plugin names are said first, with "did you mean"."""
    from scenedet.cli.frames_cli import split_options
    from scenedet.cli.output import parse_weight_overrides
    from scenedet.engine.plan import DETECTOR, plugin_kind

    detectors = [n for n in plugins if plugin_kind(n) == DETECTOR]
    snap = [o["snap_to"]] if o["snap_to"] else []
    return run_settings(
        model=o["model"], aggregator=o["aggregator"], min_length=whole_seconds(o["min_length"]),
        threshold=o["threshold"], label_threshold=o["label_threshold"], device=o["device"],
        batch_size=o["batch_size"], weights=parse_weight_overrides(o["weights"]),
        decode_workers=o["decode_workers"], precision=o["precision"], speedup=o["speedup"],
        runtime=o["runtime"],
        device_preprocess=o["gpu_preprocess"],
        options=split_options(o["options"], detectors + snap), snap_to=o["snap_to"],
        snap_tolerance=o["snap_tolerance"], **extra)
