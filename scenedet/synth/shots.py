"""Generated films with known shot cuts and technical cues: ground truth for the frame detectors.

A film is a run of shots, each a smooth random colour field with shapes, seen through a camera
that pans and sometimes carries a moving disc; some shots contain a *flash* (1-3 frames washed
towards white) as a hard negative, and camera motion is itself one. Shots are joined by hard cuts,
dissolves (a cross-fade over 6-20 frames) and fades (out to black and back in). Technical cues:
an optional leader of SMPTE colour bars with a 1 kHz tone, black stretches between shots (hard cut
to black, 1-2 s of black and silence, hard cut out) and a silent stretch inside a shot.

Everything is decided by a seeded plan (:func:`plan_shot_film`) before a frame is drawn, so the
annotations are exact: a transition spans frames ``[start_frame, end_frame]``; for a hard cut both
are the first frame of the new shot, for a gradual one ``end_frame`` is the first frame wholly of
the new shot. Cues are half-open ``[start_frame, end_frame)``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet import files
from scenedet.errors import UsageError

AUDIO_RATE = 16_000
BAR_COLOURS = ((192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192),
               (192, 0, 0), (0, 0, 192))  # 75% SMPTE bars, left to right


@attrs.frozen(kw_only=True)
class Transition:
    kind: str  # "hard", "dissolve", "fade"
    start_frame: int
    end_frame: int


@attrs.frozen(kw_only=True)
class Cue:
    kind: str  # "black", "silence", "bars"
    start_frame: int
    end_frame: int


@attrs.frozen(kw_only=True)
class Part:
    """A stretch of picture: a shot, black, bars, or a transition between two shots."""

    kind: str  # "shot", "black", "bars", "dissolve", "fade"
    start_frame: int
    frames: int
    seed: int = 0
    flashes: tuple[int, ...] = ()  # frames (film index) washed towards white
    tone: float = 0.0  # Hz of the shot's sound, 0 for noise


@attrs.frozen(kw_only=True)
class ShotFilmPlan:
    file: str
    fps: int
    width: int
    height: int
    n_frames: int
    parts: tuple[Part, ...]
    transitions: tuple[Transition, ...]
    cues: tuple[Cue, ...]
    flashes: tuple[int, ...]

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def to_dict(self) -> dict[str, Any]:
        fps = self.fps
        return {
            "video": self.file, "fps": fps, "n_frames": self.n_frames,
            "duration": self.duration,
            "transitions": [{"kind": t.kind, "start_frame": t.start_frame,
                             "end_frame": t.end_frame, "start": t.start_frame / fps,
                             "end": t.end_frame / fps} for t in self.transitions],
            "cues": [{"kind": c.kind, "start_frame": c.start_frame, "end_frame": c.end_frame,
                      "start": c.start_frame / fps, "end": c.end_frame / fps} for c in self.cues],
            "flashes": list(self.flashes),
        }


def plan_shot_film(index: int, seed: int, *, shots: int = 12, fps: int = 25,
                   width: int = 320, height: int = 180, min_shot: float = 1.0,
                   max_shot: float = 5.0, gradual: float = 0.3, bars: bool = True,
                   black: int = 1) -> ShotFilmPlan:
    """The plan of film ``index``: shot lengths, transitions, flashes, cues."""
    if shots < 2 or fps < 1 or min_shot <= 0 or max_shot < min_shot:
        raise UsageError("a shot film needs >= 2 shots, fps >= 1 and 0 < min_shot <= max_shot")
    rng = np.random.default_rng([seed, index, 7])
    parts: list[Part] = []
    transitions: list[Transition] = []
    cues: list[Cue] = []
    at = 0
    if bars:
        n = 2 * fps
        parts.append(Part(kind="bars", start_frame=0, frames=n))
        cues.append(Cue(kind="bars", start_frame=0, end_frame=n))
        at = n
    black_after = set(rng.choice(np.arange(1, shots - 1), size=min(black, shots - 2),
                                 replace=False).tolist()) if black else set()
    silence_in = int(rng.integers(0, shots))
    for k in range(shots):
        length = int(rng.integers(round(min_shot * fps), round(max_shot * fps) + 1))
        if at > 0 and (not parts or parts[-1].kind in ("bars", "black")):
            transitions.append(Transition(kind="hard", start_frame=at, end_frame=at))
        flashes: tuple[int, ...] = ()
        if length >= 2 * fps and rng.random() < 0.35:
            first = at + int(rng.integers(fps // 2, length - fps // 2))
            flashes = tuple(range(first, first + int(rng.integers(1, 4))))
        tone = 0.0 if rng.random() < 0.3 else float(rng.uniform(150, 900))
        parts.append(Part(kind="shot", start_frame=at, frames=length, seed=int(rng.integers(2**31)),
                          flashes=flashes, tone=tone))
        if k == silence_in and length > fps:
            quiet = int(rng.integers(fps, max(fps + 1, min(length, 3 * fps))))
            start = at + (length - quiet) // 2
            cues.append(Cue(kind="silence", start_frame=start, end_frame=start + quiet))
        at += length
        if k == shots - 1:
            break
        if k in black_after:
            n = int(rng.integers(fps, 2 * fps + 1))
            transitions.append(Transition(kind="hard", start_frame=at, end_frame=at))
            parts.append(Part(kind="black", start_frame=at, frames=n))
            cues.append(Cue(kind="black", start_frame=at, end_frame=at + n))
            at += n
            continue
        roll = rng.random()
        if roll < gradual / 2:
            n = int(rng.integers(6, 21))
            parts.append(Part(kind="dissolve", start_frame=at, frames=n))
            transitions.append(Transition(kind="dissolve", start_frame=at, end_frame=at + n))
            at += n
        elif roll < gradual:
            n = 2 * int(rng.integers(4, 11))
            parts.append(Part(kind="fade", start_frame=at, frames=n))
            transitions.append(Transition(kind="fade", start_frame=at, end_frame=at + n))
            at += n
        else:
            transitions.append(Transition(kind="hard", start_frame=at, end_frame=at))
    for cue in list(cues):  # black stretches are silent too
        if cue.kind == "black":
            cues.append(Cue(kind="silence", start_frame=cue.start_frame, end_frame=cue.end_frame))
    cues.sort(key=lambda c: (c.start_frame, c.kind))
    flashes_all = tuple(f for p in parts for f in p.flashes)
    return ShotFilmPlan(file=f"shots_{index:03d}.mp4", fps=fps, width=width, height=height,
                        n_frames=at, parts=tuple(parts), transitions=tuple(transitions),
                        cues=tuple(cues), flashes=flashes_all)


# -- pictures ------------------------------------------------------------------------------------
def _upsample(small: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear upsampling of an ``(a, b, 3)`` grid to ``(h, w, 3)``: a smooth colour field."""
    a, b = small.shape[:2]
    ys, xs = np.linspace(0, a - 1, h), np.linspace(0, b - 1, w)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, a - 1), np.minimum(x0 + 1, b - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = small[y0][:, x0] * (1 - fx) + small[y0][:, x1] * fx
    bottom = small[y1][:, x0] * (1 - fx) + small[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


class _ShotPainter:
    """One shot's look: a canvas larger than the frame, a pan velocity, maybe a moving disc."""

    def __init__(self, part: Part, width: int, height: int) -> None:
        rng = np.random.default_rng(part.seed)
        self.w, self.h = width, height
        margin = max(width, height)
        self.canvas_h, self.canvas_w = height + margin, width + margin
        base = rng.uniform(30, 230, size=3)
        grid = np.clip(base + rng.normal(0, 55, size=(5, 7, 3)), 0, 255)
        canvas = _upsample(grid, self.canvas_h, self.canvas_w)
        for _ in range(int(rng.integers(3, 8))):  # rectangles: edges for the motion to move
            y, x = int(rng.integers(0, self.canvas_h - 20)), int(rng.integers(0, self.canvas_w - 20))
            hh, ww = int(rng.integers(10, height // 2)), int(rng.integers(10, width // 2))
            canvas[y:y + hh, x:x + ww] = rng.uniform(0, 255, size=3)
        self.canvas = canvas.astype(np.float32)
        speed = rng.uniform(0, 4) if rng.random() < 0.6 else 0.0
        angle = rng.uniform(0, 2 * np.pi)
        self.velocity = (speed * np.sin(angle), speed * np.cos(angle))
        self.origin = (rng.uniform(0, margin), rng.uniform(0, margin))
        self.disc = rng.random() < 0.5
        self.disc_colour = rng.uniform(0, 255, size=3).astype(np.float32)
        self.disc_r = int(rng.integers(height // 10, height // 4))
        self.disc_v = rng.uniform(-3, 3, size=2)
        self.disc_p = rng.uniform([0, 0], [height, width])
        yy, xx = np.mgrid[0:height, 0:width]
        self._yy, self._xx = yy, xx

    def frame(self, t: int) -> np.ndarray:
        margin_y, margin_x = self.canvas_h - self.h, self.canvas_w - self.w
        y = int(_bounce(self.origin[0] + self.velocity[0] * t, margin_y))
        x = int(_bounce(self.origin[1] + self.velocity[1] * t, margin_x))
        img = self.canvas[y:y + self.h, x:x + self.w].copy()
        if self.disc:
            cy = _bounce(self.disc_p[0] + self.disc_v[0] * t, self.h)
            cx = _bounce(self.disc_p[1] + self.disc_v[1] * t, self.w)
            mask = (self._yy - cy) ** 2 + (self._xx - cx) ** 2 <= self.disc_r ** 2
            img[mask] = self.disc_colour
        return img


def _bounce(position: float, span: float) -> float:
    if span <= 0:
        return 0.0
    period = 2 * span
    p = position % period
    return p if p <= span else period - p


def colour_bars(width: int, height: int) -> np.ndarray:
    """SMPTE-like bars: seven 75% bars over the top two thirds, then reversed blue/black rows."""
    img = np.zeros((height, width, 3), dtype=np.uint8)
    edges = np.linspace(0, width, 8).round().astype(int)
    top = height * 2 // 3
    for k, colour in enumerate(BAR_COLOURS):
        img[:top, edges[k]:edges[k + 1]] = colour
    mid = top + height // 12
    for k, colour in enumerate(((0, 0, 192), (19, 19, 19), (192, 0, 192), (19, 19, 19),
                                (0, 192, 192), (19, 19, 19), (192, 192, 192))):
        img[top:mid, edges[k]:edges[k + 1]] = colour
    img[mid:] = (19, 19, 19)
    img[mid:, : width // 6] = (0, 33, 76)
    img[mid:, width // 6: width // 3] = (235, 235, 235)
    return img


class ShotFilmRenderer:
    """Draws every frame of a plan, and its sound, in film order."""

    def __init__(self, plan: ShotFilmPlan) -> None:
        self.plan = plan
        self._painters: dict[int, _ShotPainter] = {}
        self._shots = [p for p in plan.parts if p.kind == "shot"]

    def _painter(self, part: Part) -> _ShotPainter:
        if part.start_frame not in self._painters:
            self._painters = {k: v for k, v in self._painters.items() if k >= part.start_frame - 1}
            self._painters[part.start_frame] = _ShotPainter(part, self.plan.width, self.plan.height)
        return self._painters[part.start_frame]

    def _shot_frame(self, part: Part, index: int) -> np.ndarray:
        return self._painter(part).frame(index - part.start_frame)

    def _neighbours(self, part: Part) -> tuple[Part, Part]:
        before = max((s for s in self._shots if s.start_frame < part.start_frame),
                     key=lambda s: s.start_frame)
        after = min((s for s in self._shots if s.start_frame > part.start_frame),
                    key=lambda s: s.start_frame)
        return before, after

    def frame(self, part: Part, index: int) -> np.ndarray:
        p = self.plan
        if part.kind == "bars":
            return colour_bars(p.width, p.height)
        if part.kind == "black":
            return np.zeros((p.height, p.width, 3), np.uint8)
        if part.kind == "shot":
            img = self._shot_frame(part, index)
            if index in part.flashes:
                img = img * 0.25 + 255 * 0.75
        else:
            before, after = self._neighbours(part)
            j = index - part.start_frame
            # The outgoing shot keeps moving through the transition, the incoming one starts.
            a = self._shot_frame(before, index)
            b = self._painter(after).frame(j - part.frames)
            if part.kind == "dissolve":
                alpha = (j + 1) / (part.frames + 1)
                img = a * (1 - alpha) + b * alpha
            else:
                half = part.frames // 2
                img = a * (1 - (j + 1) / half) if j < half else b * ((j - half + 1) / half)
        return np.clip(img, 0, 255).astype(np.uint8)

    def sound(self, part: Part, index: int, rng: np.random.Generator) -> np.ndarray:
        n = AUDIO_RATE // self.plan.fps
        if any(c.kind == "silence" and c.start_frame <= index < c.end_frame for c in self.plan.cues):
            return np.zeros(n, np.float32)
        t = (index * n + np.arange(n)) / AUDIO_RATE
        if part.kind == "bars":
            return (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
        tone = part.tone if part.kind == "shot" else 0.0
        noise = rng.normal(0, 0.05, n)
        if tone:
            return (0.15 * np.sin(2 * np.pi * tone * t) + noise).astype(np.float32)
        return noise.astype(np.float32)


def render_shot_film(plan: ShotFilmPlan, path: str | Path) -> None:
    """Encode ``plan`` to ``path`` (H.264 + AAC), frame by frame."""
    from scenedet.media.encode import FilmWriter

    renderer = ShotFilmRenderer(plan)
    rng = np.random.default_rng(plan.n_frames)
    with FilmWriter(path, width=plan.width, height=plan.height, fps=plan.fps,
                    audio_rate=AUDIO_RATE, crf=20, audio_bit_rate=96_000) as writer:
        for part in plan.parts:
            for index in range(part.start_frame, part.start_frame + part.frames):
                writer.write_frame(renderer.frame(part, index))
                writer.write_audio(renderer.sound(part, index, rng))


def synthesize_shots(out_dir: str | Path, *, films: int = 4, seed: int = 0, shots: int = 12,
                     fps: int = 25, width: int = 320, height: int = 180, min_shot: float = 1.0,
                     max_shot: float = 5.0, overwrite: bool = False,
                     progress: Callable[[ShotFilmPlan], None] | None = None) -> list[ShotFilmPlan]:
    """Render ``films`` shot films into ``out_dir`` with ``cuts.csv``, ``cues.csv`` and ``shots.json``."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"{out} is not empty (overwrite=True replaces its dataset)")
    if width % 2 or height % 2:
        raise UsageError(f"frame size must be even, got {width}x{height}")
    out.mkdir(parents=True, exist_ok=True)
    plans = [plan_shot_film(i, seed, shots=shots, fps=fps, width=width, height=height,
                            min_shot=min_shot, max_shot=max_shot) for i in range(films)]
    for plan in plans:
        render_shot_film(plan, out / plan.file)
        if progress is not None:
            progress(plan)
    cuts, cues = io.StringIO(), io.StringIO()
    cw, qw = csv.writer(cuts, lineterminator="\n"), csv.writer(cues, lineterminator="\n")
    cw.writerow(["video", "kind", "start_frame", "end_frame", "start", "end"])
    qw.writerow(["video", "kind", "start_frame", "end_frame", "start", "end"])
    for plan in plans:
        for t in plan.transitions:
            cw.writerow([plan.file, t.kind, t.start_frame, t.end_frame,
                         f"{t.start_frame / plan.fps:.6f}", f"{t.end_frame / plan.fps:.6f}"])
        for c in plan.cues:
            qw.writerow([plan.file, c.kind, c.start_frame, c.end_frame,
                         f"{c.start_frame / plan.fps:.6f}", f"{c.end_frame / plan.fps:.6f}"])
    files.write_text(out / "cuts.csv", cuts.getvalue())
    files.write_text(out / "cues.csv", cues.getvalue())
    files.write_text(out / "shots.json", json.dumps(
        {"seed": seed, "films": [p.to_dict() for p in plans]}, indent=2) + "\n")
    return plans


def synthesize_shot_set(out_dir: str | Path, *, films: int, seed: int, shots: int, width: int,
                        height: int, fps: float, overwrite: bool,
                        say: Callable[[str], None] | None = None) -> str:
    """What ``scenedet synth --kind shots`` does: :func:`synthesize_shots`, with ``say`` given
    one line per film as it is written; returns the closing summary line."""
    import time

    if fps != int(fps):
        raise UsageError(f"shot films use a whole frame rate, got {fps:g}")

    def report(plan: ShotFilmPlan) -> None:
        if say is not None:
            kinds = [t.kind for t in plan.transitions]
            say(f"{plan.file}: {plan.n_frames} frames, {kinds.count('hard')} hard cuts, "
                f"{len(kinds) - kinds.count('hard')} gradual, {len(plan.flashes)} flash frames")

    t0 = time.perf_counter()
    plans = synthesize_shots(out_dir, films=films, seed=seed, shots=shots, fps=int(fps),
                             width=width, height=height, overwrite=overwrite, progress=report)
    total = sum(p.duration for p in plans)
    return (f"{len(plans)} shot film(s), {total:.1f} s in {out_dir} ({width}x{height}, "
            f"{int(fps)} fps, seed {seed}); cuts: {Path(out_dir) / 'cuts.csv'}, cues: "
            f"{Path(out_dir) / 'cues.csv'} ({time.perf_counter() - t0:.1f} s)")
