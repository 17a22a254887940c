"""Tiny generated films for the media tests, whose frames say their own index.

Each frame shows its index as 12 bits in a 4x3 grid of 40x40 blocks (white = 1, black = 0):
flat blocks survive H.264 at any quality, so :func:`read_index` recovers the index exactly from a
decoded still, and a test can check *which* frame the decoder picked, not just that it got one.
Films are written with :class:`~scenedet.media.encode.FilmWriter` (frame threads, as real films
decode), built lazily, once per test session, by the :func:`media_films` fixture::

    from films import media_films  # noqa: F401  (the fixture)

    def test_something(media_films):
        film = media_films.get("cfr24")
        film.expected_still(3)  # index of the last frame at or before 4 s
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import attrs
import numpy as np
import pytest

from scenedet.media.encode import FilmWriter

WIDTH, HEIGHT = 160, 120
BLOCK = 40
BITS = (HEIGHT // BLOCK) * (WIDTH // BLOCK)  # 12 bits: up to 4095 frames
AUDIO_RATE = 48_000
AUDIO_BIT_RATE = 192_000  # FFmpeg's AAC default (~70 kb/s mono) glitches on pure tones
TONE_HZ = 440.0
TONE_AMPLITUDE = 0.5
CLICK_AT = 3.5  # seconds
CLICK_HZ = 1000.0


def index_frame(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """An RGB frame showing ``index`` in binary, most significant bit top-left, row by row."""
    if not 0 <= index < 2 ** BITS:
        raise ValueError(f"index {index} does not fit in {BITS} bits")
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    cols = width // BLOCK
    for bit in range(BITS):
        if index >> (BITS - 1 - bit) & 1:
            r, c = divmod(bit, cols)
            frame[r * BLOCK:(r + 1) * BLOCK, c * BLOCK:(c + 1) * BLOCK] = 255
    return frame


def read_index(rgb: np.ndarray) -> int:
    """The index a decoded frame shows (centres of the blocks, robust to compression)."""
    if rgb.shape != (HEIGHT, WIDTH, 3):
        raise ValueError(f"expected an upright {HEIGHT}x{WIDTH} frame, got {rgb.shape}")
    cols = WIDTH // BLOCK
    value = 0
    for bit in range(BITS):
        r, c = divmod(bit, cols)
        q = BLOCK // 4
        centre = rgb[r * BLOCK + q:(r + 1) * BLOCK - q, c * BLOCK + q:(c + 1) * BLOCK - q]
        value = value << 1 | int(centre.mean() > 127)
    return value


def cfr_times(n_frames: int, fps: Fraction) -> list[Fraction]:
    return [Fraction(i) / fps for i in range(n_frames)]


def vfr_times() -> list[Fraction]:
    """Irregular frame times over 6 s: bursts, slow stretches, frames exactly on whole seconds,
    and a 2.1 s gap (second 3 shows no new frame: its still repeats the one of second 2)."""
    times: list[Fraction] = []
    t = Fraction(0)
    steps = [Fraction(1, 60), Fraction(1, 12), Fraction(1, 30), Fraction(1, 5), Fraction(1, 24)]
    i = 0
    while t < 2:
        times.append(t)
        t += steps[i % len(steps)]
        i += 1
    times.append(Fraction(2))  # exactly on a second boundary: the still of second 1
    t = Fraction(21, 10)
    times.append(t)
    t = Fraction(42, 10)  # the gap: nothing in (2.1, 4.2)
    while t < 6:
        times.append(t)
        t += steps[i % len(steps)]
        i += 1
    times.append(Fraction(6))  # the last frame, exactly at the end of second 5: its still
    return times


@attrs.frozen
class Film:
    """A written film and what is in it. ``times[i]``: presentation time of frame ``i`` (s)."""

    path: Path
    times: tuple[Fraction, ...]
    duration: float
    audio: str | None = None

    @property
    def n_seconds(self) -> int:
        return math.floor(self.duration + 1e-3)

    def expected_still(self, k: int) -> int:
        """Index of the last frame at or before ``k + 1`` s."""
        return max(i for i, t in enumerate(self.times) if t <= k + 1)

    def expected_clip(self, k: int, n: int) -> list[int]:
        last = self.expected_still(k)
        return list(range(max(0, last - n + 1), last + 1))


def tone(seconds: float, *, rate: int = AUDIO_RATE, hz: float = TONE_HZ,
         amplitude: float = TONE_AMPLITUDE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def click(seconds: float, *, at: float = CLICK_AT, rate: int = AUDIO_RATE) -> np.ndarray:
    """Silence with a 10 ms 1 kHz burst (phase 0, amplitude 0.8) starting exactly at ``at``."""
    audio = np.zeros(round(seconds * rate), dtype=np.float32)
    start, n = round(at * rate), rate // 100
    audio[start:start + n] = 0.8 * np.sin(2 * np.pi * CLICK_HZ * np.arange(n) / rate)
    return audio


def write_film(path: Path, times: Sequence[Fraction], *, fps: Fraction = Fraction(24),
               duration: float | None = None, gop: int | None = None,
               audio: np.ndarray | None = None, audio_kind: str | None = None,
               preset: str = "ultrafast", **writer_options: object) -> Film:
    """Write frames ``index_frame(i)`` at ``times[i]`` and the given audio (mono or (C, N))."""
    channels = 1 if audio is None or audio.ndim == 1 else audio.shape[0]
    with FilmWriter(path, width=WIDTH, height=HEIGHT, fps=fps, gop=gop,
                    audio_rate=AUDIO_RATE if audio is not None else None,
                    audio_channels=channels, audio_bit_rate=AUDIO_BIT_RATE, preset=preset,
                    **writer_options) as writer:  # type: ignore[arg-type]
        written = 0  # audio samples, written a second at a time alongside the video as a
        for i, t in enumerate(times):  # real muxer would interleave them
            writer.write_frame(index_frame(i), time=t)
            if audio is not None and t >= Fraction(written, AUDIO_RATE):
                writer.write_audio(audio[..., written:written + AUDIO_RATE])
                written += AUDIO_RATE
        if audio is not None and written < audio.shape[-1]:
            writer.write_audio(audio[..., written:])
    if duration is None:
        duration = float(times[-1] + 1 / fps)
    return Film(path=path, times=tuple(times), duration=duration, audio=audio_kind)


def encode_indexed(path: Path, times: Sequence[Fraction], codec: str, options: dict[str, str], *,
                   fps: Fraction = Fraction(24), frame_threads: bool = False) -> Film:
    """Frames ``index_frame(i)`` at ``times[i]`` straight through PyAV's encoder ``codec`` with
    its private ``options`` (x264/x265 parameters FilmWriter does not expose), no audio."""
    import av

    tb = Fraction(1, 90_000)  # the muxer may change the stream's own (Matroska: 1/1000)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.time_base = video.codec_context.time_base = tb
        if frame_threads:
            video.thread_type = "FRAME"
        video.options = options
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(index_frame(i), format="rgb24")
            frame.pts, frame.time_base = round(t / tb), tb
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    return Film(path=path, times=tuple(times), duration=float(times[-1] + 1 / fps))


def _cfr(name: str, fps: Fraction, n_frames: int, **options: object) -> Callable[[Path], Film]:
    def make(root: Path) -> Film:
        opts = dict(options)
        times = cfr_times(n_frames, fps)
        seconds = n_frames / fps
        kind = opts.pop("audio_kind", None)
        audio = {"tone": lambda: tone(seconds), "click": lambda: click(seconds),
                 "stereo": lambda: np.stack([tone(seconds), np.zeros_like(tone(seconds))]),
                 None: lambda: None}[kind]()  # type: ignore[index]
        suffix = opts.pop("suffix", ".mp4")
        return write_film(root / f"{name}{suffix}", times, fps=fps, audio=audio,
                          audio_kind=kind, **opts)  # type: ignore[arg-type]
    return make


def _vfr(root: Path) -> Film:
    times = vfr_times()
    return write_film(root / "vfr.mp4", times, fps=Fraction(24), gop=24)


def _rotated(rotation: int, hflip: bool) -> Callable[[Path], Film]:
    def make(root: Path) -> Film:
        name = f"rot{rotation % 360}{'-flip' if hflip else ''}"
        return write_film(root / f"{name}.mp4", cfr_times(24, Fraction(12)), fps=Fraction(12),
                          gop=12, rotation=rotation, hflip=hflip)
    return make


RECIPES: dict[str, Callable[[Path], Film]] = {
    # 24 fps, keyframe every second, a 440 Hz tone: the everyday case
    "cfr24": _cfr("cfr24", Fraction(24), 120, gop=24, audio_kind="tone"),
    # 25 fps, B-frames (decode order != display order), keyframes 2 s apart
    "cfr25": _cfr("cfr25", Fraction(25), 125, gop=50, preset="veryfast", audio_kind="click"),
    # NTSC 29.97: no frame lands on a whole second after 0
    "ntsc": _cfr("ntsc", Fraction(30000, 1001), 150, gop=15),
    # 4.5 s: the trailing half second is not a whole second
    "fractional": _cfr("fractional", Fraction(24), 108, gop=24, audio_kind="click"),
    # one keyframe for the whole film (GOP 250 > 144 frames): seeking must go back to the start
    "longgop": _cfr("longgop", Fraction(24), 144, gop=250, preset="veryfast"),
    "vfr": _vfr,
    "click": _cfr("click", Fraction(24), 120, gop=24, audio_kind="click"),
    "click-mkv": _cfr("click-mkv", Fraction(24), 120, gop=24, audio_kind="click", suffix=".mkv"),
    # MPEG-TS, B-frames: no index, so a seek searches timestamps over the bytes (and may land
    # past the last keyframe)
    "ts": _cfr("ts", Fraction(24), 120, gop=24, preset="veryfast", audio_kind="click",
               suffix=".ts"),
    "stereo": _cfr("stereo", Fraction(24), 72, gop=24, audio_kind="stereo"),
    "silent": _cfr("silent", Fraction(24), 72, gop=24),
    # (tones cost the AAC encoder ~0.15 s per second of film: the bigger films get a click)
    "mkv": _cfr("mkv", Fraction(24), 240, gop=24, audio_kind="click", suffix=".mkv"),
    "faststart": _cfr("faststart", Fraction(24), 240, gop=24, audio_kind="click",
                      container_options={"movflags": "+faststart"}),
    "long": _cfr("long", Fraction(12), 12 * 40, gop=12, audio_kind="click"),
    # B-frames and keyframes 3 s apart, not on whole seconds: parallel decoding's chunk seams
    "gop3s": _cfr("gop3s", Fraction(24), 24 * 16, gop=70, preset="veryfast", audio_kind="click"),
    **{f"rot{r % 360}{'-flip' if f else ''}": _rotated(r, f)
       for r in (0, 90, 180, -90) for f in (False, True)},
}


class FilmLibrary:
    """Builds each recipe on first use into one directory and hands out the same :class:`Film`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._films: dict[str, Film] = {}

    def get(self, name: str) -> Film:
        if name not in self._films:
            self._films[name] = RECIPES[name](self.root)
        return self._films[name]


@pytest.fixture(scope="session")
def media_films(tmp_path_factory: pytest.TempPathFactory) -> FilmLibrary:
    """The session's :class:`FilmLibrary` (films are written on first use)."""
    return FilmLibrary(tmp_path_factory.mktemp("films"))
