"""The ``text`` detector: PP-OCRv4 text boxes on frames sampled ``rate`` times a second, text
events tracked from sample to sample, their edges found between samples, labelled segments.

Cost: the network runs on the samples only (a few a second); between two samples every frame
is kept as its green channel at half size (320 x 176, 56 kB) so that when text appears, changes or
goes, the edge is put on the frame where the text's boxes changed most (``refine``), not on a
sample. Memory: the frames since the last sample, one event, and per sample a few numbers
(``settings["judged"]["samples"]``: time, coverage, boxes), whatever the film's length.

The result's ``scores``: per frame, the share of the picture covered by text boxes (the event
showing then; 0 without text).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scenedet.plugin import FrameBatch, FrameSegment, UsageError
from scenedet_text.labels import label_events
from scenedet_text.ocr import FRAME_SIZE, Ocr
from scenedet_text.tracking import INK_SAME, Event, box_mask, ink_similarity, relate

MIN_BOX_HEIGHT = 0.012  # boxes lower than this (fraction of the height, ~4 px at 352) are noise


class TextDetector:
    """See the module docstring; options as declared in :mod:`scenedet_text.plugin`."""

    def __init__(self, *, rate: float = 2.0, read: bool = False, min_score: float = 0.6,
                 min_duration: float = 0.5, refine: bool = True, keep_samples: bool = True) -> None:
        if not 0 < rate <= 30:
            raise UsageError(f"text: rate must be in (0, 30] samples a second, got {rate}")
        if not 0 < min_score < 1:
            raise UsageError(f"text: min_score must be in (0, 1), got {min_score}")
        if min_duration < 0:
            raise UsageError(f"text: min_duration must be >= 0 seconds, got {min_duration}")
        self.rate, self.read, self.min_score = float(rate), bool(read), float(min_score)
        self.min_duration, self.refine, self.keep_samples = float(min_duration), bool(refine), bool(keep_samples)
        self.ocr = Ocr(box_thresh=self.min_score)
        self.ocr.load(self.read)
        self.settings: dict[str, Any] = {"rate": self.rate, "read": self.read,
                                         "min_score": self.min_score,
                                         "min_duration": self.min_duration, "refine": self.refine,
                                         "frame_size": list(FRAME_SIZE),
                                         "model": "PP-OCRv4 det (rapidocr-onnxruntime)"}
        self.events: list[Event] = []
        self._event: Event | None = None
        self._prev: tuple[int, float, np.ndarray] | None = None   # last sample: frame, time, boxes
        self._last: tuple[np.ndarray, np.ndarray] | None = None   # the event's last boxes, picture
        self._pending_end: tuple[int, float] | None = None        # an end, unless a dropout
        self._buffer: list[tuple[int, float, np.ndarray]] = []  # frames since the last sample
        self._next_time: float | None = None
        self._n_frames = 0
        self._fps = 0.0
        self._samples: dict[str, list[Any]] = {"time": [], "coverage": [], "boxes": []}

    def add_audio(self, chunk: Any) -> None:
        pass

    def add_frames(self, batch: FrameBatch) -> None:
        frames = batch.frames(FRAME_SIZE)
        # kept for the edges: green at half size (what a text edge changes, at a tenth the bytes)
        kept = np.ascontiguousarray(frames[:, ::2, ::2, 1]) if self.refine else None
        for k, t in enumerate(batch.times.tolist()):
            index = batch.index + k
            if kept is not None:
                self._buffer.append((index, t, kept[k]))
            if self._next_time is None or t >= self._next_time - 1e-6:
                self._sample(index, t, frames[k])
                self._next_time = (t if self._next_time is None else self._next_time) + 1 / self.rate
                while self._next_time <= t:
                    self._next_time += 1 / self.rate
        self._n_frames = batch.index + len(batch)
        if len(batch) > 1 and batch.times[-1] > batch.times[0]:
            self._fps = (len(batch) - 1) / float(batch.times[-1] - batch.times[0])

    def _sample(self, index: int, t: float, frame: np.ndarray) -> None:
        boxes = self.ocr.detect(frame)
        boxes = boxes[(boxes[:, 3] - boxes[:, 1]) >= MIN_BOX_HEIGHT]
        coverage = float(min(1.0, ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sum()))
        if self.keep_samples:
            self._samples["time"].append(round(t, 3))
            self._samples["coverage"].append(round(coverage, 4))
            self._samples["boxes"].append(np.round(boxes, 3).tolist())
        small = np.ascontiguousarray(frame[:, :, 1])  # green, for the letters' edges
        prev, cur = self._prev, (index, t, boxes)
        event = self._event
        if event is not None and self._pending_end is not None:
            # the sample before found nothing: a dropout when this one goes on with the text
            if len(boxes) and self._relation(boxes, small)[0] != "change":
                event.add(boxes, coverage, "same", t)
            else:
                self._close(*self._pending_end)
            self._pending_end = None
        elif event is not None:
            relation, dy = self._relation(boxes, small) if len(boxes) else ("", 0.0)
            if not len(boxes):
                self._pending_end = self._edge(prev, cur)
            elif relation == "change":
                self._close(*self._edge(prev, cur))
            else:
                event.add(boxes, coverage, relation, t, dy)
        if self._event is None and len(boxes):
            start = self._edge(prev, cur) if prev is not None else (index, t)
            self._event = Event(start_frame=start[0], start=start[1])
            self._event.add(boxes, coverage, None, t)
        if len(boxes):
            self._last = (boxes, small)
            if self.read and len(boxes) >= self._event.max_boxes:
                self._event.max_boxes = len(boxes)
                self._event.best = (frame.copy(), boxes)
        self._prev = cur
        self._buffer = self._buffer[-1:] if self._buffer else []

    def _relation(self, boxes: np.ndarray, small: np.ndarray) -> tuple[str, float]:
        """What ``boxes`` are to the event's last boxes (:func:`relate`) and their vertical
        shift; text standing still whose letters changed is a change."""
        last, last_small = self._last
        relation, dy = relate(last, boxes)
        if relation != "change":
            # the letters, moved by dy, must be the same (a roll's are; a new subtitle's are not)
            moved = last + np.array([0, dy, 0, dy, 0], np.float32)
            fewer = moved if len(last) < len(boxes) else boxes
            rows = int(round(dy * small.shape[0])) if relation != "same" else 0
            shifted = np.roll(last_small, rows, axis=0)
            if ink_similarity(shifted, small, fewer) < INK_SAME:
                return "change", 0.0
        return relation, dy

    def _edge(self, prev: tuple[int, float, np.ndarray] | None,
              cur: tuple[int, float, np.ndarray]) -> tuple[int, float]:
        """The first frame after the change between two samples: where the pixels inside the
        text's boxes (either sample's) changed most (``refine``), else halfway."""
        if prev is None:
            return cur[0], cur[1]
        span = [f for f in self._buffer if prev[0] <= f[0] <= cur[0]]
        mask = (box_mask(np.concatenate([prev[2], cur[2]]), span[0][2].shape) if span
                else np.zeros((0, 0), bool))
        if not self.refine or len(span) < 3 or not mask.any():
            mid = (prev[0] + cur[0] + 1) // 2
            step = (cur[1] - prev[1]) / max(1, cur[0] - prev[0])
            return mid, prev[1] + (mid - prev[0]) * step
        pixels = np.stack([f[2][mask] for f in span]).astype(np.int16)
        change = np.abs(np.diff(pixels, axis=0)).mean(axis=1)
        k = int(np.argmax(change)) + 1
        return span[k][0], span[k][1]

    def _close(self, end_frame: int, end: float) -> None:
        event, self._event = self._event, None
        if event is None:
            return
        event.end_frame, event.end = end_frame, end
        span = event.roll_span(1 / self.rate)
        if span is not None and self._fps:
            # a roll's edges from its speed (rounded to frames on the film's grid)
            floor = self.events[-1].end if self.events else 0.0
            start, stop = max(span[0], floor, 0.0), span[1]
            event.start_frame += int(round((start - event.start) * self._fps))
            event.end_frame += int(round((stop - event.end) * self._fps))
            event.start, event.end = start, stop
        if event.best is not None:
            frame, boxes = event.best
            event.texts = [s for s, conf in self.ocr.read(frame, boxes) if s.strip() and conf >= 0.5]
            event.best = None
        if event.duration >= self.min_duration - 1e-9:
            self.events.append(event)

    def finish(self, info: Any) -> list[FrameSegment]:
        if self._event is not None:
            self._close(*(self._pending_end or (self._n_frames, float(info.duration))))
            last = self.events[-1] if self.events else None
            if last is not None and last.end > info.duration:  # a roll running off the film's end
                last.end, last.end_frame = float(info.duration), self._n_frames
            self._pending_end = None
        self._buffer = []
        segments = label_events(self.events)
        read = [{"start": round(seg.start, 6), "end": round(seg.end, 6), "label": seg.label,
                 "text": [t for e in events for t in e.texts]} for seg, events in segments]
        self.scores = np.zeros(self._n_frames, np.float32)
        for e in self.events:
            self.scores[e.start_frame:e.end_frame] = e.coverage
        judged: dict[str, Any] = {"events": [_event_dict(e) for e in self.events]}
        if self.read:
            judged["segments"] = read
        if self.keep_samples:
            judged["samples"] = self._samples
        self.settings["judged"] = judged
        return [s for s, _ in segments]


def _event_dict(e: Event) -> dict[str, Any]:
    out = {"start": round(e.start, 6), "end": round(e.end, 6), "lines": e.max_lines,
           "rolling": e.rolling, "bottom_band": e.in_bottom_band, "coverage": round(e.coverage, 4)}
    if e.texts:
        out["text"] = e.texts
    return out
