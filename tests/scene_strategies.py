"""Hypothesis strategies for the exporters' property tests: any scene list at any frame rate."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from scenedet.outputs.document import from_dict
from scenedet.outputs.timecode import FrameRate

NTSC = Fraction(30000, 1001)
#: The rates the exporters must handle: whole, NTSC (drop-frame at 29.97/59.94) and a low one.
RATES = st.sampled_from([Fraction(24), Fraction(25), Fraction(30), Fraction(50), Fraction(60),
                         Fraction(24000, 1001), NTSC, Fraction(60000, 1001), Fraction(12)])


@st.composite
def scene_lists(draw, video: str = "film.mp4", *, min_scenes: int = 0, max_scenes: int = 10):
    """A :class:`~scenedet.outputs.document.SceneList` of ``video``: non-overlapping whole-second
    scenes within four hours, each with or without a score, at one of :data:`RATES`."""
    rate = draw(RATES)
    bounds = sorted(set(draw(st.lists(st.integers(0, 4 * 3600), min_size=2 * min_scenes,
                                      max_size=2 * max_scenes))))
    pairs = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]
    data = {"video": video, "scene": "kissing", "duration": float(4 * 3600 + 1),
            "segments": [{"start": s, "end": e, "score": draw(st.none() | st.floats(0, 1))}
                         for s, e in pairs],
            "scores": [], "model": "m.pt", "settings": {}}
    return from_dict(data, rate=FrameRate(rate))
