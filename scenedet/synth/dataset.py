"""A synthetic, labelled stand-in for annotated films: rendered from a seed, with known scenes.

No labelled films can be shipped with scenedet, yet training, evaluation, tests, the demo and the
benchmarks all need some. This module renders films whose "scene of the kind" is defined by two
artificial cues that must occur *together*, the way the paper's classifier combines a still and a
sound. It is a test pattern, not a model of any real kind of scene.

The cues (also in ``docs/synthetic-data.md`` and in each dataset's ``README.txt``):

* **Visual cue**: a solid magenta disc, RGB ``(255, 0, 255)``, of diameter 55 % of the frame
  height, drawn on top of everything in every frame of the scene (the frames stamped ``t`` with
  ``start < t <= end``: the decoder's still of second ``k`` is the last frame at or before
  ``k + 1``). Its centre drifts on a slow Lissajous path (periods 7 s and 5 s, random phases)
  that keeps it wholly inside the frame.
* **Audio cue**: a steady two-tone chord, sines at exactly 600 Hz and 900 Hz, each of amplitude
  0.2 (-14 dBFS) in the file, added to the background sound for the whole scene (20 ms fades at
  its ends).

Kinds of scene (whole seconds, ``[start, end)``, 10-120 s by default, never touching each other
nor the ends of the film: at least 2 s of background between):

* ``positive``: both cues. These, and only these, are the annotations (``label`` 1).
* ``visual_only`` and ``audio_only``: hard negatives carrying exactly one cue. Negative like all
  the remaining time (the annotation file marks no explicit negatives); listed in
  ``dataset.json`` so that errors on them can be told apart.

Background, everywhere (also under the cues), varied so that no simpler rule works:

* Picture: shots of 2-8 s, each a moving gradient, scrolling blocks or moving stripes in 2-4
  colours, with 0-3 moving discs or rectangles on top and a slow brightness flicker; about a third
  of shots include a *distractor disc* of exactly the cue's size in a saturated non-cue colour.
  Every background colour has a hue in 0-240 degrees (red, yellow, green, cyan, blue): no purple,
  magenta or pink. Then ``R + B - G <= 255`` holds for every background colour and for every blend
  of them (compression blurs edges), while the cue has ``R + B - G = 510``: a pixel with
  ``R > 200, G < 60, B > 200`` can only come from the cue.
* Sound: parts of 1-5 s (boundaries independent of the shots), each with white noise at a random
  level and 0-3 tones (steady, or pulsed at 1-8 Hz) at 120-4000 Hz, sometimes a 3:2 chord like the
  cue's at another pitch; no background tone comes within 60 Hz of 600 Hz or 900 Hz.

Determinism: everything comes from the seed. Film ``i`` depends only on ``(seed, i)`` and the
settings (not on how many films are made), and every frame and every second of sound is a pure
function of the film's plan and its index, so a film renders the same in any order. The encoded
bytes may differ between encoder builds; the content does not.

Rendering streams: one frame and one second of sound at a time, never a whole film in memory.
"""

from __future__ import annotations

import json
import math
import time
from fractions import Fraction
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.errors import UsageError
from scenedet.files import write_json, write_text, write_with

# ---- the cues: the definition of the synthetic scene -----------------------------------------
VISUAL_CUE_RGB: tuple[int, int, int] = (255, 0, 255)
#: Diameter of the cue disc as a fraction of the frame height.
VISUAL_CUE_DIAMETER = 0.55
#: Periods (s) of the cue disc's drift along x and y.
VISUAL_CUE_PERIODS = (7.0, 5.0)
AUDIO_CUE_HZ: tuple[float, float] = (600.0, 900.0)
AUDIO_CUE_AMPLITUDE = 0.2
#: No background tone comes closer than this to a cue frequency.
AUDIO_CUE_GUARD_HZ = 60.0
#: Hues (degrees) background colours are drawn from: red through blue, never magenta.
BACKGROUND_HUES = (0.0, 240.0)

KINDS = ("positive", "visual_only", "audio_only")
MIN_GAP = 2  # seconds of background around every scene
_FADE_S = 0.02
#: Background sound is scaled by this before the cue is added, leaving room for the chord (rare
#: peaks where everything adds up are clipped).
_BACKGROUND_GAIN = 0.7


# ------------------------------------------------------------------------------ plan types


@attrs.frozen
class SynthScene:
    """A scene ``[start, end)`` in whole seconds and which cues it carries.

    ``phase`` (where the disc's drift starts) is part of the plan but not of the manifest, so it
    takes no part in equality: a dataset read back from ``dataset.json`` equals the one written.
    """

    start: int
    end: int
    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    phase: tuple[float, float] = attrs.field(default=(0.0, 0.0), eq=False, repr=False)

    @property
    def visual(self) -> bool:
        return self.kind in ("positive", "visual_only")

    @property
    def audio(self) -> bool:
        return self.kind in ("positive", "audio_only")

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "kind": self.kind}


@attrs.frozen
class Shape:
    """A moving disc or rectangle; sizes and speeds as fractions of the frame height."""

    disc: bool
    colour: tuple[int, int, int]
    size: float
    aspect: float
    origin: tuple[float, float]
    velocity: tuple[float, float]


@attrs.frozen
class Shot:
    """A stretch ``[start, end)`` s of one background picture."""

    start: float
    end: float
    style: str  # "gradient" | "blocks" | "stripes"
    colours: tuple[tuple[int, int, int], ...]
    velocity: tuple[float, float]  # background motion, frame heights per second
    scale: float  # stripe period / block size as a fraction of the frame height
    flicker: tuple[float, float]  # amplitude, frequency (Hz) of the brightness flicker
    shapes: tuple[Shape, ...]
    seed: int


@attrs.frozen
class Tone:
    frequency: float
    amplitude: float
    pulse_hz: float  # 0: steady
    phase: float


@attrs.frozen
class SoundPart:
    """A stretch ``[start, end)`` s of background sound."""

    start: float
    end: float
    noise: float
    tones: tuple[Tone, ...]


@attrs.frozen
class FilmPlan:
    """Everything needed to render one film; cheap to compute and fully determined by the seed."""

    index: int
    seed: int
    duration: int
    scenes: tuple[SynthScene, ...]
    shots: tuple[Shot, ...]
    sound: tuple[SoundPart, ...]

    @property
    def file(self) -> str:
        return f"film_{self.index:03d}.mp4"

    def scenes_of(self, kind: str) -> tuple[SynthScene, ...]:
        return tuple(s for s in self.scenes if s.kind == kind)


@attrs.frozen
class SynthSettings:
    """How a dataset is made (saved in ``dataset.json``)."""

    films: int = 10
    seed: int = 0
    min_seconds: int = 60
    max_seconds: int = 600
    min_scene: int = 10
    max_scene: int = 120
    width: int = 320
    height: int = 240
    fps: float = 12.0
    audio_rate: int = 16_000

    def check(self) -> None:
        """Raise :class:`UsageError` for settings that cannot make a dataset."""
        problems = []
        if self.films < 1:
            problems.append("--films must be at least 1")
        if self.min_seconds < 1 or self.max_seconds < self.min_seconds:
            problems.append(f"film length must satisfy 1 <= min <= max, got {self.min_seconds}-"
                            f"{self.max_seconds} s")
        if self.min_scene < 1 or self.max_scene < self.min_scene:
            problems.append(f"scene length must satisfy 1 <= min <= max, got {self.min_scene}-"
                            f"{self.max_scene} s")
        if self.width < 32 or self.height < 32 or self.width % 2 or self.height % 2:
            problems.append(f"size must be even and at least 32x32, got {self.width}x{self.height}")
        if not 1 <= self.fps <= 120:
            problems.append(f"fps must be between 1 and 120, got {self.fps}")
        if self.audio_rate < 8000 or self.audio_rate > 96_000:
            problems.append(f"audio rate must be 8000-96000 Hz, got {self.audio_rate}")
        if problems:
            raise UsageError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


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


# ---------------------------------------------------------------------------------- planning


def plan_dataset(settings: SynthSettings) -> list[FilmPlan]:
    """The plans of all films: scenes, shots and sound, without rendering anything."""
    settings.check()
    children = np.random.SeedSequence(settings.seed).spawn(settings.films)
    return [plan_film(i, int(child.generate_state(1)[0]), settings)
            for i, child in enumerate(children)]


def plan_film(index: int, seed: int, settings: SynthSettings) -> FilmPlan:
    rng = np.random.default_rng([seed, 0])
    duration = int(rng.integers(settings.min_seconds, settings.max_seconds + 1))
    scenes = _plan_scenes(rng, duration, settings.min_scene, settings.max_scene)
    shots = _plan_shots(rng, duration)
    sound = _plan_sound(rng, duration)
    return FilmPlan(index, seed, duration, scenes, shots, sound)


def _plan_scenes(rng: np.random.Generator, duration: int, min_scene: int,
                 max_scene: int) -> tuple[SynthScene, ...]:
    """Scenes fill 35-60 % of the film; kinds follow shuffled (positive, visual, audio) triples."""
    target = duration * rng.uniform(0.35, 0.6)
    lengths: list[int] = []
    while True:
        room = duration - sum(lengths) - MIN_GAP * (len(lengths) + 2)
        high = min(max_scene, room)
        if high < min_scene:
            break
        lengths.append(int(rng.integers(min_scene, high + 1)))
        if sum(lengths) >= target:
            break
    n = len(lengths)
    kinds: list[str] = []
    while len(kinds) < n:
        kinds += [KINDS[k] for k in rng.permutation(3)]
    kinds = kinds[:n]
    if n and "positive" not in kinds:
        kinds[0] = "positive"
    spare = duration - sum(lengths) - MIN_GAP * (n + 1)
    gaps = MIN_GAP + rng.multinomial(spare, rng.dirichlet(np.ones(n + 1))) if n else []
    scenes, t = [], 0
    for length, kind, gap in zip(lengths, kinds, gaps):
        t += int(gap)
        phase = (float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi)))
        scenes.append(SynthScene(t, t + length, kind, phase))
        t += length
    return tuple(scenes)


def hsv_to_rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    """Hue in degrees, saturation and value in [0, 1] -> 8-bit RGB."""
    c = v * s
    x = c * (1 - abs((h / 60.0) % 2 - 1))
    m = v - c
    sector = int(h // 60) % 6
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][sector]
    return tuple(int(round((ch + m) * 255)) for ch in (r, g, b))  # type: ignore[return-value]


def background_colour(rng: np.random.Generator, *, saturated: bool = False) -> tuple[int, int, int]:
    """A colour from the background palette: any hue in :data:`BACKGROUND_HUES`, never magenta."""
    hue = rng.uniform(*BACKGROUND_HUES)
    if saturated:
        return hsv_to_rgb(hue, rng.uniform(0.85, 1.0), rng.uniform(0.85, 1.0))
    return hsv_to_rgb(hue, rng.uniform(0.1, 0.9), rng.uniform(0.2, 0.95))


def _plan_shots(rng: np.random.Generator, duration: int) -> tuple[Shot, ...]:
    shots, t = [], 0.0
    while t < duration:
        end = min(float(duration), t + rng.uniform(2.0, 8.0))
        shapes = [Shape(disc=bool(rng.random() < 0.5),
                        colour=background_colour(rng, saturated=bool(rng.random() < 0.5)),
                        size=float(rng.uniform(0.1, 0.45)), aspect=float(rng.uniform(0.5, 2.0)),
                        origin=(float(rng.random()), float(rng.random())),
                        velocity=(float(rng.uniform(-0.4, 0.4)), float(rng.uniform(-0.4, 0.4))))
                  for _ in range(int(rng.integers(0, 4)))]
        if rng.random() < 0.35:  # same size and shape as the cue, wrong colour
            shapes.append(Shape(disc=True, colour=background_colour(rng, saturated=True),
                                size=VISUAL_CUE_DIAMETER, aspect=1.0,
                                origin=(float(rng.random()), float(rng.random())),
                                velocity=(float(rng.uniform(-0.2, 0.2)),
                                          float(rng.uniform(-0.2, 0.2)))))
        shots.append(Shot(
            start=t, end=end, style=("gradient", "blocks", "stripes")[int(rng.integers(0, 3))],
            colours=tuple(background_colour(rng) for _ in range(int(rng.integers(2, 5)))),
            velocity=(float(rng.uniform(-0.3, 0.3)), float(rng.uniform(-0.3, 0.3))),
            scale=float(rng.uniform(0.08, 0.5)),
            flicker=(float(rng.uniform(0.0, 0.08)), float(rng.uniform(0.1, 1.0))),
            shapes=tuple(shapes), seed=int(rng.integers(0, 2**31))))
        t = end
    return tuple(shots)


def _background_frequency(rng: np.random.Generator, low: float = 120.0,
                          high: float = 4000.0) -> float:
    """A log-uniform frequency at least :data:`AUDIO_CUE_GUARD_HZ` away from both cue tones."""
    while True:
        f = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        if all(abs(f - cue) >= AUDIO_CUE_GUARD_HZ for cue in AUDIO_CUE_HZ):
            return f


def _plan_sound(rng: np.random.Generator, duration: int) -> tuple[SoundPart, ...]:
    parts, t = [], 0.0
    while t < duration:
        end = min(float(duration), t + rng.uniform(1.0, 5.0))
        tones = []
        for _ in range(int(rng.integers(0, 4))):
            pulse = float(rng.uniform(1.0, 8.0)) if rng.random() < 0.5 else 0.0
            tones.append(Tone(_background_frequency(rng), float(rng.uniform(0.03, 0.15)), pulse,
                              float(rng.uniform(0, 2 * np.pi))))
        if rng.random() < 0.25:  # a chord with the cue's 3:2 ratio at another pitch
            while True:
                base = _background_frequency(rng, 150.0, 2500.0)
                if all(abs(1.5 * base - cue) >= AUDIO_CUE_GUARD_HZ for cue in AUDIO_CUE_HZ):
                    break
            amp = float(rng.uniform(0.08, 0.2))
            tones += [Tone(base, amp, 0.0, 0.0), Tone(1.5 * base, amp, 0.0, 0.0)]
        parts.append(SoundPart(t, end, float(rng.uniform(0.005, 0.05)), tuple(tones)))
        t = end
    return tuple(parts)


# --------------------------------------------------------------------------------- rendering


class FilmRenderer:
    """Frames and sound of one planned film, each a pure function of its index.

    Only the current shot's picture is cached (a speed-up that cannot change any output).
    """

    def __init__(self, plan: FilmPlan, *, width: int, height: int, fps: float,
                 audio_rate: int) -> None:
        self.plan, self.width, self.height = plan, width, height
        self.fps, self.audio_rate = float(fps), audio_rate
        # Exactly the rate FilmWriter stamps frames with, so cue boundaries are compared exactly.
        self._rate = Fraction(fps).limit_denominator(1001)
        self.n_frames = math.floor(plan.duration * self._rate)
        self._shot_starts = np.array([s.start for s in plan.shots])
        self._cached: tuple[int, np.ndarray] | None = None
        d = max(2, int(round(VISUAL_CUE_DIAMETER * height)))
        self._cue_mask = _disc_mask(d, d)

    # -- picture
    def frame_time(self, index: int) -> Fraction:
        """The exact time stamp of frame ``index`` (as :class:`FilmWriter` writes it)."""
        return index / self._rate

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (stamped ``index / fps`` s): ``(H, W, 3)`` uint8 RGB."""
        exact = self.frame_time(index)
        t = float(exact)
        shot_index = int(np.searchsorted(self._shot_starts, t, side="right") - 1)
        shot = self.plan.shots[shot_index]
        frame = self._background(shot_index, shot, t - shot.start)
        for shape in shot.shapes:
            self._draw_shape(frame, shape, t - shot.start)
        amp, freq = shot.flicker
        gain = 1.0 + amp * math.sin(2 * math.pi * freq * (t - shot.start))
        if gain != 1.0:
            frame = np.clip(frame * np.float32(gain), 0, 255).astype(np.uint8)
        scene = self.visual_scene_at(exact)
        if scene is not None:
            self._draw_cue(frame, scene, t)
        return frame

    def visual_scene_at(self, t: Fraction | float) -> SynthScene | None:
        """The scene whose disc a frame stamped ``t`` shows: ``start < t <= end``, if any.

        Why not ``start <= t < end``: scenedet's decoder takes as the still of second ``k`` the
        last frame stamped at or before ``k + 1`` (a frame at exactly ``k + 1`` counts). With
        this rule the still of every second inside ``[start, end)`` shows the disc and the still
        of every other second does not, at any frame rate; the picture trails the sound by at
        most one frame.
        """
        for scene in self.plan.scenes:
            if scene.visual and scene.start < t <= scene.end:
                return scene
        return None

    def _background(self, shot_index: int, shot: Shot, t: float) -> np.ndarray:
        h, w = self.height, self.width
        if self._cached is None or self._cached[0] != shot_index:
            self._cached = (shot_index, self._shot_picture(shot))
        picture = self._cached[1]
        # The picture is as much larger than the frame as the shot scrolls: motion is a crop.
        offsets = []
        for velocity, extra in ((shot.velocity[1], picture.shape[0] - h),
                                (shot.velocity[0], picture.shape[1] - w)):
            moved = int(round(velocity * h * t))
            offsets.append(min(extra, max(0, moved if velocity >= 0 else extra + moved)))
        dy, dx = offsets
        return picture[dy:dy + h, dx:dx + w].copy()

    def _shot_picture(self, shot: Shot) -> np.ndarray:
        """The shot's still background, large enough for the whole shot's scrolling."""
        h, w = self.height, self.width
        rng = np.random.default_rng([self.plan.seed, 2, shot.seed])
        period = max(4, int(round(shot.scale * h)))
        colours = np.array(shot.colours, dtype=np.float32)
        length = shot.end - shot.start
        H = h + int(math.ceil(abs(shot.velocity[1]) * h * length)) + 1
        W = w + int(math.ceil(abs(shot.velocity[0]) * h * length)) + 1
        if shot.style == "blocks":
            grid = rng.integers(0, len(colours), size=(H // period + 1, W // period + 1))
            picture = colours[grid].repeat(period, 0).repeat(period, 1)[:H, :W]
        else:
            angle = rng.uniform(0, 2 * np.pi)
            y, x = np.ogrid[0:H, 0:W]
            u = x.astype(np.float32) * np.float32(np.cos(angle)) \
                + y.astype(np.float32) * np.float32(np.sin(angle))
            if shot.style == "stripes":
                wave = 0.5 + 0.5 * np.sin(2 * np.pi * u / period)
                picture = colours[0] + (colours[1] - colours[0]) * wave[..., None]
            else:  # a gradient through the shot's colours along a random direction
                u = (u - u.min()) / max(1e-6, float(u.max() - u.min())) * (len(colours) - 1)
                i0 = np.clip(np.floor(u).astype(np.intp), 0, len(colours) - 2)
                frac = (u - i0)[..., None]
                picture = colours[i0] * (1 - frac) + colours[i0 + 1] * frac
        return np.ascontiguousarray(picture.astype(np.uint8))

    def _draw_shape(self, frame: np.ndarray, shape: Shape, t: float) -> None:
        h, w = self.height, self.width
        sh = max(2, int(round(shape.size * h)))
        sw = sh if shape.disc else max(2, int(round(shape.size * h * shape.aspect)))
        sw = min(sw, w)
        x = _bounce(shape.origin[0] * (w - sw) + shape.velocity[0] * h * t, w - sw)
        y = _bounce(shape.origin[1] * (h - sh) + shape.velocity[1] * h * t, h - sh)
        region = frame[y:y + sh, x:x + sw]
        if shape.disc:
            region[_disc_mask(sh, sw)] = shape.colour
        else:
            region[...] = shape.colour

    def _draw_cue(self, frame: np.ndarray, scene: SynthScene, t: float) -> None:
        h, w = self.height, self.width
        d = self._cue_mask.shape[0]
        (tx, ty), (px, py) = VISUAL_CUE_PERIODS, scene.phase
        cx = (w - d) / 2 * (1 + 0.9 * math.sin(2 * math.pi * t / tx + px))
        cy = (h - d) / 2 * (1 + 0.9 * math.sin(2 * math.pi * t / ty + py))
        x, y = int(round(cx)), int(round(cy))
        frame[y:y + d, x:x + d][self._cue_mask] = VISUAL_CUE_RGB

    # -- sound
    def audio(self, second: int) -> np.ndarray:
        """Sound of ``[second, second + 1)``: ``audio_rate`` float32 samples in [-1, 1]."""
        rate = self.audio_rate
        n = rate
        t = (second * rate + np.arange(n)) / rate
        out = np.zeros(n, dtype=np.float64)
        noise = np.random.default_rng([self.plan.seed, 1, second]).standard_normal(n)
        for part in self.plan.sound:
            if part.end <= second or part.start >= second + 1:
                continue
            sel = slice(max(0, int(math.ceil((part.start - second) * rate - 1e-9))),
                        min(n, int(math.ceil((part.end - second) * rate - 1e-9))))
            tt = t[sel]
            sig = part.noise * noise[sel]
            for tone in part.tones:
                wave = tone.amplitude * np.sin(2 * np.pi * tone.frequency * tt + tone.phase)
                if tone.pulse_hz:
                    wave *= np.clip(2.0 * np.sin(2 * np.pi * tone.pulse_hz * tt) + 0.5, 0.0, 1.0)
                sig = sig + wave
            out[sel] += sig * _fade(tt, part.start, part.end)
        out *= _BACKGROUND_GAIN
        for scene in self.plan.scenes:
            if scene.audio and scene.start < second + 1 and scene.end > second:
                chord = sum(np.sin(2 * np.pi * f * t) for f in AUDIO_CUE_HZ)
                inside = (t >= scene.start) & (t < scene.end)
                out += AUDIO_CUE_AMPLITUDE * chord * _fade(t, scene.start, scene.end) * inside
        return np.clip(out, -1.0, 1.0).astype(np.float32)


def _fade(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """Raised-cosine ramps of :data:`_FADE_S` at both ends of ``[start, end)`` (1 in between)."""
    ramp = np.clip(np.minimum(t - start, end - t) / _FADE_S, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * ramp)


def _bounce(position: float, span: int) -> int:
    """Fold a position into ``[0, span]`` like a ball bouncing between two walls."""
    if span <= 0:
        return 0
    p = position % (2 * span)
    return int(round(p if p <= span else 2 * span - p))


_MASKS: dict[tuple[int, int], np.ndarray] = {}


def _disc_mask(h: int, w: int) -> np.ndarray:
    key = (h, w)
    if key not in _MASKS:
        y, x = np.ogrid[0:h, 0:w]
        _MASKS[key] = ((y + 0.5 - h / 2) / (h / 2)) ** 2 + ((x + 0.5 - w / 2) / (w / 2)) ** 2 <= 1
    return _MASKS[key]


def render_film(plan: FilmPlan, path: str | Path, settings: SynthSettings) -> None:
    """Encode one film to ``path`` (H.264 + AAC via :class:`FilmWriter`), frame by frame."""
    from scenedet.media.encode import FilmWriter

    renderer = FilmRenderer(plan, width=settings.width, height=settings.height,
                            fps=settings.fps, audio_rate=settings.audio_rate)
    with FilmWriter(path, width=settings.width, height=settings.height, fps=settings.fps,
                    audio_rate=settings.audio_rate) as writer:
        frame = 0
        for second in range(plan.duration):
            # Sound first, then the frames shown during that second: the muxer gets both streams
            # in step, so neither has to be buffered.
            writer.write_audio(renderer.audio(second))
            while frame < renderer.n_frames and renderer.frame_time(frame) < second + 1:
                writer.write_frame(renderer.frame(frame))
                frame += 1


# -------------------------------------------------------------------------------- the dataset


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
                  "background_guard_hz": AUDIO_CUE_GUARD_HZ, "fade_s": _FADE_S},
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

