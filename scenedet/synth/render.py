"""Rendering a planned film: every frame and every second of sound, streamed into a film file.

Each frame and each second of sound is a pure function of the film's plan
(:class:`~scenedet.synth.plan.FilmPlan`) and its index, so a film renders the same in any order
and never sits in memory whole: :func:`render_film` hands one second of sound and the frames shown
during it to :class:`scenedet.media.encode.FilmWriter` at a time.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from scenedet.synth.plan import (AUDIO_CUE_AMPLITUDE, AUDIO_CUE_HZ, FADE_S, VISUAL_CUE_DIAMETER,
                                 VISUAL_CUE_PERIODS, VISUAL_CUE_RGB, FilmPlan, Shape, Shot,
                                 SynthScene, SynthSettings)

#: Background sound is scaled by this before the cue is added, leaving room for the chord (rare
#: peaks where everything adds up are clipped).
_BACKGROUND_GAIN = 0.7


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
    """Raised-cosine ramps of :data:`FADE_S` at both ends of ``[start, end)`` (1 in between)."""
    ramp = np.clip(np.minimum(t - start, end - t) / FADE_S, 0.0, 1.0)
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
