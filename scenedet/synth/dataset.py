"""A rendered synthetic dataset: the films, ``annotations.csv``, ``dataset.json`` and ``README.txt``.

No labelled films can be shipped with scenedet, yet training, evaluation, tests, the demo and the
benchmarks all need some. :func:`synthesize` plans films from a seed (:mod:`scenedet.synth.plan`,
which also defines the two cues of the synthetic scene), renders each one
(:mod:`scenedet.synth.render`) and writes the files that describe the set; :class:`SynthDataset`
reads such a folder back. Every file is written atomically, so an interrupted run leaves no
half-written film.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from scenedet.errors import UsageError
from scenedet.files import write_json, write_text, write_with
from scenedet.synth.plan import (AUDIO_CUE_AMPLITUDE, AUDIO_CUE_GUARD_HZ, AUDIO_CUE_HZ,
                                 BACKGROUND_HUES, FADE_S, VISUAL_CUE_DIAMETER, VISUAL_CUE_PERIODS,
                                 VISUAL_CUE_RGB, FilmPlan, SynthScene, SynthSettings, plan_dataset)
from scenedet.synth.render import render_film


@attrs.frozen
class SynthFilm:
    """One rendered film as the manifest describes it."""

    file: str
    duration: int
    scenes: tuple[SynthScene, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "duration": self.duration,
                "scenes": [s.to_dict() for s in self.scenes]}


@attrs.frozen
class SynthDataset:
    """A rendered dataset: its folder, films and the files describing it."""

    root: Path
    settings: SynthSettings
    films: tuple[SynthFilm, ...]
    render_seconds: float | None = attrs.field(default=None, eq=False)

    @property
    def annotations_path(self) -> Path:
        return self.root / "annotations.csv"

    @property
    def manifest_path(self) -> Path:
        return self.root / "dataset.json"

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(self.root / f.file for f in self.films)

    @property
    def total_duration(self) -> int:
        return sum(f.duration for f in self.films)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.films for s in f.scenes if s.kind == kind)

    @classmethod
    def load(cls, root: str | Path) -> SynthDataset:
        """Read a dataset's ``dataset.json`` (written by :func:`synthesize`)."""
        root = Path(root)
        try:
            data = json.loads((root / "dataset.json").read_text())
            settings = SynthSettings(**data["settings"])
            films = tuple(SynthFilm(f["file"], int(f["duration"]),
                                    tuple(SynthScene(int(s["start"]), int(s["end"]), s["kind"])
                                          for s in f["scenes"]))
                          for f in data["films"])
        except FileNotFoundError:
            raise UsageError(f"no synthetic dataset in {root} (dataset.json missing)") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{root / 'dataset.json'}: not a scenedet synth manifest ({exc})") \
                from None
        return cls(root, settings, films)


def synthesize(out_dir: str | Path, *, films: int = 10, seed: int = 0, min_seconds: int = 60,
               max_seconds: int = 600, min_scene: int = 10, max_scene: int = 120,
               width: int = 320, height: int = 240, fps: float = 12.0, audio_rate: int = 16_000,
               overwrite: bool = False,
               progress: Callable[[FilmPlan, float], None] | None = None) -> SynthDataset:
    """Render ``films`` films into ``out_dir`` with ``annotations.csv``, ``dataset.json`` and
    ``README.txt``; return the dataset.

    Film lengths are whole seconds drawn from ``[min_seconds, max_seconds]`` (default 1-10 minutes),
    scene lengths from ``[min_scene, max_scene]`` (shorter when a film has no room). ``progress``
    is called after each film with its plan and the seconds it took. Refuses a folder that already
    holds a dataset unless ``overwrite``.
    """
    from scenedet.evaluation.annotations import Annotation, AnnotationSet, save_annotations

    settings = SynthSettings(films=films, seed=seed, min_seconds=min_seconds,
                             max_seconds=max_seconds, min_scene=min_scene, max_scene=max_scene,
                             width=width, height=height, fps=fps, audio_rate=audio_rate)
    plans = plan_dataset(settings)
    root = Path(out_dir)
    if (root / "dataset.json").exists():
        if not overwrite:
            raise UsageError(f"{root} already holds a synthetic dataset: choose another folder "
                             f"or allow overwriting it")
        for old in SynthDataset.load(root).paths:  # films the new set may not replace
            old.unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for plan in plans:
        t0 = time.perf_counter()
        write_with(root / plan.file, lambda tmp, plan=plan: render_film(plan, tmp, settings),
                   suffix=".mp4")
        if progress is not None:
            progress(plan, time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    dataset = SynthDataset(root, settings,
                           tuple(SynthFilm(p.file, p.duration, p.scenes) for p in plans),
                           render_seconds=elapsed)
    save_annotations(dataset.annotations_path, AnnotationSet(
        [Annotation(p.file, s.start, s.end, 1) for p in plans for s in p.scenes_of("positive")],
        videos=[p.file for p in plans]))
    manifest = {"generator": "scenedet.synth.dataset", "format": 1, "settings": settings.to_dict(),
                "cues": cue_description(), "films": [f.to_dict() for f in dataset.films]}
    write_json(dataset.manifest_path, manifest)
    write_text(root / "README.txt", readme_text(dataset))
    return dataset


def cue_description() -> dict[str, Any]:
    """The cues as data, for ``dataset.json``."""
    return {
        "visual": {"shape": "solid disc", "rgb": list(VISUAL_CUE_RGB),
                   "diameter_of_frame_height": VISUAL_CUE_DIAMETER,
                   "motion": f"Lissajous drift, periods {VISUAL_CUE_PERIODS[0]:g} s and "
                             f"{VISUAL_CUE_PERIODS[1]:g} s, always wholly inside the frame",
                   "background_hues_degrees": list(BACKGROUND_HUES)},
        "audio": {"tones_hz": list(AUDIO_CUE_HZ), "amplitude_each": AUDIO_CUE_AMPLITUDE,
                  "background_guard_hz": AUDIO_CUE_GUARD_HZ, "fade_s": FADE_S},
        "kinds": {"positive": "both cues (annotated, label 1)",
                  "visual_only": "hard negative: the disc without the chord",
                  "audio_only": "hard negative: the chord without the disc"},
        "boundaries": "whole seconds; scene [start, end); the chord sounds for start <= t < end; "
                      "a frame stamped t shows the disc iff start < t <= end, because the still "
                      "of second k is the last frame at or before k + 1",
    }


def readme_text(dataset: SynthDataset) -> str:
    s = dataset.settings
    lines = [
        "Synthetic scene-detection dataset made by `scenedet synth` (a test pattern: the scenes",
        "are defined by two artificial cues, not by any real kind of scene).",
        "",
        f"Seed {s.seed}; {len(dataset.films)} films, {s.width}x{s.height} at {s.fps:g} fps, "
        f"mono AAC at {s.audio_rate} Hz;",
        f"films {s.min_seconds}-{s.max_seconds} s, scenes {s.min_scene}-{s.max_scene} s, whole "
        f"seconds [start, end).",
        "",
        "A scene of the kind (annotations.csv, label 1) shows BOTH cues for its whole length:",
        f"  visual: a solid magenta disc, RGB {VISUAL_CUE_RGB}, diameter "
        f"{VISUAL_CUE_DIAMETER:.0%} of the frame height,",
        "          drifting slowly, always wholly inside the frame, drawn over everything;",
        f"  audio:  a steady chord of sines at {AUDIO_CUE_HZ[0]:g} Hz and {AUDIO_CUE_HZ[1]:g} Hz,"
        f" amplitude {AUDIO_CUE_AMPLITUDE} each.",
        "Hard negatives carry exactly one of the two cues (kinds visual_only / audio_only in",
        "dataset.json); everything else is background: moving colour patterns and shapes whose",
        "hues stay within red-yellow-green-cyan-blue (never magenta), some with a disc of the",
        "cue's size in another colour; noise and tones at least "
        f"{AUDIO_CUE_GUARD_HZ:g} Hz from either cue tone.",
        "",
        f"Positive scenes: {dataset.count('positive')}; hard negatives: "
        f"{dataset.count('visual_only')} visual-only, {dataset.count('audio_only')} audio-only; "
        f"total {dataset.total_duration} s.",
        "Every frame and every second of sound depends only on the seed and the settings.",
        "",
    ]
    return "\n".join(lines)
