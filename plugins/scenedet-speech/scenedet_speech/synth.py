"""Films with known speech, for this plugin's tests and ``benchmarks/speech.py``.

Speech comes from Debian's ``espeak-ng`` (several languages and voice variants), rendered to a
pipe and read from memory (no temporary WAV file). A film's sound is a bed of music-like tones
and pink noise under the speech at a chosen SNR, with non-speech distractors in the pauses:
louder music, applause-like noise and true silence (the bed stops). Its true speech is where
the clean speech track is louder than 35 dB under its own peak, pauses under
:data:`MERGE_GAP` bridged (a reader's pause between words belongs to the speech, as people
annotate it).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import attrs
import numpy as np

RATE = 48_000
MERGE_GAP = 0.3  # seconds: quieter stretches inside an utterance shorter than this are speech
SENTENCES = {
    "en-us": ["The train leaves at seven, so we should pack tonight.",
              "Nobody told me the meeting had moved to the third floor.",
              "Could you hand me the blue folder on the desk, please?"],
    "en-gb": ["I rather think the weather will turn before lunch.",
              "She kept the letters in a tin under the stairs for years."],
    "de": ["Wir treffen uns morgen früh am alten Bahnhof.",
           "Das Essen war kalt, aber die Musik war wunderbar."],
    "fr": ["Il faut absolument finir ce travail avant ce soir.",
           "La voiture est garée juste derrière la boulangerie."],
    "es": ["Mañana vamos a visitar a mis abuelos en el pueblo.",
           "El perro se escapó otra vez por la puerta del jardín."],
    "it": ["Ho lasciato le chiavi sul tavolo della cucina.",
           "Domani andiamo al mare se non piove troppo."],
    "pt": ["O jantar fica pronto daqui a meia hora."],
    "nl": ["We fietsen morgen samen naar het strand."],
}
VARIANTS = ("", "+m3", "+f2", "+f4", "+m7", "+f1")


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, voice: str = "en-us", *, speed: int = 160, pitch: int = 50) -> np.ndarray:
    """``text`` spoken by ``espeak-ng`` as float32 mono at :data:`RATE`."""
    import soundfile as sf

    wav = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), "-p",
                          str(pitch), text], capture_output=True, check=True).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return resample(samples.reshape(-1), rate, RATE)


def resample(samples: np.ndarray, rate: int, to: int) -> np.ndarray:
    """``samples`` (mono float32) from ``rate`` to ``to`` Hz with FFmpeg's resampler."""
    import av

    if rate == to:
        return samples.astype(np.float32)
    swr = av.AudioResampler(format="flt", layout="mono", rate=to)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32).reshape(1, -1),
                                       format="flt", layout="mono")
    frame.sample_rate = rate
    out = [f.to_ndarray().reshape(-1) for f in swr.resample(frame) + swr.resample(None)]
    return np.concatenate(out).astype(np.float32)


def activity(speech: np.ndarray, rate: int = RATE) -> list[tuple[float, float]]:
    """Where ``speech`` (one clean utterance) is sound, in seconds, pauses < MERGE_GAP joined."""
    hop = rate // 100
    n = len(speech) // hop
    if not n:
        return []
    rms = np.sqrt((speech[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1))
    loud = rms > rms.max() * 10 ** (-35 / 20)
    spans: list[list[float]] = []
    for i in np.flatnonzero(loud):
        a, b = i * hop / rate, (i + 1) * hop / rate
        if spans and a - spans[-1][1] < MERGE_GAP:
            spans[-1][1] = b
        else:
            spans.append([a, b])
    return [(a, b) for a, b in spans]


def tones(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Music-like: chords of harmonic notes changing every 0.25-0.6 s, with attack and decay."""
    n = int(seconds * RATE)
    out = np.zeros(n, np.float32)
    at = 0
    while at < n:
        length = min(n - at, int(rng.uniform(0.25, 0.6) * RATE))
        t = np.arange(length) / RATE
        root = 110 * 2 ** (rng.integers(0, 24) / 12)
        note = np.zeros(length)
        for step in rng.choice([0, 4, 7, 12, 16], size=3, replace=False):
            f = root * 2 ** (step / 12)
            for h in range(1, 5):
                note += np.sin(2 * np.pi * f * h * t + rng.uniform(0, 6.3)) / h ** 1.5
        envelope = np.minimum(1, t / 0.01) * np.exp(-t * rng.uniform(1, 5))
        out[at: at + length] = note * envelope
        at += length
    return out / (np.abs(out).max() + 1e-9)


def pink(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Pink-ish noise (white through a leaky integrator, plus a little white)."""
    white = rng.standard_normal(int(seconds * RATE))
    from itertools import accumulate

    brown = np.fromiter(accumulate(white[::8], lambda a, x: 0.98 * a + x), float)
    out = np.repeat(brown, 8)[: len(white)] * 0.15 + white * 0.5
    return (out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def applause(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Applause-like: many short decaying noise bursts (claps) at random times."""
    n = int(seconds * RATE)
    out = np.zeros(n, np.float32)
    clap = int(0.015 * RATE)
    shape = np.exp(-np.arange(clap) / (0.003 * RATE)).astype(np.float32)
    for at in rng.integers(0, max(1, n - clap), size=int(seconds * 60)):
        burst = rng.standard_normal(clap).astype(np.float32) * shape
        out[at: at + clap] += burst * rng.uniform(0.3, 1)
    return out / (np.abs(out).max() + 1e-9)


@attrs.frozen
class SpeechFilm:
    """A rendered sound track and its truth: speech spans and the distractors, in seconds."""

    sound: np.ndarray
    speech: tuple[tuple[float, float], ...]
    distractors: tuple[tuple[str, float, float], ...]
    voices: tuple[str, ...]

    @property
    def duration(self) -> float:
        return len(self.sound) / RATE


def plan_sound(seed: int, seconds: float, snr_db: float | None) -> SpeechFilm:
    """Utterances in several voices and languages, distractors in between, a bed at
    ``snr_db`` under the speech (``None``: no bed)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    speech, extra = np.zeros(n, np.float32), np.zeros(n, np.float32)
    truth, distractors, voices = [], [], []
    quiet = np.zeros(n, bool)  # the silence distractors: the bed stops too
    at = rng.uniform(0.5, 1.5)
    while True:
        kind = rng.choice(["speech", "speech", "speech", "music", "applause", "silence"])
        if kind == "speech":
            language = str(rng.choice(list(SENTENCES)))
            voice = language + str(rng.choice(VARIANTS))
            text = str(rng.choice(SENTENCES[language]))
            clip = speak(text, voice, speed=int(rng.integers(130, 190)),
                         pitch=int(rng.integers(25, 75)))
            length = len(clip) / RATE
        else:
            length = rng.uniform(2, 5) if kind != "silence" else rng.uniform(1, 3)
        if at + length + 0.5 > seconds:
            break
        a = int(at * RATE)
        if kind == "speech":
            clip = clip * rng.uniform(0.5, 1.0) / (np.abs(clip).max() + 1e-9)
            speech[a: a + len(clip)] += clip
            truth += [(float(at + s), float(at + e)) for s, e in activity(clip)]
            voices.append(voice)
        else:
            b = a + int(length * RATE)
            if kind == "music":
                extra[a:b] += 0.5 * tones(length, rng)[: b - a]
            elif kind == "applause":
                extra[a:b] += 0.5 * applause(length, rng)[: b - a]
            else:
                quiet[a:b] = True
            distractors.append((str(kind), float(at), float(at + length)))
        at += length + rng.uniform(0.4, 2.0)
    sound = speech + extra
    if snr_db is not None and truth:
        bed = 0.6 * tones(seconds, rng)[:n] + 0.4 * pink(seconds, rng)[:n]
        active = np.zeros(n, bool)
        for s, e in truth:
            active[int(s * RATE): int(e * RATE)] = True
        p_speech = float((speech[active].astype(np.float64) ** 2).mean())
        p_bed = float((bed.astype(np.float64) ** 2).mean())
        bed *= np.sqrt(p_speech / p_bed / 10 ** (snr_db / 10))
        sound = sound + np.where(quiet, 0, bed).astype(np.float32)
    peak = np.abs(sound).max()
    if peak > 0.99:
        sound = sound * (0.99 / peak)
    return SpeechFilm(sound.astype(np.float32), tuple(truth), tuple(distractors), tuple(voices))


def write_film(film: SpeechFilm, path: Path, *, width: int = 160, height: int = 90,
               fps: int = 25) -> Path:
    """``film``'s sound with a small, slowly changing picture, as H.264 + AAC (192 kb/s),
    written with PyAV (a plugin reaches no private scenedet module, not even in test support)."""
    from fractions import Fraction

    import av

    frames = int(film.duration * fps)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        audio.bit_rate = 192_000
        for i in range(frames):
            level = int(60 + 40 * np.sin(i / fps))
            picture = av.VideoFrame.from_ndarray(np.full((height, width, 3), level, np.uint8),
                                                 format="rgb24")
            picture.pts = i
            out.mux(video.encode(picture))
        for a in range(0, len(film.sound), RATE):
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(film.sound[None, a: a + RATE]),
                                               format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = RATE, a, Fraction(1, RATE)
            out.mux(audio.encode(chunk))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return path
