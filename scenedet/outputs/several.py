"""Outputs of a run with frame-level detectors or several plugins: which result goes to which file.

One plugin (a detector, or a scene snapped to one): every output path gets its result, in the
format its suffix names, exactly as a per-second scene's run does. Several plugins:

* a path with ``{scene}`` in it is a template: one file per plugin, ``{scene}`` replaced by the
  plugin's name as given (``film.{scene}.edl`` -> ``film.kissing.edl``, ``film.shots.edl``);
* a plain JSON path (``.json``, or no suffix: ``-``, ``/dev/stdout``, a FIFO) gets ONE combined
  JSON, a run document of the results in the order given (``{"results": [...]}``);
* any other plain path (``film.edl`` with two plugins) is ambiguous: refused
  (:class:`~scenedet.errors.UsageError`) before anything is decoded, as are two outputs that
  land on the same file.

Clips, stills and the plot (:class:`~scenedet.outputs.produce.OutputPlan`) follow the same rule
(:func:`plan_outputs`): with one plugin any path, with several a ``{scene}`` template
(``clips/{scene}`` -> ``clips/kissing``, ``clips/shots``), a plain path refused. Each plugin's
are written by :func:`~scenedet.outputs.produce.produce` on the scene list ``scenedet export``
would make of its result (a shot detector: one clip and the stills of each shot), and its JSON
then names them per segment (``clip``, ``stills``), as a per-second scene's does. The report is
the one medium that holds several results: a ``{scene}`` template gives one page per plugin, a
plain path ONE page of them all (one player, a section per plugin in the order given:
:func:`~scenedet.outputs.report_page.write_combined_report`).

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
from collections.abc import Callable, Sequence
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
    from scenedet.plugin.registry import get_exporter_for_suffix

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


def write_targets(results: Sequence[Any], targets: Sequence[Target], video: str | Path, *,
                  rate: Any = None) -> tuple[list[Path], str | None]:
    """Write ``results`` (in the order of the names :func:`plan_targets` got) to ``targets``.

    Returns the files written and the JSON for standard output (None if no target is it). Every
    result is written as its document (:func:`~scenedet.outputs.document.document_of`: frames
    and timecodes at the film's frame rate, ``rate``, probed when not given); several in one
    JSON are one run document (``{"results": [...]}``, :class:`~scenedet.engine.RunResult`).
    """
    from scenedet.outputs import render_output, write_rendered
    from scenedet.outputs.document import document_of, film_frame_rate, from_dict

    if rate is None:
        rate = film_frame_rate(video)
    dicts = [document_of(r, rate) for r in results]
    rendered: list[tuple[Path, str | bytes]] = []
    stdout = None
    for target in targets:
        if target.json:
            data = run_document(video, dicts) if target.index is None else dicts[target.index]
            text = json.dumps(data, indent=2) + "\n"
            if target.path is None:
                stdout = text
            else:
                rendered.append((target.path, text))
            continue
        assert target.path is not None and target.index is not None
        scenes = from_dict(dicts[target.index], source=str(target.path), rate=rate)
        rendered.append((target.path, render_output(scenes, target.path)))
    return [write_rendered(path, content) for path, content in rendered], stdout


def run_document(video: str | Path, documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One JSON of several results (what :meth:`scenedet.engine.RunResult.to_dict` gives)."""
    from scenedet.engine.result import SCHEMA_VERSION

    return {"scenedet": "run", "version": SCHEMA_VERSION, "video": str(video),
            "results": list(documents)}


#: What each media output of an :class:`~scenedet.outputs.produce.OutputPlan` is, for messages.
MEDIA = {"clips": "clips folder", "stills": "stills folder", "plot": "plot", "report": "report"}


@attrs.frozen
class RunOutputs:
    """Everything a run of several plugins (or of one detector) writes, checked.

    ``targets``: the scene lists (:func:`plan_targets`). ``media``: per plugin, in order, the
    :class:`~scenedet.outputs.produce.OutputPlan` of its clips, stills, plot and report (None:
    none asked for). ``report``: the one report of all the plugins (a path without ``{scene}``
    in a run of several; None: none, or one each in ``media``), with the film's
    ``annotations`` file drawn on it.
    """

    targets: list[Target]
    media: list[Any]
    report: Path | None = None
    annotations: Path | None = None


def plan_outputs(outputs: Sequence[str | os.PathLike[str]], names: Sequence[str],
                 plan: Any = None) -> RunOutputs:
    """The scene lists ``outputs`` and the media of ``plan`` (an ``OutputPlan``; its own
    ``outputs`` are ignored) for a run of ``names``, all checked before anything is decoded.

    With several plugins each clips/stills folder and plot path must hold ``{scene}``; a plain
    one is a one-line :class:`UsageError`, as is any path two outputs share. A report path
    without ``{scene}`` is then ONE page of every plugin's result (:attr:`RunOutputs.report`).
    """
    names = list(dict.fromkeys(names))
    _all_placed(outputs, names, plan)
    targets = plan_targets(outputs, names)
    media: list[Any] = [None] * len(names)
    paths = {} if plan is None else {k: getattr(plan, k) for k in MEDIA
                                     if getattr(plan, k) is not None}
    combined = paths.get("report") if len(names) > 1 else None
    if combined is not None and PLACEHOLDER not in os.fspath(combined):
        del paths["report"]
        attrs.evolve(plan, outputs=(), clips=None, stills=None, plot=None).check()
    else:
        combined = None
    if paths:
        for key, path in paths.items():
            text = os.fspath(path)
            if len(names) > 1 and PLACEHOLDER not in text:
                raise UsageError(
                    f"{text}: one {MEDIA[key]} for {len(names)} plugins ({', '.join(names)}) "
                    f"would mix their results; put {PLACEHOLDER} in the path for one each, "
                    f"e.g. {_example(text, key)}")
        media = []
        for name in names:
            one = attrs.evolve(plan, outputs=(), **{  # the one report of all: not each's
                k: None if v is None else Path(os.fspath(v).replace(PLACEHOLDER, _safe(name)))
                for k, v in {**dict.fromkeys(MEDIA), **paths}.items()})
            one.check()
            media.append(one)
    seen = {os.path.abspath(t.path): t.path for t in targets if t.path is not None}
    for path in [getattr(one, k) for one in media if one is not None for k in MEDIA] + [combined]:
        if path is None:
            continue
        where = os.path.abspath(path)
        if where in seen:
            raise UsageError(f"{path} is named twice among the outputs")
        seen[where] = path
    return RunOutputs(targets, media, combined,
                      plan.annotations if combined is not None else None)


def write_outputs(results: Sequence[Any], planned: RunOutputs, video: str | Path, *,
                  progress: bool | None = None,
                  say: Callable[[str], None] | None = None) -> tuple[list[Path], str | None]:
    """Write what :func:`plan_outputs` planned: each plugin's clips, stills, plot and report
    (:func:`~scenedet.outputs.produce.produce`, on :func:`~scenedet.outputs.document.from_dict`
    of its JSON at the film's frame rate), then the one report of them all if planned
    (:func:`~scenedet.outputs.report_page.write_combined_report`), then the scene lists
    (:func:`write_targets`), whose JSON then names each segment's clip and stills. Returns the
    files written and the JSON for standard output, as :func:`write_targets`; ``say`` hears one
    line per media output.
    """
    from scenedet.outputs.document import document_of, film_frame_rate, from_dict
    from scenedet.outputs.produce import produce

    rate = film_frame_rate(video)
    dicts = [document_of(r, rate) for r in results]
    written: list[Path] = []
    for data, plan in zip(dicts, planned.media):
        if plan is None:
            continue
        scenes = from_dict(data, source=str(data.get("scene", "result")), rate=rate)
        written += produce(scenes, plan, progress=progress, say=say)
        for segment, scene in zip(data["segments"], scenes.scenes):
            segment.update({k: v for k, v in scene.extra.items() if k in ("clip", "stills")})
    if planned.report is not None:
        scene_lists = [from_dict(d, source=str(d.get("scene", "result")), rate=rate)
                       for d in dicts]
        written.append(_write_combined(scene_lists, planned))
        if say is not None:
            say(f"HTML report of {len(dicts)} results -> {planned.report}")
    lists, stdout = write_targets(dicts, planned.targets, video, rate=rate)
    return written + lists, stdout


def _write_combined(scene_lists: list[Any], planned: RunOutputs) -> Path:
    """The one report of every result, each drawn as its own report draws it (a detector's
    per-frame scores are no per-second curve: its segments and their scores are drawn)."""
    from scenedet.outputs.produce import annotated_spans
    from scenedet.outputs.report_page import write_combined_report

    assert planned.report is not None
    video = scene_lists[0].video
    if not Path(video).is_file():
        raise UsageError(f"the film {video} is not here: the report needs it")
    drawn = [s if s.time_grid == "second" else attrs.evolve(s, scores=()) for s in scene_lists]
    spans = (annotated_spans(planned.annotations, video)
             if planned.annotations is not None else None)
    return write_combined_report(drawn, planned.report, annotations=spans)


def _all_placed(outputs: Sequence[str | os.PathLike[str]], names: Sequence[str],
                plan: Any) -> None:
    """With several plugins, every output that cannot hold them all (a plain non-JSON path, a
    clips or stills folder or a plot without ``{scene}``; a report can: one page of all) in ONE
    line, so that a person fixes them at once rather than one failed run each. One such output
    keeps its own line (from :func:`plan_targets` or :func:`plan_outputs`)."""
    from scenedet.plugin.registry import get_exporter_for_suffix

    if len(names) < 2:
        return
    bad = []
    for out in outputs:
        text = os.fspath(out)
        if text != "-" and PLACEHOLDER not in text and not _is_json(get_exporter_for_suffix(text)):
            suffix = Path(text).suffix
            bad.append(f"{text} (e.g. {text[:-len(suffix)] if suffix else text}.{PLACEHOLDER}{suffix})")
    for key in MEDIA if plan is not None else ():
        path = getattr(plan, key) if key != "report" else None
        if path is not None and PLACEHOLDER not in os.fspath(path):
            bad.append(f"the {MEDIA[key]} {os.fspath(path)} (e.g. {_example(os.fspath(path), key)})")
    if len(bad) > 1:
        raise UsageError(f"{len(bad)} outputs would mix the results of {len(names)} plugins "
                         f"({', '.join(names)}); put {PLACEHOLDER} in each path for one per "
                         f"plugin: {'; '.join(bad)}")


def _example(text: str, key: str) -> str:
    path = Path(text)
    if key in ("clips", "stills"):
        return os.fspath(path / PLACEHOLDER)
    return os.fspath(path.with_name(f"{path.stem}.{PLACEHOLDER}{path.suffix}"))


def _is_json(spec: Any) -> bool:
    return ".json" in getattr(spec, "suffixes", ())


def _safe(name: str) -> str:
    """A plugin name as a file-name part (names are plain, but never let one make a folder)."""
    return name.replace(os.sep, "_").replace("/", "_")


__all__ = ["MEDIA", "PLACEHOLDER", "RunOutputs", "Target", "plan_outputs", "plan_targets",
           "run_document", "write_outputs", "write_targets"]
