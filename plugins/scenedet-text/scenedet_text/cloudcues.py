"""The cloud APIs' technical cue set in one detector: the whole film cut into ``OpeningCredits``,
``EndCredits``, ``BlackFrames``, ``ColorBars``, ``Slate`` and ``Content`` (AWS Rekognition's
segment types, spelt as it spells them; docs/detectors.md compares the fields).

It composes registered detectors, as a third party would: ``text`` (this plugin's
:class:`TextDetector`, reading its cards) and the ``black`` and ``colour-bars`` detectors of
whichever plugin registers them (scenedet-cues), built by name with ``create_detector``. Those
two declared small frames (64 x 36); they get this detector's 640 x 352 frames picked on their
grid (nearest pixel, no filtering: a black frame's and a bar's pixels are flat, so averaging
first would change nothing they test but the film grain).

``StudioLogo`` is not given: a studio logo is a picture, not text, and no weights here tell one
from any other shot (docs/detectors.md).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from scenedet.plugin import (FrameBatch, FrameSegment, UsageError, create_detector,
                             get_detector_spec)
from scenedet_text.detector import TextDetector

#: Words of a slate (a clapperboard or a slate card), in capitals as slates write them; two
#: different ones make a card a slate.
SLATE_WORDS = re.compile(r"(?<![A-Z])(SCENE|SCN|SC|TAKE|TK|ROLL|SLATE|PROD|PRODUCTION|DIRECTOR|DIR|"
                         r"CAMERA|CAM|DATE|SOUND|FPS|REEL|CLIP)(?![A-Z])")
#: Which cue wins where two overlap, first first. ``TEXT``: text that is no cue (mid-film
#: credits, a sign, subtitles) is ``Content``, but it keeps black frames off that stretch: a
#: card of light letters on black is mostly dark pixels, yet it is not black.
TEXT = "Text"
PRIORITY = ("ColorBars", "Slate", "OpeningCredits", "EndCredits", TEXT, "BlackFrames")
MERGE_GAP = 2.0
#: The cues joined across short stretches of Content (credits in pieces); black frames and bars
#: apart are apart.
JOINED = ("OpeningCredits", "EndCredits")


class CloudCuesDetector:
    """See the module docstring; options as declared in :mod:`scenedet_text.plugin`."""

    def __init__(self, *, rate: float = 2.0, opening: float = 0.25, ending: float = 0.25,
                 read: bool = True) -> None:
        for name, value in (("opening", opening), ("ending", ending)):
            if not 0 < value < 1:
                raise UsageError(f"cloud-cues: {name} must be in (0, 1), got {value}")
        self.opening, self.ending = float(opening), float(ending)
        self.text = TextDetector(rate=rate, read=read, keep_samples=False)  # lean result
        self.parts: list[tuple[Any, tuple[int, int]]] = []
        for name in ("black", "colour-bars"):
            try:
                spec = get_detector_spec(name)
            except KeyError:
                raise UsageError(f"cloud-cues needs the {name!r} detector, which scenedet-cues "
                                 f"registers; install it: pip install scenedet-cues") from None
            self.parts.append((create_detector(name), (spec.width, spec.height)))
        self.settings: dict[str, Any] = {"opening": self.opening, "ending": self.ending,
                                         "text": self.text.settings}

    def add_audio(self, chunk: Any) -> None:
        pass

    def add_frames(self, batch: FrameBatch) -> None:
        self.text.add_frames(batch)
        frames = batch.frames(self.text_size)
        for detector, size in self.parts:
            small = pick(frames, size)
            detector.add_frames(FrameBatch(index=batch.index, times=batch.times,
                                           images={size: small}))

    @property
    def text_size(self) -> tuple[int, int]:
        from scenedet_text.ocr import FRAME_SIZE

        return FRAME_SIZE

    def finish(self, info: Any) -> list[FrameSegment]:
        text = self.text.finish(info)
        self.scores = self.text.scores
        found: list[tuple[str, FrameSegment]] = []
        for detector, _ in self.parts:
            for s in detector.finish(info):
                found.append(("BlackFrames" if s.label == "black" else "ColorBars", s))
        texts = self.text.settings["judged"].get("segments", [])
        duration = float(info.duration)
        for i, s in enumerate(text):
            words = {w.upper() for t in (texts[i]["text"] if i < len(texts) else ())
                     for w in SLATE_WORDS.findall(t)}
            if len(words) >= 2 and s.label in ("title", "text"):
                found.append(("Slate", s))
            elif s.label in ("credits", "title") and s.start <= self.opening * duration:
                found.append(("OpeningCredits", s))
            elif s.label == "credits" and s.end >= (1 - self.ending) * duration:
                found.append(("EndCredits", s))
            else:
                found.append((TEXT, s))
        self.settings["judged"] = {"text": [dict(t, label=s.label) for t, s in zip(texts, text)]
                                   if texts else [s.to_dict() for s in text]}
        return cover(found, info)


def pick(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frames`` (n, H, W, 3) at ``size`` (w, h) by the nearest pixel on an even grid."""
    _, h, w, _ = frames.shape
    rows = np.linspace(0, h - 1, size[1]).round().astype(int)
    cols = np.linspace(0, w - 1, size[0]).round().astype(int)
    return frames[:, rows][:, :, cols]


def cover(found: list[tuple[str, FrameSegment]], info: Any) -> list[FrameSegment]:
    """The whole film ``[0, duration)`` as non-overlapping labelled segments: each cue where it
    wins (:data:`PRIORITY`), ``Content`` elsewhere; credits (:data:`JOINED`) on both sides of at
    most ``MERGE_GAP`` s of ``Content`` without text are joined."""
    n, duration = int(info.n_frames), float(info.duration)
    if n == 0:
        return []
    owner = np.full(n, len(PRIORITY), np.int8)   # len(PRIORITY): Content
    score = np.ones(n, np.float32)
    for label, s in sorted(found, key=lambda f: -PRIORITY.index(f[0])):
        a, b = max(0, s.start_frame or 0), min(n, s.end_frame if s.end_frame is not None else n)
        owner[a:b] = PRIORITY.index(label)
        score[a:b] = 1.0 if s.score is None else s.score
    _join_close(owner, info)
    owner[owner == PRIORITY.index(TEXT)] = len(PRIORITY)  # text that is no cue: Content
    edges = np.flatnonzero(np.diff(owner)) + 1
    starts, ends = np.concatenate([[0], edges]), np.concatenate([edges, [n]])
    names = PRIORITY + ("Content",)
    return [FrameSegment(start=info.frame_time(int(a)), end=info.frame_time(int(b)) if b < n
                         else duration, start_frame=int(a), end_frame=int(b),
                         score=round(float(score[a:b].mean()), 6), label=names[owner[a]])
            for a, b in zip(starts, ends)]


def _join_close(owner: np.ndarray, info: Any) -> None:
    content = len(PRIORITY)
    gap = int(round(MERGE_GAP * (info.fps or 25.0)))
    edges = np.flatnonzero(np.diff(owner)) + 1
    starts, ends = np.concatenate([[0], edges]), np.concatenate([edges, [len(owner)]])
    for k in range(1, len(starts) - 1):
        a, b = starts[k], ends[k]
        around = int(owner[b])
        if (owner[a] == content and b - a <= gap and owner[starts[k - 1]] == around
                and around < content and PRIORITY[around] in JOINED):
            owner[a:b] = around
