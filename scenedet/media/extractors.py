"""The core's extractors: what one second of film becomes before a backbone sees it."""

from __future__ import annotations

from collections import deque

import numpy as np

from scenedet.media.types import MediaRequest, Second

CLIP_LENGTH = 16


class StillExtractor:
    """The last frame shown at or before the end of the second: ``(H, W, 3)`` uint8 RGB."""

    name = "still"
    request = MediaRequest(frames=1)

    def reset(self) -> None:
        pass

    def __call__(self, second: Second) -> np.ndarray:
        return second.still


class StillClipExtractor:
    """The 16 per-second stills up to and including this second: ``(16, H, W, 3)`` uint8.

    As in the paper, seconds before the start of the film are zero frames. Memory is bounded by
    the window: 16 stills.
    """

    name = "stills16"
    request = MediaRequest(frames=1)

    def __init__(self, length: int = CLIP_LENGTH) -> None:
        self.length = length
        self._window: deque[np.ndarray] = deque(maxlen=length)

    def reset(self) -> None:
        self._window.clear()

    def __call__(self, second: Second) -> np.ndarray:
        self._window.append(second.still)
        return _pad_clip(list(self._window), self.length)


class FrameClipExtractor:
    """The last 16 consecutive frames of the second (motion): ``(16, H, W, 3)`` uint8.

    A second with fewer frames (low frame rate, start of film) is zero-padded at the start.
    """

    name = "frames16"
    request = MediaRequest(frames=CLIP_LENGTH)

    def __init__(self, length: int = CLIP_LENGTH) -> None:
        self.length = length
        self.request = MediaRequest(frames=length)

    def reset(self) -> None:
        pass

    def __call__(self, second: Second) -> np.ndarray:
        return _pad_clip(list(second.frames[-self.length:]), self.length)


class AudioExtractor:
    """The second's mono audio at 16 kHz: ``(16000,)`` float32."""

    name = "audio-16k"
    request = MediaRequest(frames=0, audio=True)

    def reset(self) -> None:
        pass

    def __call__(self, second: Second) -> np.ndarray:
        if second.audio is None:
            raise ValueError("audio was not decoded for this second")
        return second.audio


class LogMelExtractor(AudioExtractor):
    """The VGGish input: log-mel patch of the last 960 ms of the second, ``(96, 64)`` float32."""

    name = "audio-logmel"

    def __call__(self, second: Second) -> np.ndarray:
        from scenedet.media.logmel import log_mel_patch

        return log_mel_patch(super().__call__(second))


def _pad_clip(frames: list[np.ndarray], length: int) -> np.ndarray:
    clip = np.stack(frames)
    if len(frames) < length:
        pad = np.zeros((length - len(frames), *clip.shape[1:]), dtype=clip.dtype)
        clip = np.concatenate([pad, clip])
    return clip
