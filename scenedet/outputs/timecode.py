"""Frame numbers and SMPTE timecodes at a film's real frame rate.

Editors and the cloud video APIs locate scenes by frame and by timecode, not by seconds, so every
export carries both. Rules, all with exact rational arithmetic:

* **frame of a time**: ``round(t x fps)`` (halves up), the frame boundary nearest ``t``. A scene
  ``[start, end)`` covers frames ``[frame(start), frame(end))``; at 29.97 fps second 1 starts at
  frame 30 (1.001 s), the boundary nearest 1.0 s.
* **timecode of a frame**: ``HH:MM:SS:FF`` counted at the *nominal* rate (24 for 23.976, 30 for
  29.97). At 29.97 and 59.94 fps the timecode is **drop-frame** (``HH:MM:SS;FF``): labels
  ``;00`` and ``;01`` (``;00``-``;03`` at 59.94) are skipped at the start of every minute that is
  not a multiple of ten, so the timecode keeps to the wall clock (frame 107892 at 29.97 is
  ``01:00:00;00``). Other rates are non-drop.
* **variable frame rate**: frames are numbered at the stream's average rate, and
  :class:`FrameRate` records ``variable=True`` and that mapping, so a reader knows the numbers
  are nominal.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

import attrs

#: drop-frame rates -> labels dropped per minute
DROP_FRAME_RATES: dict[Fraction, int] = {Fraction(30000, 1001): 2, Fraction(60000, 1001): 4}

CONSTANT = "constant"
NOMINAL_AVERAGE = "nominal average rate"

_TIMECODE = re.compile(r"^(\d{2,}):(\d{2}):(\d{2})([:;])(\d{2,3})$")


def _rate(value: Any) -> Fraction:
    """Exact rate; a float near an NTSC rate (29.97, 23.976, 59.94) snaps to ``N*1000/1001``."""
    if isinstance(value, float):
        for nominal in (24, 30, 48, 60, 120):
            ntsc = Fraction(nominal * 1000, 1001)
            if abs(value - float(ntsc)) < 0.006:
                return ntsc
        value = Fraction(value).limit_denominator(1001)
    rate = Fraction(value)
    if rate <= 0:
        raise ValueError(f"frame rate must be positive, got {value!r}")
    return rate


@attrs.frozen
class FrameRate:
    """A film's frame rate as timecodes use it.

    ``value`` is exact (``30000/1001``); ``variable`` says the film has no constant rate and
    ``mapping`` how its times were mapped to frame numbers (:data:`NOMINAL_AVERAGE`).
    """

    value: Fraction = attrs.field(converter=_rate)
    variable: bool = False
    mapping: str = CONSTANT

    @property
    def nominal(self) -> int:
        """Frames per timecode second: 24 for 23.976, 30 for 29.97."""
        return max(1, round(self.value))

    @property
    def drop_frame(self) -> bool:
        return self.value in DROP_FRAME_RATES

    def to_dict(self) -> dict[str, Any]:
        return {"value": round(float(self.value), 6), "fraction": f"{self.value.numerator}/"
                f"{self.value.denominator}", "nominal": self.nominal,
                "drop_frame": self.drop_frame, "variable": self.variable, "mapping": self.mapping}

    @classmethod
    def from_dict(cls, data: Any) -> FrameRate:
        """Inverse of :meth:`to_dict` (a bare number is a constant rate)."""
        if isinstance(data, (int, float, str)) and not isinstance(data, bool):
            return cls(Fraction(str(data)) if isinstance(data, str) else data)
        if not isinstance(data, dict) or ("fraction" not in data and "value" not in data):
            raise ValueError(f"not a frame rate: {data!r}")
        value = Fraction(data["fraction"]) if "fraction" in data else data["value"]
        return cls(value, bool(data.get("variable", False)), str(data.get("mapping", CONSTANT)))


def as_frame_rate(rate: FrameRate | Fraction | float | int) -> FrameRate:
    return rate if isinstance(rate, FrameRate) else FrameRate(rate)


def seconds_to_frame(seconds: float | Fraction, rate: FrameRate | Fraction | float) -> int:
    """The frame boundary nearest ``seconds``: ``round(seconds x fps)``, halves up."""
    r = as_frame_rate(rate).value
    t = Fraction(seconds) if not isinstance(seconds, float) else Fraction(str(seconds))
    if t < 0:
        raise ValueError(f"time must be >= 0, got {seconds!r}")
    return math.floor(t * r + Fraction(1, 2))


def frame_to_seconds(frame: int, rate: FrameRate | Fraction | float) -> Fraction:
    """Where frame ``frame`` starts, in seconds (exact)."""
    if frame < 0:
        raise ValueError(f"frame must be >= 0, got {frame}")
    return Fraction(frame) / as_frame_rate(rate).value


def frames_to_timecode(frame: int, rate: FrameRate | Fraction | float) -> str:
    """``HH:MM:SS:FF`` of frame ``frame`` (``HH:MM:SS;FF`` when drop-frame). Hours do not wrap."""
    fr = as_frame_rate(rate)
    if frame < 0:
        raise ValueError(f"frame must be >= 0, got {frame}")
    n = fr.nominal
    label = frame
    sep = ":"
    if fr.drop_frame:
        drop = DROP_FRAME_RATES[fr.value]
        per_minute = 60 * n - drop
        per_ten = 10 * 60 * n - 9 * drop
        tens, rest = divmod(frame, per_ten)
        label = frame + 9 * drop * tens
        if rest >= drop:
            label += drop * ((rest - drop) // per_minute)
        sep = ";"
    ff = label % n
    total_seconds = label // n
    return (f"{total_seconds // 3600:02d}:{total_seconds // 60 % 60:02d}:"
            f"{total_seconds % 60:02d}{sep}{ff:0{max(2, len(str(n - 1)))}d}")  # FF: two digits at least


def timecode_to_frames(timecode: str, rate: FrameRate | Fraction | float) -> int:
    """The frame a timecode labels; ``ValueError`` for a malformed or dropped label."""
    fr = as_frame_rate(rate)
    m = _TIMECODE.match(timecode.strip())
    if not m:
        raise ValueError(f"invalid timecode {timecode!r}: expected HH:MM:SS:FF")
    hh, mm, ss, sep, ff = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    n = fr.nominal
    if mm >= 60 or ss >= 60 or ff >= n:
        raise ValueError(f"invalid timecode {timecode!r} at {fr.nominal} frames per second")
    if (sep == ";") != fr.drop_frame:
        kind = "drop-frame (;)" if fr.drop_frame else "non-drop-frame (:)"
        raise ValueError(f"timecode {timecode!r}: {float(fr.value):.3f} fps uses {kind} timecode")
    label = (hh * 3600 + mm * 60 + ss) * n + ff
    if not fr.drop_frame:
        return label
    drop = DROP_FRAME_RATES[fr.value]
    if ss == 0 and ff < drop and mm % 10 != 0:
        raise ValueError(f"timecode {timecode!r} does not exist: drop-frame skips it")
    minutes = hh * 60 + mm
    return label - drop * (minutes - minutes // 10)
