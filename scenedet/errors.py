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


class UnknownComponentError(UsageError, KeyError):
    """A component name that no installed plugin registers."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
