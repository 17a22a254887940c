"""The one engine: any mix of per-second scenes and frame-level detectors over a film.

:func:`scenedet.run` is ``Engine(plugins, settings).run(film)``. An :class:`Engine` is made once
(every setting and plugin checked, the scenes' models loaded) and runs film after film: the
library batch keeps one per worker. Per film it picks the decodes (:mod:`scenedet.engine.passes`):

* detectors only: one frame decode (:func:`~scenedet.engine.passes.detector_pass`);
* scenes only: each scene over its own per-second decode (:func:`~scenedet.engine.passes.
  scene_pass`, the fastest path for a scene: seeking, parallel workers, speed-ups);
* both: one decode feeding both (:func:`~scenedet.engine.passes.one_pass`) on the whole film
  with one decode worker and no speed-up; otherwise each kind over its own decode;

then snaps the scenes to a shot detector's cuts when asked, and profiles the whole when asked.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scenedet import profiling
from scenedet.engine.passes import build_detectors, detector_pass, one_pass, scene_pass
from scenedet.engine.plan import RunPlan, plan_run
from scenedet.engine.result import RunResult
from scenedet.engine.settings import RunSettings, make_settings
from scenedet.errors import SettingError, UsageError


class Engine:
    """A checked run of ``plugins`` with ``settings`` (or keyword settings), models loaded."""

    def __init__(self, plugins: Sequence[str] | str, settings: RunSettings | None = None, *,
                 load: bool = True, **changes: Any) -> None:
        settings = make_settings(settings, **changes)
        self.plan: RunPlan = plan_run(plugins, settings)
        self.settings = settings
        if not self.plan.scenes and _cpu(settings.device):
            # detectors only, on the CPU: nothing here needs torch (a detector whose network
            # runs on OpenVINO or ONNX Runtime never imports it); threads reach them as offers
            if settings.precision == "fp16":
                raise SettingError("precision", "precision fp16 needs a CUDA device (on the cpu "
                                                "use fp32 or auto)")
            self.device: Any = "cpu"
            self.precision = settings.precision
            self.speedup = "none"
            self.loaded: list[Any] = []
            if "torch" in sys.modules:
                _set_torch_threads(settings.threads)
            return
        self._scenes_setup(settings)
        self.loaded = []
        if load:
            self.load()

    def _scenes_setup(self, settings: RunSettings) -> None:
        """Device, precision and speed-up resolved for the scenes (torch)."""
        from scenedet.inference.gpu import resolve_precision
        from scenedet.inference.model import resolve_device

        self.device = resolve_device(settings.device)
        # the scenes' precision and speed-up for this device, refused here and not film by film
        self.precision = resolve_precision(settings.precision, self.device)
        self.speedup = "none"
        if settings.speedup != "none":
            from scenedet.inference.speedups import check_speedup, check_with_precision

            self.speedup = check_speedup(settings.speedup, self.device)
            check_with_precision(self.speedup, self.precision)
        elif settings.precision == "auto":  # kept on the cpu: bf16 where native (make_runner)
            self.precision = "auto"
        if settings.runtime not in ("auto", "torch"):
            if self.device.type != "cpu":
                raise SettingError("runtime", f"runtime {settings.runtime} runs on the cpu; on "
                                              f"{self.device} the networks run on torch (use "
                                              "runtime auto or torch)")
            if self.speedup != "none":
                raise SettingError("runtime", f"the {self.speedup} speed-up runs on torch: it "
                                              f"cannot be combined with runtime {settings.runtime}")
        _set_torch_threads(settings.threads)

    def load(self) -> None:
        """Build the scenes' models (once; ``Engine(..., load=False)`` defers it)."""
        from scenedet.inference.pipeline import load_scene

        if len(self.loaded) == len(self.plan.scenes):
            return
        self.loaded = [load_scene(s.spec, s.segmentation, s.model_path,
                                  device=self.settings.device,
                                  weights=self.settings.weights or None)
                       for s in self.plan.scenes]
        if getattr(self.device, "type", "cpu") == "cpu" and self.speedup == "none":
            for loaded in self.loaded:  # backbones through scenedet.runtime (first batch)
                loaded.model.use_runtime(self.settings.runtime, self.settings.threads)
        from scenedet.inference.sequence import check_streamable

        for loaded in self.loaded:  # refused here, not film by film
            check_streamable(loaded.model.head, precision=self.precision, speedup=self.speedup)

    def run(self, video: str | Path) -> RunResult:
        """Run every plugin over ``video``; results under the names they were asked by."""
        self.load()
        if not self.settings.profile:
            return self._run(video, None)
        was_enabled = profiling.PROFILE.enabled
        profiling.enable()  # restarted: this film's stages only
        try:
            return self._run(video, profiling.PROFILE)
        finally:
            profiling.PROFILE.enabled = was_enabled

    def _run(self, video: str | Path, profile: Any) -> RunResult:
        scene_results, detector_results = self._passes(video)
        by_name: dict[str, Any] = {}
        for planned, result in zip(self.plan.scenes, scene_results):
            by_name[planned.name] = result
        for planned, result in zip(self.plan.detectors, detector_results):
            by_name[planned.name] = result
        snap = self.plan.snap_detector
        if snap is not None:
            from scenedet.inference.framerun import snap_result

            for planned in self.plan.scenes:
                by_name[planned.name] = snap_result(by_name[planned.name], by_name[snap.name],
                                                    self.settings.snap_tolerance)
        results = {name: by_name[name] for name in self.plan.names}
        return RunResult(video=str(video), results=results,
                         profile=profile.to_dict() if profile is not None else None)

    def _passes(self, video: str | Path) -> tuple[list[Any], list[Any]]:
        s = self.settings
        info = self._probe(video) if self.loaded else None
        built = build_detectors(self.plan.detectors, s) if self.plan.detectors else []
        together = (self.loaded and built and s.one_decode and s.whole_film
                    and self.speedup == "none"
                    and (s.decode_workers is None or s.decode_workers <= 1))
        if together:
            return one_pass(video, self.loaded, built, info, s, precision=self.precision)
        scenes = [scene_pass(loaded, video, info, s, precision=self.precision,
                             speedup=self.speedup) for loaded in self.loaded]
        detectors = (detector_pass(video, built, s, workers=self._workers()) if built else [])
        return scenes, detectors

    def _probe(self, video: str | Path) -> Any:
        """The film's probe for the per-second scenes, which need a whole second."""
        from scenedet.media.probe import probe

        info = probe(video)
        if info.n_seconds == 0:
            raise UsageError(f"{video} is shorter than one second ({info.duration:.2f} s): "
                             "no whole second for a per-second scene to score")
        return info

    def _workers(self) -> int:
        from scenedet.media.parallel.seconds import choose_workers

        workers = self.settings.decode_workers
        return choose_workers(self.device) if workers is None else workers


def _cpu(device: str) -> bool:
    return device.strip().lower().split(":")[0] == "cpu"


def _set_torch_threads(threads: int | None) -> None:
    from scenedet.inference.pipeline import set_threads

    set_threads(threads)


def run(video: str | Path, plugins: Sequence[str] | str, settings: RunSettings | None = None,
        **changes: Any) -> RunResult:
    """Run ``plugins`` (scene and detector names, any mix) over ``video``; one call, one decode
    where one suffices. ``settings`` and keyword ``changes`` are :class:`RunSettings` fields::

        result = scenedet.run("film.mp4", ["kissing", "shots"], snap_to="shots", device="cuda")
        for seg in result.documents()["kissing"]["segments"]:   # frames and timecodes too
            print(seg["start_timecode"], seg["end_timecode"], seg["score"])

    Everything is checked before the film is opened or a model loaded; errors are one line
    (:class:`~scenedet.errors.UsageError` for what the caller asked, :class:`~scenedet.errors.
    PluginError` for plugin code that failed, :class:`~scenedet.errors.MediaError` for a film
    that cannot be read). Damaged packets are skipped and reported in each result's damage.
    """
    from scenedet.media.probe import check_path

    engine = Engine(plugins, settings, load=False, **changes)
    check_path(video)  # a missing film says so before any model loads
    engine.load()
    return engine.run(video)


__all__ = ["Engine", "run"]
