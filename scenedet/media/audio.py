"""Audio of each whole second: decoded, resampled to 16 kHz, mixed to mono, sliced on film time.

Resampling: FFmpeg's swresample through PyAV's :class:`av.AudioResampler`, not torchaudio.
It is a streaming resampler (state carried across frames, so no seams at frame or second
boundaries), converts any sample format/rate on the way, costs a few milliseconds per minute of
film, and keeps time: the click test in ``tests/test_media.py`` finds a burst written at 3.5 s
within one sample at 16 kHz. ``torchaudio.functional.resample`` works on whole tensors; making it
streaming would mean overlapping windows and hand-made edge handling for no gain.

Mono: the mean of the channels, as AudioSet's ``vggish_input.waveform_to_examples`` does
(``np.mean(data, axis=1)``). swresample's own stereo-to-mono mix is not that (it adds both
channels at -3 dB, so a tone in both channels comes out 1.41 times louder), so the resampler keeps
the channel layout and the mean is taken after resampling (both steps are linear, so the order
does not matter).

Alignment: sample ``n`` of the 16 kHz film signal is film time ``n / 16000`` s, where film time 0
is the first frame shown (:func:`scenedet.media.probe.film_start`). Each decoded frame is placed
by its own timestamp, so a stream that starts late gets leading silence and samples before film time 0
(AAC priming, audio starting before the video) are dropped. FFmpeg already strips the AAC encoder
delay (1024 priming samples) from MP4 (edit list) and Matroska (``CodecDelay``), so what the test
measures is the residual: 0 ms for MP4 and MKV files written by PyAV 18 (a 3.5 s burst starts at
16 kHz sample 56,001; the burst is a sine starting at phase 0, so sample 56,000 is itself ~0).
The resampler's output grid is put on the film's 16 kHz grid by dropping up to two input samples
(at 48 kHz) where a segment starts, so decoding from a seek (``start_second > 0``) reproduces
decoding from the start. Timestamp jumps above :data:`GAP_TOLERANCE` are honoured (silence inserted, overlap dropped);
smaller jitter (Matroska rounds timestamps to 1 ms) is ignored so the signal stays contiguous.
Seconds past the end of the audio are zero-padded.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scenedet.errors import MediaError
from scenedet.media import profiled
from scenedet.media.damage import Damage
from scenedet.media.types import SAMPLE_RATE

if TYPE_CHECKING:
    import av
    import av.audio.frame

#: Timestamp discontinuities smaller than this (seconds) are treated as jitter.
GAP_TOLERANCE = Fraction(1, 20)

#: Decoded audio may stop this much (seconds) before the stream's declared end without the file
#: being called truncated (encoder padding, rounding of declared durations).
TRUNCATION_TOLERANCE = 0.5


class NoAudioWarning(UserWarning):
    """Audio features were requested for a film that has no audio track: they see silence."""


def warn_no_audio(path: Path, *, stacklevel: int = 2) -> None:
    """The documented fallback for a film without audio: one warning, then silent seconds."""
    warnings.warn(f"{path} has no audio track: every second's audio is silence (zeros)",
                  NoAudioWarning, stacklevel=stacklevel + 1)


def silence() -> np.ndarray:
    """One second of silence at 16 kHz."""
    return np.zeros(SAMPLE_RATE, dtype=np.float32)


class AudioSlicer:
    """Turns decoded audio frames into consecutive one-second 16 kHz mono chunks of film time.

    ``origin`` is film time 0 in seconds of stream time (the first video frame's);
    ``first_second`` is the first second to produce: everything before it is dropped. ``push``
    returns the seconds a frame completed, ``finish`` the rest (the last one zero-padded).
    Memory: the samples of at most the current second plus one decoded frame.
    """

    def __init__(self, *, origin: Fraction, first_second: int = 0) -> None:
        self._origin = Fraction(origin)
        self._next_second = first_second
        self._chunks: deque[np.ndarray] = deque()
        self._start = first_second * SAMPLE_RATE  # film sample index of the first buffered sample
        self._length = 0
        self._resampler: av.AudioResampler | None = None
        self._layout: str | None = None
        self._write_pos = 0  # film sample index where the resampler's next output sample goes
        self._expected: Fraction | None = None  # film time where the next frame should start
        self.end_time: float | None = None  # film time where decoded audio ends

    def push(self, frame: av.audio.frame.AudioFrame) -> list[np.ndarray]:
        """Resample one decoded frame into the buffer; return the seconds it completed."""
        start = self._frame_time(frame)
        layout = frame.layout.name
        if (self._resampler is None or layout != self._layout
                or abs(start - self._expected) > GAP_TOLERANCE):  # type: ignore[operator]
            aligned = _align_to_grid(frame, start)
            if aligned is None:  # shorter than the alignment step: wait for the next frame
                return self._pop_complete()
            frame, start = aligned
            self._new_segment(start, layout)
        self._expected = start + Fraction(frame.samples, frame.sample_rate)
        self.end_time = float(self._expected)
        for out in self._resampler.resample(frame):  # type: ignore[union-attr]
            self._place(out)
        return self._pop_complete()

    def mark_gap(self) -> None:
        """Audio is missing here (a skipped packet): the next frame starts at its own time."""
        self._flush_segment()  # no resampler: the next frame opens a segment at its own time

    def finish(self) -> list[np.ndarray]:
        """Flush the resampler; the seconds left, the last one zero-padded."""
        self._flush_segment()
        seconds = self._pop_complete()
        if self._length:
            seconds.append(self._take(pad=True))
        return seconds

    def _frame_time(self, frame: av.audio.frame.AudioFrame) -> Fraction:
        if frame.pts is None or frame.time_base is None:
            return self._expected if self._expected is not None else Fraction(0)
        return Fraction(frame.pts) * frame.time_base - self._origin

    def _new_segment(self, start: Fraction, layout: str) -> None:
        import av

        self._flush_segment()
        # Keep the layout: channels are averaged afterwards (see the module docstring).
        self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
        self._layout = layout
        self._write_pos = round(start * SAMPLE_RATE)  # exact: start is on the 16 kHz grid

    def _flush_segment(self) -> None:
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                self._place(out)
            self._resampler = None

    def _place(self, out: av.audio.frame.AudioFrame) -> None:
        """Put resampled samples at their film position: pad a gap, drop an overlap or the past."""
        samples = out.to_ndarray()
        mono = samples.mean(axis=0, dtype=np.float32) if samples.shape[0] > 1 else samples[0]
        pos, self._write_pos = self._write_pos, self._write_pos + mono.shape[0]
        end = self._start + self._length
        if pos > end:  # silence as a zero-stride view: a long gap costs no memory
            self._append(np.broadcast_to(np.float32(0.0), (pos - end,)))
        elif pos < end:
            mono = mono[end - pos:]
        if mono.size:
            self._append(mono)

    def _append(self, samples: np.ndarray) -> None:
        self._chunks.append(samples)
        self._length += samples.shape[0]

    def _pop_complete(self) -> list[np.ndarray]:
        seconds = []
        while self._length >= SAMPLE_RATE:
            seconds.append(self._take(pad=False))
        return seconds

    def _take(self, *, pad: bool) -> np.ndarray:
        """Remove the first (up to) 16,000 buffered samples as one second."""
        out = np.zeros(SAMPLE_RATE, dtype=np.float32)
        filled = 0
        while filled < SAMPLE_RATE and self._chunks:
            chunk = self._chunks.popleft()
            n = min(SAMPLE_RATE - filled, chunk.shape[0])
            out[filled:filled + n] = chunk[:n]
            if n < chunk.shape[0]:
                self._chunks.appendleft(chunk[n:])
            filled += n
        if filled < SAMPLE_RATE and not pad:
            raise AssertionError("incomplete second taken without padding")
        self._length -= filled
        self._start += SAMPLE_RATE
        self._next_second += 1
        np.clip(out, -1.0, 1.0, out=out)
        return out


def _align_to_grid(frame: av.audio.frame.AudioFrame, start: Fraction
                   ) -> tuple[av.audio.frame.AudioFrame, Fraction] | None:
    """Drop the few first samples of a segment's first frame so it starts on the 16 kHz grid.

    The resampler's output samples sit at its first input sample's time plus ``n / 16000``; if
    that time is between two film samples (a segment starting at input sample 47,104 of 48 kHz
    audio is 15,701.33 film samples in), every output sample is a fraction of a sample off, and
    decoding from a seek would not reproduce decoding from the start. Dropping up to
    ``rate / gcd(rate, 16000) - 1`` input samples (2 at 48 kHz, 440 = 10 ms at 44.1 kHz) makes it
    exact whenever timestamps count samples (MP4 audio does); otherwise as exact as the
    timestamps (Matroska's are in ms: a 44.1 kHz MKV read from a seek was 5 samples, 0.3 ms,
    off). Returns None if the frame is shorter than what must be dropped.
    """
    import av

    rate = frame.sample_rate
    step = rate // math.gcd(rate, SAMPLE_RATE)
    first = round(start * rate)  # the first sample's index in the input's own clock
    drop = -first % step
    if drop == 0:
        return frame, Fraction(first, rate)
    if drop >= frame.samples:
        return None
    data = frame.to_ndarray()
    data = data[:, drop:] if frame.format.is_planar else data[:, drop * len(frame.layout.channels):]
    trimmed = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=frame.format.name,
                                         layout=frame.layout.name)
    trimmed.sample_rate = rate
    trimmed.time_base = Fraction(1, rate)
    trimmed.pts = first + drop
    return trimmed, Fraction(first + drop, rate)


def audio_seconds(packets: Iterable[av.Packet], decoder: av.CodecContext, *, origin: Fraction,
                  first_second: int, path: Path, declared_end: float | None,
                  damage: Damage | None = None) -> Iterator[np.ndarray]:
    """One 16,000-sample second after another from ``first_second`` on; silence forever after EOF.

    ``decoder`` is the audio stream's codec context (packets may come from a second demuxer of
    the same file, see :mod:`scenedet.media.seconds.decode`, and one decoder keeps the signal seamless).
    ``declared_end``: the audio stream's own declared end (film time); decoded audio that stops
    well before it means a truncated file, a :class:`MediaError` rather than silent zeros.
    A packet the decoder rejects is skipped (its time is silence) and counted in ``damage``.
    Decoding and resampling are the ``audio`` stage of :mod:`scenedet.profiling`.
    """
    import av

    slicer = AudioSlicer(origin=origin, first_second=first_second)
    for packet in packets:
        try:
            frames = profiled.call("audio", decoder.decode, packet)
        except av.FFmpegError:
            # Skipped as FFmpeg's players do; the next frame starts a new segment at its own
            # time, so the gap is silence and nothing after it shifts.
            slicer.mark_gap()
            if damage is not None:
                damage.skipped("audio", _packet_time(packet, origin),
                               packet.pts if packet.pts is not None else packet.dts)
            continue
        for frame in frames:  # resampled to 16 kHz: part of the "audio" stage
            yield from profiled.call("audio", list, slicer.push(frame))  # type: ignore[arg-type]
    try:
        for frame in decoder.decode(None):
            yield from slicer.push(frame)  # type: ignore[arg-type]
    except av.FFmpegError:
        pass  # nothing left to flush is fine
    end = slicer.end_time
    if declared_end is not None and end is not None and end + TRUNCATION_TOLERANCE < declared_end:
        raise MediaError(f"cannot decode {path}: truncated file, the audio stops at {end:.1f} s "
                         f"of {declared_end:.1f} s")
    yield from slicer.finish()
    while True:
        yield silence()


def _packet_time(packet: av.Packet, origin: Fraction) -> float | None:
    """Film time of a packet (seconds), if it has a timestamp."""
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.time_base is None:
        return None
    return float(Fraction(ts) * packet.time_base - origin)


def _reason(exc: BaseException) -> str:
    from scenedet.media.probe import ffmpeg_reason

    return ffmpeg_reason(exc)
