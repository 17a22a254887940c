"""The ``speech`` detector: where people speak, from Silero VAD on the film's sound.

The engine hands the sound over in chunks at the film's own rate; they are resampled to 16 kHz
a second at a time (FFmpeg's resampler through PyAV, which keeps its filter state between
calls), cut into 32 ms windows and scored by the network in blocks of :data:`BLOCK` windows.
Between calls the detector keeps the resampler's and the network's state, less than a second
of sound and one block of samples, the open segment and one probability per window (31.25 a
second, about 0.5 MB an hour as float32): memory does not grow with the film beyond the result
it returns.

The probabilities, rounded to 6 decimals as the result keeps them, are the detector's
``scores``; :func:`resegment` cuts them again with other options (``scenedet segment -O
threshold=0.6``) exactly as :meth:`SpeechDetector.finish` did. Their time grid is recorded in
``settings``: ``score_step`` (seconds per score) and ``score_start`` (where the first window
starts, seconds from the start of the part decoded), with ``frame_shift`` (frames to add to
``round(seconds * fps)``: not 0 only for a part of a film decoded without its pictures).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scenedet.plugin import AudioChunk, FrameSegment, UsageError
from scenedet_speech import model
from scenedet_speech.cutting import DEFAULTS, CutSettings, Cutter, padded, speech_segments

BLOCK = 256  # windows per network call (8.2 s of sound): few calls, bounded memory
STEP = model.WINDOW / model.RATE  # seconds per window and per score: 0.032


class Resampler:
    """Mono float32 at ``rate`` Hz in, 16 kHz out, streaming (FFmpeg's swresample)."""

    def __init__(self, rate: int) -> None:
        self.rate = int(rate)
        self._swr = None
        if self.rate != model.RATE:
            import av

            self._swr = av.AudioResampler(format="flt", layout="mono", rate=model.RATE)

    def __call__(self, samples: np.ndarray | None) -> np.ndarray:
        """The 16 kHz samples ready after ``samples`` (``None``: the last ones, at the end)."""
        if self._swr is None:
            return np.zeros(0, np.float32) if samples is None else samples.astype(np.float32)
        import av

        frame = None
        if samples is not None:
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples, np.float32).reshape(1, -1), format="flt",
                layout="mono")
            frame.sample_rate = self.rate
        out = [f.to_ndarray().reshape(-1) for f in self._swr.resample(frame)]
        if not out:
            return np.zeros(0, np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)


def _rounded(values: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(values, np.float64), 6)


class SpeechDetector:
    """Silero VAD over the film's sound; segments labelled ``speech`` with their mean
    probability as score."""

    label = "speech"

    def __init__(self, *, threshold: float = DEFAULTS["threshold"],
                 release: float = DEFAULTS["release"], min_speech: float = DEFAULTS["min_speech"],
                 min_silence: float = DEFAULTS["min_silence"],
                 padding: float = DEFAULTS["padding"]) -> None:
        self.cut = CutSettings(threshold=float(threshold), release=float(release),
                               min_speech=float(min_speech), min_silence=float(min_silence),
                               padding=float(padding))
        self.vad = model.SileroVAD()
        self._cutter = Cutter(self.cut, STEP)
        self._resample: Resampler | None = None
        self._raw: list[np.ndarray] = []  # sound at its own rate, less than a second of it
        self._raw_held = 0
        self._pending: list[np.ndarray] = []  # 16 kHz samples not scored yet, < one block
        self._held = 0  # how many
        self._start: float | None = None  # where the first sample kept plays (part time)
        self._scores: list[np.ndarray] = []
        self.settings: dict[str, Any] = {"model": f"{model.MODEL} ({model.PACKAGE})",
                                         "score_step": STEP}

    def add_frames(self, batch: Any) -> None:
        pass  # audio only: no pictures are asked for

    def add_audio(self, chunk: AudioChunk) -> None:
        samples = np.asarray(chunk.samples, np.float32)
        if self._resample is None:
            if chunk.start < 0:  # sound before the first frame (film time 0) is not the film's
                samples = samples[int(round(-chunk.start * chunk.rate)):]
                if not len(samples):
                    return
            self._resample = Resampler(chunk.rate)
            self._start = max(0.0, float(chunk.start))
        elif chunk.rate != self._resample.rate:
            raise UsageError(f"speech: the sound changes rate mid-film ({self._resample.rate} "
                             f"Hz, then {chunk.rate} Hz)")
        # a chunk is one audio frame (~20 ms): resampled a second at a time, the resampler's
        # per-call cost stays small beside the network's
        self._raw.append(samples)
        self._raw_held += len(samples)
        if self._raw_held >= self._resample.rate:
            self._resample_held()

    def _resample_held(self) -> None:
        assert self._resample is not None
        if self._raw:
            raw = np.concatenate(self._raw) if len(self._raw) > 1 else self._raw[0]
            self._raw, self._raw_held = [], 0
            self._take(self._resample(raw))

    def _take(self, samples: np.ndarray, last: bool = False) -> None:
        """Hold ``samples``; score whole blocks of windows (at the end, every window left)."""
        if len(samples):
            self._pending.append(samples)
            self._held += len(samples)
        if not last and self._held < BLOCK * model.WINDOW:
            return  # chunks are small: gather a block before copying anything
        data = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
        whole = len(data) // model.WINDOW
        if last and len(data) % model.WINDOW:  # the last part-window, padded with silence
            data = np.concatenate([data, np.zeros(model.WINDOW - len(data) % model.WINDOW,
                                                  np.float32)])
            whole += 1
        usable = whole if last else whole - whole % BLOCK
        for at in range(0, usable, BLOCK):
            n = min(BLOCK, usable - at)
            probs = _rounded(self.vad(data[at * model.WINDOW:(at + n) * model.WINDOW]))
            self._scores.append(probs.astype(np.float32))
            self._cutter.add(probs.tolist())
        rest = data[usable * model.WINDOW:].copy()
        self._pending, self._held = ([rest], len(rest)) if len(rest) else ([], 0)

    @property
    def scores(self) -> np.ndarray:
        """The speech probability of each 32 ms window, from ``settings["score_start"]``."""
        if not self._scores:
            return np.zeros(0, np.float64)
        return _rounded(np.concatenate(self._scores))

    def finish(self, info: Any) -> list[FrameSegment]:
        if self._resample is None:
            name = getattr(getattr(info, "path", None), "name", "the film")
            raise UsageError(f"speech: no sound reached the detector: {name} has no audio "
                             "stream, or the run ignores its audio (use_audio=False)")
        self._resample_held()
        self._take(self._resample(None), last=True)
        offset = round(float(self._start or 0.0), 6)  # chunks count from the part's start
        fps = float(getattr(info, "fps", 0) or 0)
        # frames from the part's first frame, as the host expects; a part decoded without its
        # pictures has no first frame (first_frame 0), so count from the film's start there
        shift = (int(round(float(getattr(info, "start", 0) or 0) * fps))
                 - int(getattr(info, "first_frame", 0) or 0)) if fps else 0
        self.settings.update(score_start=offset, frame_shift=shift)
        end = (float(info.duration) if getattr(info, "duration", 0)
               else offset + len(self.scores) * STEP)
        spans = padded(self._cutter.finish(), STEP, self.cut.padding, offset, end)
        return segments(spans, self.scores, offset=offset, fps=fps, shift=shift)


def segments(spans: list[tuple[float, float]], scores: np.ndarray, *, offset: float,
             fps: float, shift: int = 0) -> list[FrameSegment]:
    """``spans`` (seconds) as labelled segments: frames on the film's grid where it has one
    (``shift`` added), score the mean probability of the windows inside."""
    out = []
    for start, end in spans:
        a = max(0, int(np.floor((start - offset) / STEP)))
        b = max(a + 1, int(np.ceil((end - offset) / STEP)))
        inside = scores[a:b]
        score = float(np.clip(inside.mean(), 0.0, 1.0)) if len(inside) else 0.0
        frames = ((int(round(start * fps)) + shift, int(round(end * fps)) + shift) if fps
                  else (None, None))
        out.append(FrameSegment(start=start, end=end, start_frame=frames[0], end_frame=frames[1],
                                score=round(score, 6), label="speech"))
    return out


def resegment(scores: Any, *, fps: Any, duration: float | None,
              threshold: float = DEFAULTS["threshold"], release: float = DEFAULTS["release"],
              min_speech: float = DEFAULTS["min_speech"],
              min_silence: float = DEFAULTS["min_silence"], padding: float = DEFAULTS["padding"],
              score_step: float = STEP, score_start: float = 0.0,
              frame_shift: int = 0) -> list[FrameSegment]:
    """The segments :meth:`SpeechDetector.finish` gives for these saved probabilities with these
    options (``scenedet segment``); ``score_step``, ``score_start`` and ``frame_shift`` come from
    the run's settings."""
    values = np.asarray(scores, np.float64)
    if abs(float(score_step) - STEP) > 1e-9:
        raise UsageError(f"speech: these scores are {score_step} s apart; this detector "
                         f"writes one per {STEP} s")
    cut = CutSettings(threshold=float(threshold), release=float(release),
                      min_speech=float(min_speech), min_silence=float(min_silence),
                      padding=float(padding))
    offset = float(score_start)
    end = float(duration) if duration else offset + len(values) * STEP
    spans = speech_segments(values.tolist(), cut, window=STEP, offset=offset, end=end)
    return segments(spans, values, offset=offset, fps=float(fps or 0), shift=int(frame_shift))
