"""The VGGish log-mel frontend against an independent NumPy version written from its description.

The reference below is written from the AudioSet VGGish description (25 ms periodic Hann window,
10 ms hop, 512-point FFT magnitude, 64 HTK-mel bands 125-7500 Hz with triangles in the mel domain
and the DC bin zeroed, log(mel + 0.01)) with plain loops, independently of
``scenedet.media.logmel`` (which is vectorised torch).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from films import TONE_HZ

from scenedet.media.extractors import LogMelExtractor
from scenedet.media.seconds.decode import iter_seconds
from scenedet.media.logmel import log_mel_patch, log_mel_patches, mel_matrix
from scenedet.media.types import SAMPLE_RATE, MediaRequest


def reference_log_mel(second: np.ndarray) -> np.ndarray:
    """96 frames x 64 bands from the last 960 ms of a 16 kHz second, float64, loop by loop."""
    rate, window, hop, fft, bands, frames = 16_000, 400, 160, 512, 64, 96

    def mel(hz: float) -> float:
        return 1127.0 * math.log(1.0 + hz / 700.0)

    hann = [0.5 - 0.5 * math.cos(2 * math.pi * n / window) for n in range(window)]  # periodic
    lo, hi = mel(125.0), mel(7500.0)
    edges = [lo + (hi - lo) * i / (bands + 1) for i in range(bands + 2)]
    weights = np.zeros((fft // 2 + 1, bands))
    for b in range(1, fft // 2 + 1):  # bin 0 (DC) stays zero
        m = mel(b * (rate / 2) / (fft // 2))
        for j in range(bands):
            left, centre, right = edges[j], edges[j + 1], edges[j + 2]
            weights[b, j] = max(0.0, min((m - left) / (centre - left),
                                         (right - m) / (right - centre)))
    tail = np.asarray(second, dtype=np.float64)[-(window + (frames - 1) * hop):]
    out = np.empty((frames, bands))
    for i in range(frames):
        frame = np.zeros(fft)
        frame[:window] = tail[i * hop:i * hop + window] * hann  # zero-padded at the end
        magnitude = np.abs(np.fft.rfft(frame))
        out[i] = np.log(magnitude @ weights + 0.01)
    return out


def sine(hz: float, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(SAMPLE_RATE) / SAMPLE_RATE)
            ).astype(np.float32)


def noise(seed: int = 0, scale: float = 0.3) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).normal(0, scale, SAMPLE_RATE), -1, 1
                   ).astype(np.float32)


@pytest.mark.parametrize("signal", [sine(1000.0), noise(0), noise(1, 0.01)],
                         ids=["1kHz-sine", "noise", "quiet-noise"])
def test_matches_the_independent_reference(signal):
    patch = log_mel_patch(signal)
    assert patch.shape == (96, 64) and patch.dtype == np.float32
    assert np.abs(patch - reference_log_mel(signal)).max() <= 1e-4


def test_a_1khz_sine_peaks_in_the_band_around_1khz():
    patch = log_mel_patch(sine(1000.0))
    centres_hz = 700.0 * (np.exp(np.linspace(1127.0 * np.log(1 + 125 / 700),
                                             1127.0 * np.log(1 + 7500 / 700), 66)[1:-1] / 1127.0) - 1)
    assert abs(centres_hz[int(np.argmax(patch.mean(axis=0)))] - 1000.0) < 60.0


def test_silence_is_log_of_the_offset():
    assert np.allclose(log_mel_patch(np.zeros(SAMPLE_RATE, np.float32)), np.log(0.01))


def test_the_patch_reads_exactly_the_last_15600_samples():
    base = noise(2)
    changed_outside = base.copy()
    changed_outside[:400] = 0.9  # before sample 400: not in any frame
    assert np.array_equal(log_mel_patch(changed_outside), log_mel_patch(base))
    changed_inside = base.copy()
    changed_inside[480] = 0.9  # frame 0 covers [400, 800), frame 1 starts at 560
    diff = np.abs(log_mel_patch(changed_inside) - log_mel_patch(base)).max(axis=1)
    assert diff[0] > 1e-3 and np.all(diff[1:] == 0)
    changed_last = base.copy()
    changed_last[15_900] = 0.9  # frame 95 covers [15600, 16000), frame 94 ends at 15840
    diff = np.abs(log_mel_patch(changed_last) - log_mel_patch(base)).max(axis=1)
    assert diff[95] > 1e-3 and np.all(diff[:95] == 0)


def test_batched_equals_one_by_one():
    batch = np.stack([sine(440.0), noise(3), np.zeros(SAMPLE_RATE, np.float32)])
    patches = log_mel_patches(batch)
    assert tuple(patches.shape) == (3, 96, 64)
    for row, patch in zip(batch, patches.numpy()):
        assert np.array_equal(patch, log_mel_patch(row))


def test_mel_matrix_follows_the_official_recipe():
    weights = mel_matrix()
    assert weights.shape == (257, 64)
    assert not weights[0].any()  # DC zeroed
    assert weights.max() <= 1.0 and np.all(weights.sum(axis=0) > 0)  # every band gets bins
    assert not weights[np.linspace(0, 8000, 257) > 7500].any()  # nothing above 7.5 kHz


def test_torchaudio_triangles_are_not_the_official_ones():
    """Why the frontend does not use torchaudio's filter bank (see logmel's docstring)."""
    torchaudio = pytest.importorskip("torchaudio")
    theirs = torchaudio.functional.melscale_fbanks(257, 125.0, 7500.0, 64, SAMPLE_RATE,
                                                   norm=None, mel_scale="htk").numpy()
    assert np.abs(theirs - mel_matrix()).max() > 1e-3


@pytest.mark.parametrize("bad", [np.zeros(15_000, np.float32), np.zeros((2, 16_000), np.float32)])
def test_rejects_audio_that_is_not_one_mono_second(bad):
    with pytest.raises(ValueError):
        log_mel_patch(bad)


def test_the_extractor_on_decoded_film_audio(media_films):
    """End to end: a 440 Hz tone from an H.264+AAC film lights up the band around 440 Hz."""
    film = media_films.get("cfr24")
    extractor = LogMelExtractor()
    patches = [extractor(s) for s in iter_seconds(film.path, extractor.request)]
    assert len(patches) == film.n_seconds
    assert all(p.shape == (96, 64) and p.dtype == np.float32 for p in patches)
    edges_hz = 700.0 * (np.exp(np.linspace(1127.0 * np.log(1 + 125 / 700),
                                           1127.0 * np.log(1 + 7500 / 700), 66) / 1127.0) - 1)
    band = int(np.argmax(patches[2].mean(axis=0)))
    assert edges_hz[band] < TONE_HZ < edges_hz[band + 2]
