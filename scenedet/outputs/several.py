"""Outputs of a run with frame-level detectors or several plugins: which result goes to which file.

One plugin (a detector, or a scene snapped to one): every output path gets its result, in the
format its suffix names, exactly as a per-second scene's run does. Several plugins:

* a path with ``{scene}`` in it is a template: one file per plugin, ``{scene}`` replaced by the
  plugin's name as given (``film.{scene}.edl`` -> ``film.kissing.edl``, ``film.shots.edl``);
* a plain JSON path (``.json``, or no suffix: ``-``, ``/dev/stdout``, a FIFO) gets ONE combined
  JSON, the list of the results in the order given;
* any other plain path (``film.edl`` with two plugins) is ambiguous: refused
  (:class:`~scenedet.errors.UsageError`) before anything is decoded, as are two outputs that
  land on the same file.

JSON outputs are each result's own JSON (:meth:`~scenedet.inference.framerun.FrameResult.
to_dict`, or a scene's result); other formats go through the exporters
(:func:`~scenedet.plugin._factory.get_exporter_for_suffix`) on the scene list
:func:`~scenedet.outputs.document.from_dict` makes of that JSON, the very conversion
``scenedet export`` does, at the film's frame rate. Every output is rendered before any is
written, and each is written atomically: a failure leaves no file, whole or half.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from scenedet.errors import UsageError

#: The placeholder a path template names a plugin with.
PLACEHOLDER = "{scene}"


@attrs.frozen
class Target:
    """One output: ``path`` (None: standard output), ``index`` of the result it holds (None: all
    of them, one combined JSON), ``json``: written as the result's JSON rather than exported."""

    path: Path | None
    index: int | None
    json: bool


def plan_targets(outputs: Sequence[str | os.PathLike[str]], names: Sequence[str]) -> list[Target]:
    """The :class:`Target` of each output for a run of ``names`` (plugins, in order), checked.

    ``"-"`` is standard output (JSON). Unknown suffixes, ambiguous paths and clashes are a
    one-line :class:`UsageError`.
    """
    from scenedet.files import check_output
    from scenedet.plugin._factory import get_exporter_for_suffix

    names = list(dict.fromkeys(names))
    if not names:
        raise UsageError("no plugin to write results of")
    targets: list[Target] = []
    for out in outputs:
        text = os.fspath(out)
        if text == "-":
            targets.append(Target(None, None if len(names) > 1 else 0, True))
            continue
        if PLACEHOLDER in text:
            for i, name in enumerate(names):
                path = Path(text.replace(PLACEHOLDER, _safe(name)))
                targets.append(Target(path, i, _is_json(get_exporter_for_suffix(str(path)))))
            continue
        is_json = _is_json(get_exporter_for_suffix(text))
        if len(names) > 1 and not is_json:
            suffix = Path(text).suffix
            stem = text[:-len(suffix)] if suffix else text
            raise UsageError(f"{text}: one {suffix or 'such'} file cannot hold the results of "
                             f"{len(names)} plugins ({', '.join(names)}); put {PLACEHOLDER} in "
                             f"the path for one file each, e.g. {stem}.{PLACEHOLDER}{suffix}, "
                             "or write one JSON of all")
        targets.append(Target(Path(text), None if len(names) > 1 else 0, is_json))
    seen: dict[str, Target] = {}
    for target in targets:
        if target.path is None:
            continue
        key = os.path.abspath(target.path)
        if key in seen:
            raise UsageError(f"{target.path} is named twice among the outputs")
        seen[key] = target
        check_output(target.path)
    return targets


def write_targets(results: Sequence[Any], targets: Sequence[Target], video: str | Path
                  ) -> tuple[list[Path], str | None]:
    """Write ``results`` (in the order of the names :func:`plan_targets` got) to ``targets``.

    Returns the files written and the JSON for standard output (None if no target is it). The
    frame rate for frames and timecodes is the film's (probed once, only for non-JSON outputs).
    """
    from scenedet.outputs import render_output, write_rendered
    from scenedet.outputs.document import film_frame_rate, from_dict

    dicts = [r if isinstance(r, dict) else r.to_dict() for r in results]
    rate = None
    rendered: list[tuple[Path, str | bytes]] = []
    stdout = None
    for target in targets:
        if target.json:
            data = dicts if target.index is None else dicts[target.index]
            text = json.dumps(data, indent=2) + "\n"
            if target.path is None:
                stdout = text
            else:
                rendered.append((target.path, text))
            continue
        assert target.path is not None and target.index is not None
        if rate is None:
            rate = film_frame_rate(video)
        scenes = from_dict(dicts[target.index], source=str(target.path), rate=rate)
        rendered.append((target.path, render_output(scenes, target.path)))
    return [write_rendered(path, content) for path, content in rendered], stdout


def _is_json(spec: Any) -> bool:
    return ".json" in getattr(spec, "suffixes", ())


def _safe(name: str) -> str:
    """A plugin name as a file-name part (names are plain, but never let one make a folder)."""
    return name.replace(os.sep, "_").replace("/", "_")


__all__ = ["PLACEHOLDER", "Target", "plan_targets", "write_targets"]
