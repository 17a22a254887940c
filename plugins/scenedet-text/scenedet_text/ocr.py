"""PP-OCRv4 on film frames: text boxes from the detection model, strings from the recognition
model (greedy CTC), with PaddleOCR's pre-processing (BGR, ``(x / 255 - 0.5) / 0.5``; recognition
crops 48 px high, padded to the widest crop of the batch).

The detection model takes any size that is a multiple of 32: the detector feeds it the frames
the run decodes at ``FRAME_SIZE`` as they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scenedet_text import models
from scenedet_text.dbpost import boxes_from_map

#: What the detection model sees: 640 x 352 (the 16:9 frame's small side ~ 352 px, both sides a
#: multiple of 32 as the network needs). docs/performance.md has why: speed against small text.
FRAME_SIZE = (640, 352)
REC_HEIGHT = 48
REC_BATCH = 8


def _normalise(images: np.ndarray) -> np.ndarray:
    """uint8 RGB ``(..., H, W, 3)`` -> float32 BGR channels first, in [-1, 1]."""
    x = images[..., ::-1].astype(np.float32) * (2.0 / 255.0) - 1.0
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


class Ocr:
    """The two models, loaded on first use; ``threads``: ONNX Runtime's (0: every core)."""

    def __init__(self, *, box_thresh: float = 0.6, threads: int = 0) -> None:
        self.box_thresh, self.threads = float(box_thresh), int(threads)
        self._det: Any = None
        self._rec: Any = None
        self._chars: list[str] | None = None

    def load(self, read: bool) -> None:
        """Load the detection model (and the recognition one when ``read``) now, so that a
        missing file is said before the film is decoded."""
        self._det = models.session(models.DETECTION, self.threads)
        if read:
            self._rec = models.session(models.RECOGNITION, self.threads)
            self._chars = models.characters(self._rec)

    def detect(self, frame: np.ndarray) -> np.ndarray:
        """``(n, 5)`` rows ``x0, y0, x1, y1, score`` for one ``(H, W, 3)`` RGB frame, the
        corners as fractions of the frame's width and height."""
        if self._det is None:
            self.load(False)
        h, w = frame.shape[:2]
        prob = self._det.run(None, {"x": _normalise(frame[None])})[0][0, 0]
        boxes = boxes_from_map(prob, box_thresh=self.box_thresh)
        boxes[:, [0, 2]] /= w
        boxes[:, [1, 3]] /= h
        return boxes

    def read(self, frame: np.ndarray, boxes: np.ndarray) -> list[tuple[str, float]]:
        """The string in each box (fractions, as :meth:`detect` gives) and its mean character
        confidence, in the boxes' order."""
        if self._rec is None:
            self.load(True)
        from PIL import Image

        h, w = frame.shape[:2]
        crops = []
        for x0, y0, x1, y1 in boxes[:, :4]:
            a, b = int(x0 * w), int(math.ceil(x1 * w))
            c, d = int(y0 * h), int(math.ceil(y1 * h))
            if b - a < 2 or d - c < 2:
                crops.append(None)
                continue
            width = max(1, int(math.ceil(REC_HEIGHT * (b - a) / (d - c))))
            crops.append(np.asarray(Image.fromarray(frame[c:d, a:b]).resize(
                (width, REC_HEIGHT), Image.BILINEAR)))
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        order = [i for i in np.argsort([0 if c is None else c.shape[1] for c in crops])
                 if crops[i] is not None]
        for k in range(0, len(order), REC_BATCH):
            chunk = order[k:k + REC_BATCH]
            width = max(320, max(crops[i].shape[1] for i in chunk))
            batch = np.zeros((len(chunk), REC_HEIGHT, width, 3), np.uint8)
            x = _normalise(batch)
            for j, i in enumerate(chunk):
                x[j, :, :, : crops[i].shape[1]] = _normalise(crops[i])
                x[j, :, :, crops[i].shape[1]:] = 0.0  # the reference pads with zeros after normalising
            probs = self._rec.run(None, {"x": x})[0]
            for j, i in enumerate(chunk):
                out[i] = ctc_decode(probs[j], self._chars or [])
        return out


def ctc_decode(probs: np.ndarray, chars: list[str]) -> tuple[str, float]:
    """Greedy CTC: the best class per step, repeats merged, blanks (class 0) dropped; the
    string and the mean probability of the characters kept."""
    best = probs.argmax(axis=1)
    keep = np.ones(len(best), bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != 0
    picked = best[keep]
    text = "".join(chars[i] for i in picked if i < len(chars))
    conf = float(probs.max(axis=1)[keep].mean()) if keep.any() else 0.0
    return text, conf
