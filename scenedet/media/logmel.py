"""The AudioSet VGGish frontend: one second of 16 kHz audio to a 96x64 log-mel patch.

Follows ``mel_features.py`` / ``vggish_input.py`` of the official AudioSet VGGish release
(tensorflow/models, ``research/audioset/vggish``) exactly:

* frames of 25 ms (400 samples) every 10 ms (160 samples), no padding;
* a *periodic* Hann window, ``0.5 - 0.5 * cos(2 * pi * n / 400)``;
* the magnitude (not the power) of a 512-point real FFT, 257 bins;
* 64 mel bands between 125 and 7500 Hz on the HTK scale ``1127 * ln(1 + f / 700)``, whose
  triangles are built in the *mel* domain (``spectrogram_to_mel_matrix``: band edges equally
  spaced in mel, each FFT bin weighted by its mel distance to them), with the DC bin zeroed;
* ``log(mel + 0.01)``.

Which samples: the patch describes the LAST 960 ms of the second, as the paper says
("extracted from the last 960ms of the audio wave"). Its 96 frames start at samples
``400 + 160 * i`` for ``i = 0 .. 95`` of the 16,000-sample second, i.e. it reads samples
``[400, 16000)``, the last ``400 + 95 * 160 = 15,600``; frame ``i`` covers
``[400 + 160 i, 800 + 160 i)`` and the last frame ends exactly at the end of the second. (The
official ``waveform_to_examples`` would take the first 96 of the 98 frames of a 1 s clip instead.)

torchaudio: not used, deliberately. ``torchaudio.functional.melscale_fbanks(..., mel_scale="htk")``
interpolates its triangles linearly in Hz between mel-spaced centres, which differs from the
official mel-domain triangles (up to 0.004 in a weight, 0.01 in the log-mel output, 100 times the
tolerance; ``tests/test_logmel.py`` checks it), and
``torchaudio.transforms.Spectrogram`` centres a 400-sample window inside the 512-sample FFT frame,
shifting the frames by 56 samples. Plain ``torch`` (``unfold`` + ``torch.fft.rfft``) does exactly
what ``mel_features.py`` does and batches; the mel matrix is computed once in NumPy float64 by the
official recipe.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from scenedet.media.types import SAMPLE_RATE

if TYPE_CHECKING:
    import torch

WINDOW = 400  #: 25 ms at 16 kHz
HOP = 160  #: 10 ms at 16 kHz
FFT = 512  #: next power of two above the window
N_FRAMES = 96  #: 960 ms
N_BANDS = 64
LOW_HZ = 125.0
HIGH_HZ = 7500.0
LOG_OFFSET = 0.01
#: Samples that feed a patch: the last 15,600 of the second.
PATCH_SAMPLES = WINDOW + (N_FRAMES - 1) * HOP


def hertz_to_mel(hertz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, as ``mel_features.hertz_to_mel``."""
    return 1127.0 * np.log(1.0 + np.asarray(hertz, dtype=np.float64) / 700.0)


@lru_cache(maxsize=4)
def mel_matrix(n_bands: int = N_BANDS, n_bins: int = FFT // 2 + 1, rate: int = SAMPLE_RATE,
               low_hz: float = LOW_HZ, high_hz: float = HIGH_HZ) -> np.ndarray:
    """``(n_bins, n_bands)`` float64 weights, ``mel_features.spectrogram_to_mel_matrix``'s recipe."""
    if not 0.0 <= low_hz < high_hz <= rate / 2:
        raise ValueError(f"need 0 <= low_hz < high_hz <= {rate / 2}, got {low_hz}, {high_hz}")
    bins_mel = hertz_to_mel(np.linspace(0.0, rate / 2, n_bins))
    edges = np.linspace(hertz_to_mel(low_hz), hertz_to_mel(high_hz), n_bands + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0  # the DC bin contributes nothing
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=8)
def _constants(dtype_name: str) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    dtype = getattr(torch, dtype_name)
    n = torch.arange(WINDOW, dtype=torch.float64)
    window = 0.5 - 0.5 * torch.cos(2 * torch.pi * n / WINDOW)  # periodic Hann
    return window.to(dtype), torch.tensor(mel_matrix(), dtype=dtype)


def log_mel_patches(batch: np.ndarray | torch.Tensor, *, dtype: str = "float64") -> torch.Tensor:
    """``(B, 96, 64)`` log-mel patches of a batch of seconds ``(B, 16000)`` (see module docstring).

    Also accepts ``(16000,)``, returning ``(96, 64)``. Any length >= 15,600 works: the patch is
    always the last 15,600 samples. Returned as float32, computed in ``dtype``: float64 by
    default, because in float32 the FFT's rounding (relative to the loudest bin) reaches quiet
    bands through ``log(mel + 0.01)``: 1.6e-4 off the float64 reference on a 1 kHz sine, above
    the 1e-4 the frontend is held to. float64 is slower than float32 but small next to decoding a
    second of video (timings in ``docs/performance.md``).
    """
    import torch

    x = torch.as_tensor(batch)
    single = x.ndim == 1
    if single:
        x = x[None]
    if x.ndim != 2 or x.shape[-1] < PATCH_SAMPLES:
        raise ValueError(f"expected (B, 16000) audio at {SAMPLE_RATE} Hz (at least "
                         f"{PATCH_SAMPLES} samples), got shape {tuple(x.shape)}")
    window, weights = _constants(dtype)
    x = x[:, -PATCH_SAMPLES:].to(window.dtype)
    frames = x.unfold(-1, WINDOW, HOP) * window  # (B, 96, 400): frame i starts at sample 160 i
    magnitude = torch.fft.rfft(frames, n=FFT).abs()  # (B, 96, 257); zero-padded at the end
    patches = torch.log(magnitude @ weights + LOG_OFFSET).to(torch.float32)
    return patches[0] if single else patches


def log_mel_patch(audio_16k_second: np.ndarray) -> np.ndarray:
    """The VGGish input for one second: ``(96, 64)`` float32 from its last 960 ms.

    ``audio_16k_second``: mono float audio at 16 kHz, normally the 16,000 samples of
    ``Second.audio``; the patch reads samples ``[400, 16000)`` (module docstring).
    """
    audio = np.asarray(audio_16k_second)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio (16000,), got shape {audio.shape}")
    return log_mel_patches(audio.astype(np.float32, copy=False)).numpy()
