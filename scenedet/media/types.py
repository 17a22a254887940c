"""The unit the decoder hands to extractors: one whole second of a film."""

from __future__ import annotations

import attrs
import numpy as np

#: Audio sample rate every extractor receives (the VGGish frontend's rate).
SAMPLE_RATE = 16_000


@attrs.frozen(kw_only=True)
class MediaRequest:
    """What the extractors of a run need from the decoder, so it decodes no more than that.

    ``frames``: how many frames ending at the second's end to hand over (1 = the still alone,
    16 = a motion clip; 0 = no video). ``audio``: whether to decode and resample audio.
    """

    frames: int = 1
    audio: bool = False

    def merge(self, other: MediaRequest) -> MediaRequest:
        return MediaRequest(frames=max(self.frames, other.frames), audio=self.audio or other.audio)


@attrs.frozen(kw_only=True, eq=False)
class Second:
    """Second ``index`` of a film, covering ``[index, index + 1)`` seconds.

    ``frames``: the last frames shown at or before ``index + 1`` s, oldest first, RGB ``uint8``
    ``(H, W, 3)`` with rotation metadata applied; ``frames[-1]`` is the still. ``audio``: the
    second's mono audio at 16 kHz, ``float32`` in ``[-1, 1]``, exactly 16,000 samples (zeros where
    the film has no audio); ``None`` when audio was not requested.
    """

    index: int
    frames: tuple[np.ndarray, ...] = ()
    audio: np.ndarray | None = None

    @property
    def still(self) -> np.ndarray:
        if not self.frames:
            raise ValueError("no video frame was requested for this second")
        return self.frames[-1]
