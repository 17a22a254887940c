"""``plan_run``: which plugins a run runs, of which kind, with which settings, all checked.

Everything that can be told without opening the film or loading a network is told here, in one
line each: an unknown plugin (with "did you mean", over every kind), a plugin named twice,
options for a plugin that is not run or that it does not declare, a per-second setting given to
a run without a per-second scene, snapping without a scene to snap, a scene without a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from scenedet.engine.settings import SCENE_ONLY, RunSettings
from scenedet.errors import SettingError, UsageError

SCENE, DETECTOR = "scene", "detector"


@attrs.frozen
class PlannedScene:
    """A per-second scene ready to load: its spec, segmentation settings and model file."""

    name: str
    spec: Any
    segmentation: dict[str, Any]
    model_path: Path


@attrs.frozen
class PlannedDetector:
    """A frame-level detector: its spec and the options its factory gets (checked)."""

    name: str
    spec: Any
    options: dict[str, Any]


@attrs.frozen
class RunPlan:
    """The checked run: ``names`` as asked (results come back under these), each one's kind, and
    the scenes and detectors to build (``detectors`` may hold a shot detector added for
    ``snap_to`` that is not among ``names``)."""

    names: tuple[str, ...]
    kinds: dict[str, str]
    scenes: tuple[PlannedScene, ...]
    detectors: tuple[PlannedDetector, ...]
    settings: RunSettings

    @property
    def snap_detector(self) -> PlannedDetector | None:
        if self.settings.snap_to is None:
            return None
        wanted = _detector_spec(self.settings.snap_to).name
        return next(d for d in self.detectors if d.spec.name == wanted)


def plan_run(plugins: Sequence[str] | str, settings: RunSettings) -> RunPlan:
    """Check ``plugins`` (registered scene or detector names) with ``settings``; see the module."""
    if isinstance(plugins, str):
        plugins = [plugins]
    names = [str(p) for p in plugins]
    if not names:
        raise UsageError("no plugin to run: name a scene or a detector (see `scenedet plugins`)")
    kinds = {name: plugin_kind(name) for name in names}
    canonical: dict[str, str] = {}
    for name in names:
        key = (_scene_spec(name) if kinds[name] == SCENE else _detector_spec(name)).name
        if key in canonical:
            raise UsageError(f"{name!r} is named twice"
                             + (f" (as {canonical[key]!r} too)" if canonical[key] != name else ""))
        canonical[key] = name
    scene_names = [n for n in names if kinds[n] == SCENE]
    detector_names = [n for n in names if kinds[n] == DETECTOR]
    _check_applies(settings, scene_names, detector_names)
    detector_names = _with_snap_target(settings, detector_names)
    options = _options_by_name(settings, names, detector_names, kinds)
    scenes = tuple(_plan_scene(name, settings) for name in scene_names)
    detectors = tuple(PlannedDetector(name=n, spec=_detector_spec(n),
                                      options=_checked_options(n, options.get(n, {})))
                      for n in detector_names)
    return RunPlan(names=tuple(names), kinds=kinds, scenes=scenes, detectors=detectors,
                   settings=settings)


def plugin_kind(name: str) -> str:
    """``"scene"`` or ``"detector"`` for a registered name (or alias); an unknown name is one
    line listing both kinds, with the closest names."""
    from scenedet.plugin import registry

    return registry.find_plugin(name)[0]


def _scene_spec(name: str) -> Any:
    from scenedet.plugin.registry import check_scene_usable, get_scene

    return check_scene_usable(get_scene(name))


def _detector_spec(name: str) -> Any:
    from scenedet.plugin.registry import get_detector_spec

    return get_detector_spec(name)


def _check_applies(settings: RunSettings, scenes: list[str], detectors: list[str]) -> None:
    """Refuse settings that nothing in the run would use (they would be silently ignored)."""
    if not scenes:
        given = settings.given(SCENE_ONLY + ("snap_to",))
        if given:
            what = ", ".join(given)
            raise SettingError(given[0], f"{what} appl{'ies' if len(given) == 1 else 'y'} to per-second "
                             f"scenes, and this run has none ({', '.join(detectors)} "
                             f"{'is a frame-level detector' if len(detectors) == 1 else 'are frame-level detectors'})",
                               others=tuple(given[1:]))
    deaf = [n for n in detectors if not settings.use_audio
            and _detector_spec(n).audio and _detector_spec(n).size is None]
    if deaf:  # a detector that only listens, in a run that ignores the sound: refused up front
        raise UsageError(f"{', '.join(deaf)} only listen{'s' if len(deaf) == 1 else ''}: with "
                         "the film's audio ignored there is nothing to detect")
    if len(scenes) > 1 and settings.model is not None:
        raise UsageError("one model file goes with one scene; run the scenes one at a time "
                         f"({', '.join(scenes)})")


def _with_snap_target(settings: RunSettings, detectors: list[str]) -> list[str]:
    """The detectors to build: those asked for, and the shot detector to snap to if it is not
    among them (its cuts are made in the same pass, no decode of its own)."""
    target = settings.snap_to
    if target is None:
        return detectors
    kind = plugin_kind(target)
    if kind != DETECTOR:
        raise UsageError(f"cannot snap to {target!r}: it is a per-second scene, not a shot "
                         "detector")
    wanted = _detector_spec(target).name
    if not getattr(_detector_spec(target), "shots", True):  # the result model: cuts of shots only
        raise UsageError(f"cannot snap to {target!r}: its segments are not shots (snap to a "
                         "shot detector, e.g. shots or shots-content)")
    if any(_detector_spec(d).name == wanted for d in detectors):
        return detectors
    return [*detectors, target]


def _options_by_name(settings: RunSettings, names: list[str], detectors: list[str],
                     kinds: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Options keyed by the detector names of the run (an alias or canonical name both do)."""
    by_canonical = {_detector_spec(d).name: d for d in detectors}
    out: dict[str, dict[str, Any]] = {}
    for key, values in settings.options.items():
        if key in names and kinds[key] == SCENE:
            raise UsageError(f"{key} is a per-second scene: it takes no options "
                             f"({', '.join(sorted(values))} given)")
        if key in detectors:
            out.setdefault(key, {}).update(values)
            continue
        try:
            canonical = _detector_spec(key).name
        except KeyError:
            canonical = None
        if canonical in by_canonical:
            out.setdefault(by_canonical[canonical], {}).update(values)
            continue
        run = ", ".join(names)
        raise UsageError(f"options for {key!r}, which this run does not run (it runs {run})")
    return out


def _checked_options(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The detector's options as its declared types (a bad key or value: one line)."""
    from scenedet.plugin.registry import check_options

    return check_options(name, _detector_spec(name), raw)


def _plan_scene(name: str, settings: RunSettings) -> PlannedScene:
    from scenedet.inference.pipeline import prepare_run

    spec, segmentation, model_path = prepare_run(
        name, model=settings.model, aggregator=settings.aggregator,
        min_length=settings.min_length_seconds(), threshold=settings.threshold,
        label_threshold=settings.label_threshold, batch_size=settings.batch_size)
    return PlannedScene(name=name, spec=spec, segmentation=segmentation, model_path=model_path)


__all__ = ["DETECTOR", "SCENE", "PlannedDetector", "PlannedScene", "RunPlan", "plan_run",
           "plugin_kind"]
