"""Everything a run or an export writes, in one call: what ``scenedet run`` and ``export`` do.

:class:`OutputPlan` names the outputs; :meth:`OutputPlan.check` validates them before any work
starts (an unknown suffix fails before the models load); :func:`produce` writes them in an order
that lets the scene lists mention the media files: clips and stills first (each scene's JSON entry
then gets ``clip`` and ``stills``), then the plot and the report, then the scene lists.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from scenedet.errors import UsageError
from scenedet.outputs import check_output_paths, write_output
from scenedet.outputs.document import SceneList
from scenedet.progress import Progress


class CountProgress(Progress):
    """:class:`Progress` counting things (scenes) rather than film seconds."""

    def __init__(self, total: int, *, unit: str = "scenes", **kwargs) -> None:
        super().__init__(total, **kwargs)
        self.unit = unit

    def line(self, now: float | None = None) -> str:
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return f"{self.label}{self.done}/{self.total} {self.unit} ({pct:3.0f}%)"


def _paths(values) -> tuple[Path, ...]:
    return tuple(Path(v) for v in values)


def _path(value) -> Path | None:
    return None if value is None else Path(value)


@attrs.frozen(kw_only=True)
class OutputPlan:
    """What to write. ``outputs``: scene lists, format by suffix; the rest: see ``scenedet run``."""

    outputs: tuple[Path, ...] = attrs.field(default=(), converter=_paths)
    clips: Path | None = attrs.field(default=None, converter=_path)
    clips_exact: bool = False
    stills: Path | None = attrs.field(default=None, converter=_path)
    stills_per_scene: int = 3
    stills_format: str = "jpg"
    plot: Path | None = attrs.field(default=None, converter=_path)
    report: Path | None = attrs.field(default=None, converter=_path)
    annotations: Path | None = attrs.field(default=None, converter=_path)

    @property
    def needs_film(self) -> bool:
        return bool(self.clips or self.stills or self.report)

    def check(self) -> None:
        """Refuse what would fail later, before any work (one-line :class:`UsageError`)."""
        check_output_paths(self.outputs)
        if self.plot is not None and self.plot.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise UsageError(f"{self.plot}: the plot is written as .png, .svg or .pdf")
        if self.report is not None and self.report.suffix.lower() not in (".html", ".htm"):
            raise UsageError(f"{self.report}: the report is an .html file")
        if self.stills_per_scene < 1:
            raise UsageError(f"stills per scene must be at least 1, got {self.stills_per_scene}")
        if self.stills_format.lower() not in ("jpg", "jpeg", "png"):
            raise UsageError(f"unknown stills format {self.stills_format!r}: use jpg or png")
        for folder in (self.clips, self.stills):
            if folder is not None and folder.exists() and not folder.is_dir():
                raise UsageError(f"{folder} exists and is not a folder")
        if self.annotations is not None and not self.annotations.is_file():
            raise UsageError(f"annotation file not found: {self.annotations}")


def annotated_spans(path: str | os.PathLike[str], video: str) -> list[tuple[float, float]]:
    """The positive annotations of ``video`` in an annotation file (CSV or JSON)."""
    from scenedet.evaluation.annotations import load_annotations, match_video

    annotations = load_annotations(path)
    key = match_video(video, annotations.videos)
    if key is None:
        if len(annotations.videos) == 1:
            key = annotations.videos[0]
        else:
            raise UsageError(f"{path}: no annotations for {Path(video).name} "
                             f"(it annotates {', '.join(annotations.videos[:5])}...)")
    return [(a.start, a.end) for a in annotations.positives(key)]


def produce(scenes: SceneList, plan: OutputPlan, *, progress: bool | None = None,
            say: Callable[[str], None] | None = None) -> list[Path]:
    """Write everything ``plan`` names; ``say`` hears one line per thing written."""
    say = say or (lambda _line: None)
    plan.check()
    if plan.needs_film and not Path(scenes.video).is_file():
        raise UsageError(f"the film {scenes.video} is not here: clips, stills and the report "
                         "need it")
    spans = [(s.index, s.start, s.end) for s in scenes.scenes]
    by_index = {s.index: s for s in scenes.scenes}
    written: list[Path] = []
    if plan.clips is not None and spans:
        from scenedet.outputs.clips import write_clips

        bar = CountProgress(len(spans), label="clips: ", enabled=progress, unit="scenes")
        try:
            clips = write_clips(scenes.video, spans, plan.clips, exact=plan.clips_exact,
                                progress=bar.update)
        finally:
            bar.close()
        for (index, _s, _e), clip in zip(spans, clips):
            by_index[index].extra["clip"] = clip.to_dict()
        worst = max((c.snapped_by for c in clips), default=0.0)
        how = "re-encoded, frame-exact" if plan.clips_exact else \
            f"stream copy, starts up to {worst:.2f} s early (keyframes)"
        say(f"{len(clips)} clip(s) ({how}) -> {plan.clips}")
        written += [c.path for c in clips]
    if plan.stills is not None and spans:
        from scenedet.outputs.stills import write_stills

        bar = CountProgress(len(spans), label="stills: ", enabled=progress, unit="scenes")
        try:
            stills = write_stills(scenes.video, spans, plan.stills, per_scene=plan.stills_per_scene,
                                  fmt=plan.stills_format, progress=bar.update)
        finally:
            bar.close()
        count = 0
        for index, items in stills.items():
            by_index[index].extra["stills"] = [s.to_dict() for s in items]
            written += [s.path for s in items]
            count += len(items)
        say(f"{count} still(s) -> {plan.stills}")
    annotations = (annotated_spans(plan.annotations, scenes.video)
                   if plan.annotations is not None else None)
    label_threshold = float(scenes.settings.get("label_threshold", 0.5) or 0.5)
    # the timeline draws per-second probabilities; a detector's per-frame scores are no such
    # curve (its segments and their scores are drawn instead)
    drawn = scenes if scenes.time_grid == "second" else attrs.evolve(scenes, scores=())
    if plan.plot is not None:
        from scenedet.outputs.plot import scene_list_options, write_plot

        written.append(write_plot(plan.plot, label_threshold=label_threshold,
                                  annotations=annotations, **scene_list_options(drawn)))
        say(f"timeline plot -> {plan.plot}")
    if plan.report is not None:
        from scenedet.outputs.report import write_report

        written.append(write_report(drawn, plan.report, label_threshold=label_threshold,
                                    annotations=annotations))
        say(f"HTML report -> {plan.report}")
    for path in plan.outputs:
        written.append(write_output(scenes, path))
        say(f"{len(scenes.scenes)} scene(s) as {path.suffix.lstrip('.').upper()} -> {path}")
    return written


def summary_lines(scenes: SceneList) -> Sequence[str]:
    """One line per scene for stderr: times, timecodes, score."""
    from scenedet.timefmt import format_time

    return [f"  {format_time(s.start)} - {format_time(s.end)}  [{s.start_timecode} - "
            f"{s.end_timecode}]" + ("" if s.score is None else f"  score {s.score:.2f}")
            for s in scenes.scenes]
