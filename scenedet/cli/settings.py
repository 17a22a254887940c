"""The command line's values as the engine's settings (what ``run`` and ``batch`` share)."""

from __future__ import annotations

import click


def run_settings(**values: object):
    """:class:`~scenedet.engine.RunSettings` of the command line's values; a bad one is said
    under the option's name (``--min-length``), not the library's (``min_length``)."""
    from scenedet.engine import RunSettings
    from scenedet.errors import SettingError

    try:
        return RunSettings(**values)
    except SettingError as exc:
        flag = {"options": "--option", "speedup": "--speedup", "device_preprocess":
                "--gpu-preprocess", "use_audio": "--no-audio"}.get(
                    exc.setting, "--" + exc.setting.replace("_", "-"))
        raise click.BadParameter(str(exc), param_hint=flag) from None


def whole_seconds(value: float | None) -> int | float | None:
    """--min-length as whole seconds (a fraction is refused by the settings, in one line)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value
