"""Text events from sampled frames: what the boxes of one sample are to the previous sample's.

Two samples' boxes are the *same* text when, shifted by one common vertical offset ``dy``, most
boxes of each find a box of the other with IoU >= 0.5 (or every box of the one with fewer),
``dy`` voted among pairs of boxes with overlapping columns, and, standing still, the letters'
edges inside the boxes correlate (one subtitle replaced by another of the same size is new
text). ``dy`` ~ 0: the text stands still (a card, a subtitle); ``dy`` < 0:
it moves up (a credit roll). Anything else is a change: one event ends and another begins.

An event is a stretch of film showing one piece of text (a card, a subtitle, a whole roll),
with what the labels need: its lines, where they sit, how often it moved up.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

IOU_MATCH = 0.5
MATCH_SHARE = 0.6
#: Two samples whose letters correlate less than this inside their boxes show different text.
INK_SAME = 0.8
EDGE = 48
STILL = 0.004  # |dy| below this (fraction of the height): standing still
#: Subtitles sit below this line (fraction of the height from the top).
BOTTOM_BAND = 0.6


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (n, 4+) with every box in ``b`` (m, 4+): (n, m)."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _shares(prev: np.ndarray, cur: np.ndarray, dy: float) -> tuple[float, float]:
    """The shares of ``prev`` (shifted by ``dy``) and of ``cur`` boxes that find a partner,
    counting only boxes that can have one: on a roll, lines leave at the top and enter at the
    bottom between two samples."""
    shifted = prev[:, :4] + np.array([0, dy, 0, dy], np.float32)
    ok = _iou(shifted, cur) >= IOU_MATCH
    stays = (shifted[:, 1] >= 0) & (shifted[:, 3] <= 1)
    came = (cur[:, 1] - dy >= 0) & (cur[:, 3] - dy <= 1)
    if not stays.any() or not came.any():
        return 0.0, 0.0
    return float(ok[stays].any(axis=1).mean()), float(ok[:, came].any(axis=0).mean())


def _matched(prev: np.ndarray, cur: np.ndarray, dy: float) -> float:
    """How well the two samples match at ``dy``: the smaller share, or 1 when every box of the
    sample with fewer boxes has its partner (a line that faded in or was missed once)."""
    a, b = _shares(prev, cur, dy)
    fewer = a if len(prev) < len(cur) else b if len(cur) < len(prev) else min(a, b)
    return max(min(a, b), fewer if fewer >= 1.0 else 0.0)


def _fit(prev: np.ndarray, cur: np.ndarray, dy: float) -> float:
    """Mean IoU of each ``prev`` box (shifted by ``dy``) with its best partner."""
    shifted = prev[:, :4] + np.array([0, dy, 0, dy], np.float32)
    return float(_iou(shifted, cur).max(axis=1).mean())


def relate(prev: np.ndarray, cur: np.ndarray) -> tuple[str, float]:
    """``("same" | "up" | "moved" | "change", dy)`` for two non-empty box arrays."""
    cols = _column_overlap(prev, cur)
    i, j = np.nonzero(cols > 0.5)
    candidates = {0.0}
    if len(i):
        dys = (cur[j, 1] + cur[j, 3] - prev[i, 1] - prev[i, 3]) / 2
        # vote: the offset most pairs agree on (within half a small line's height)
        order = np.sort(dys)
        counts = np.searchsorted(order, order + 0.01, side="right") - np.searchsorted(
            order, order - 0.01, side="left")
        candidates.update(float(order[k]) for k in np.argsort(-counts)[:3])
    # ties (lines evenly spaced match one line further too) go to the closer fit, then upwards
    best = max(candidates, key=lambda d: (_matched(prev, cur, d), round(_fit(prev, cur, d), 2),
                                          d <= 0, -abs(d)))
    if _matched(prev, cur, best) < MATCH_SHARE:
        return "change", 0.0
    if abs(best) < STILL:
        return "same", best
    return ("up" if best < 0 else "moved"), best


def box_mask(boxes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The pixels of ``boxes`` (fractions) on a grid of ``shape`` (h, w)."""
    h, w = shape[:2]
    mask = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in boxes[:, :4]:
        mask[int(y0 * h): int(np.ceil(y1 * h)), int(x0 * w): int(np.ceil(x1 * w))] = True
    return mask


def ink_similarity(a: np.ndarray, b: np.ndarray, boxes: np.ndarray) -> float:
    """How many of the strong horizontal edges (a step of more than ``EDGE`` levels) of two
    pictures (one channel) inside ``boxes`` have an edge of the other within a row: near 1
    when the same letters stand there (a background moving behind them has weaker edges), low
    when other letters replaced them in the same rows (one subtitle after another, the next
    credit card)."""
    mask = box_mask(boxes, a.shape)[:, 1:]
    ea = (np.abs(np.diff(a.astype(np.int16), axis=1)) > EDGE) & mask
    eb = (np.abs(np.diff(b.astype(np.int16), axis=1)) > EDGE) & mask
    total = np.count_nonzero(ea) + np.count_nonzero(eb)
    if not total:
        return 0.0
    near = np.count_nonzero(ea & _dilate(eb)) + np.count_nonzero(eb & _dilate(ea))
    return near / total


def _dilate(m: np.ndarray) -> np.ndarray:
    """One row up and down: a line of text lands a row higher or lower from one sample to the
    next (scaling, rounding); its strokes' columns do not move."""
    out = m.copy()
    out[1:] |= m[:-1]
    out[:-1] |= m[1:]
    return out


def _column_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    union = np.maximum(a[:, None, 2], b[None, :, 2]) - np.minimum(a[:, None, 0], b[None, :, 0])
    return np.clip(x1 - x0, 0, None) / np.maximum(union, 1e-9)


def lines(boxes: np.ndarray) -> int:
    """Text lines in one sample: boxes whose rows overlap by half the smaller height are one."""
    if not len(boxes):
        return 0
    rows = sorted((float(b[1]), float(b[3])) for b in boxes)
    count, (top, bottom) = 1, rows[0]
    for y0, y1 in rows[1:]:
        if min(bottom, y1) - y0 >= 0.5 * min(bottom - top, y1 - y0):
            bottom = max(bottom, y1)
        else:
            count, top, bottom = count + 1, y0, y1
    return count


@attrs.define
class Event:
    """One piece of text on screen, ``[start_frame, end_frame)`` (film frame numbers)."""

    start_frame: int
    start: float
    end_frame: int = -1
    end: float = -1.0
    samples: int = 0
    moves_up: int = 0
    steps: int = 0
    max_lines: int = 0
    max_boxes: int = 0
    coverage: float = 0.0           # mean over its samples
    height: float = 0.0             # mean box height (fraction of the picture's)
    score: float = 0.0              # mean box score
    top: float = 1.0                # the highest box top seen (fraction of the height)
    texts: list[str] = attrs.Factory(list)
    best: Any = None                # the sample frame with most boxes (for reading), dropped after

    first_time: float = 0.0
    first_top: float = 1.0          # the highest box top of its first sample
    last_time: float = 0.0
    last_bottom: float = 0.0        # the lowest box bottom of its last sample
    rise: float = 0.0               # picture heights moved up, over the "up" steps
    rise_time: float = 0.0          # seconds those steps took

    def add(self, boxes: np.ndarray, coverage: float, relation: str | None, t: float,
            dy: float = 0.0) -> None:
        if self.samples == 0:
            self.first_time, self.first_top = t, float(boxes[:, 1].min())
        elif relation == "up":
            self.rise -= dy
            self.rise_time += t - self.last_time
        self.last_time, self.last_bottom = t, float(boxes[:, 3].max())
        self.samples += 1
        self.coverage += (coverage - self.coverage) / self.samples
        self.score += (float(boxes[:, 4].mean()) - self.score) / self.samples
        self.height += (float(np.median(boxes[:, 3] - boxes[:, 1])) - self.height) / self.samples
        self.max_lines = max(self.max_lines, lines(boxes))
        self.top = min(self.top, float(boxes[:, 1].min()))
        if relation is not None:
            self.steps += 1
            self.moves_up += relation == "up"

    @property
    def rolling(self) -> bool:
        """Moved up between most of its samples (a credit roll)."""
        return self.steps >= 2 and self.moves_up >= 0.5 * self.steps

    def roll_span(self, period: float) -> tuple[float, float] | None:
        """A roll's first and last moments of text, from its speed: when its first line's top
        came in at the bottom and its last line's bottom left at the top (neither seen, only
        whole lines are found), at most 1.5 sample periods beyond what was seen."""
        if not self.rolling or self.rise <= 0 or self.rise_time <= 0:
            return None
        speed = self.rise / self.rise_time
        start = self.first_time - (1.0 - self.first_top) / speed
        end = self.last_time + self.last_bottom / speed
        return (max(start, self.first_time - 1.5 * period), min(end, self.last_time + 1.5 * period))

    @property
    def in_bottom_band(self) -> bool:
        """Every box it showed lay in the bottom band, as subtitles do."""
        return self.top >= BOTTOM_BAND

    @property
    def duration(self) -> float:
        return self.end - self.start
