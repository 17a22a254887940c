"""Planning a synthetic film from a seed: its scenes, shots and sound, before any pixel is drawn.

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

This module holds the definition (the cue constants), the plan types and the planning; drawing
the frames and the sound is :mod:`scenedet.synth.render`, writing a dataset (films, annotations,
manifest) is :mod:`scenedet.synth.dataset`.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from scenedet.errors import UsageError

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
#: Length (s) of the raised-cosine fades at the ends of the chord and of every sound part.
FADE_S = 0.02


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
            problems.append(f"the number of films must be at least 1, got {self.films}")
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
