"""Exceptions that carry a one-line message meant for a person.

The CLI turns :class:`UsageError` subclasses into one line on stderr and exit code 2; anything else
is a bug and keeps its traceback. Library callers can catch them like any ``ValueError``.
"""

from __future__ import annotations


class ScenedetError(Exception):
    """Base class of every error scenedet raises on purpose."""


class UsageError(ScenedetError, ValueError):
    """The caller asked for something that cannot work: a bad argument, file or name (exit 2)."""


class MediaError(UsageError):
    """A file cannot be decoded as a film: missing, empty, truncated, not a video."""


class WeightsError(UsageError):
    """Model weights are missing, corrupt or do not fit the architecture."""


class ModelFileError(UsageError):
    """A scenedet model file is unreadable or does not match the scene it is used with."""


class SettingError(UsageError):
    """One run setting has a value it cannot have (``setting``: its name, as the library
    spells it; a front end may name its own option instead)."""

    def __init__(self, setting: str, message: str, *, others: tuple[str, ...] = ()) -> None:
        self.setting = setting
        #: more settings the message names (a setting that applies to none of the plugins)
        self.settings = (setting, *others)
        super().__init__(message)


class NoModelError(UsageError):
    """A per-second scene has no model: none given and none installed (``path``: where the
    installed one would be)."""

    def __init__(self, scene: str, path: object) -> None:
        self.scene, self.path = scene, path
        super().__init__(f"no model for scene {scene!r}: give a model file, or install one at "
                         f"{path} (train with install=True)")


class OutputError(ScenedetError):
    """An output cannot be written: no permission, no space, a folder in the way (exit 1)."""


class PluginError(ScenedetError):
    """Plugin code raised while working (a factory, a detector, a network, an exporter): one line
    naming the plugin and the component (exit 1); the original exception is ``__cause__``."""

    def __init__(self, plugin: str, component: str, exc: BaseException) -> None:
        self.plugin, self.component = plugin, component
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        super().__init__(one_line(f"{plugin}: {component} failed: {detail}"))


class ConfirmationNeeded(UsageError):
    """A costly action (a very large output) needs the caller's explicit yes (exit 2)."""


class UnknownComponentError(UsageError, KeyError):
    """A component name that no installed plugin registers."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def one_line(text: object, *, limit: int = 300) -> str:
    """``text`` as one line: whitespace runs collapsed, cut at ``limit`` characters on a word.

    Library and third-party messages (torch's, FFmpeg's) can span lines or paragraphs; a person
    reading an error needs the first sentence, whole.
    """
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " ..."
