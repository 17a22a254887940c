"""What a run leaves behind for people: scene lists in editors' formats, clips, stills, a plot, a report.

* :mod:`~scenedet.outputs.timecode`: frame numbers and SMPTE timecodes (drop-frame too);
* :mod:`~scenedet.outputs.document`: :class:`SceneList`, the scenes every exporter reads;
* exporters, chosen by the output's suffix (plugins add more with ``register_exporters``):
  ``.json`` ``.csv`` ``.vtt`` (:mod:`~scenedet.outputs.formats`), ``.edl``
  (:mod:`~scenedet.outputs.edl`), ``.otio``, ``.fcpxml`` and ``.xml`` (FCP 7) (all three
  :mod:`~scenedet.outputs.otio`);
* :mod:`~scenedet.outputs.clips`, :mod:`~scenedet.outputs.stills`, :mod:`~scenedet.outputs.plot`,
  :mod:`~scenedet.outputs.report`, :mod:`~scenedet.outputs.saliency`.

:func:`write_output` is the one way a scene list becomes a file: the exporter renders, and
:mod:`scenedet.files` writes atomically.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from scenedet.errors import ScenedetError
from scenedet.outputs.document import ExportScene, SceneList, from_result, load_result, scenes_of
from scenedet.outputs.timecode import FrameRate

__all__ = ["SceneList", "ExportScene", "FrameRate", "from_result", "scenes_of", "load_result",
           "write_output", "write_outputs", "render_output", "write_rendered",
           "check_output_paths"]


def check_output_paths(paths: Iterable[str | os.PathLike[str]]) -> list:
    """The exporter of each path, checked before any work starts (unknown suffix: UsageError)."""
    from scenedet.plugin.registry import get_exporter_for_suffix

    return [get_exporter_for_suffix(os.fspath(p)) for p in paths]


def write_output(scenes: SceneList, path: str | os.PathLike[str]) -> Path:
    """Write ``scenes`` to ``path`` in the format its suffix names (atomically)."""
    return write_rendered(path, render_output(scenes, path))


def render_output(scenes: SceneList, path: str | os.PathLike[str]) -> str | bytes:
    """The content ``path``'s exporter makes of ``scenes``, not yet written (so a command can
    render every output before it writes any: a failing exporter then leaves no file behind)."""
    from scenedet.plugin.registry import get_exporter_for_suffix

    spec = get_exporter_for_suffix(os.fspath(path))
    try:
        content = spec.function(scenes)
    except ScenedetError:
        raise
    except Exception as exc:  # a plugin's exporter failing is a failure, not a traceback
        raise ScenedetError(f"exporter {spec.name!r} failed for {os.fspath(path)}: "
                            f"{type(exc).__name__}: {exc}") from exc
    if isinstance(content, (str, bytes, bytearray)):
        return content if isinstance(content, str) else bytes(content)
    raise ScenedetError(f"exporter {spec.name!r} returned {type(content).__name__}, "
                        "not str or bytes")


def write_rendered(path: str | os.PathLike[str], content: str | bytes) -> Path:
    """Write what :func:`render_output` made (atomically: :mod:`scenedet.files`)."""
    from scenedet import files

    if isinstance(content, str):
        return files.write_text(path, content)
    return files.write_bytes(path, content)


def write_outputs(scenes: SceneList, paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """:func:`write_output` for each path, in order, after checking every suffix first."""
    paths = list(paths)
    check_output_paths(paths)
    return [write_output(scenes, p) for p in paths]
