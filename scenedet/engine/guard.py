"""``plugin_code``: where plugin code runs, its failure becomes one line naming it.

A plugin's factory, a detector's ``add_frames``/``finish``, a scene's networks or an exporter
may raise anything. The host must not: an exception from plugin code becomes a
:class:`~scenedet.errors.PluginError` (exit 1 on the command line) that names the plugin and the
component, with the original as its ``__cause__`` (``--traceback`` shows it). scenedet's own
errors (:class:`~scenedet.errors.ScenedetError`: a plugin saying "bad option" in one line)
and interrupts pass through unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from scenedet.errors import PluginError, ScenedetError


@contextlib.contextmanager
def plugin_code(plugin: str, component: str, *,
                ours: Callable[[BaseException], bool] | None = None) -> Iterator[None]:
    """Run the ``with`` body as ``plugin``'s ``component``; ``ours(exc)``: errors to let pass."""
    try:
        yield
    except ScenedetError:
        raise
    except Exception as exc:  # noqa: BLE001  (plugin code may raise anything)
        if ours is not None and ours(exc):
            raise
        raise PluginError(plugin, component, exc) from exc


__all__ = ["plugin_code"]
