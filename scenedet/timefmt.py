"""Parse and format times the way PySceneDetect's CLI does.

Accepted forms: plain seconds (``123``, ``12.5``), seconds with a suffix (``12.5s``), and
timecodes ``HH:MM:SS[.sss]`` or ``MM:SS[.sss]``. Kept free of heavy imports: the CLI uses it.
"""

from __future__ import annotations

import math
import re

_TIMECODE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_SECONDS = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*s?$")


def parse_time(text: str | float | int) -> float:
    """Return seconds for ``text``; raise ``ValueError`` with a readable reason otherwise.

    >>> parse_time("00:02:03.500"), parse_time("12.5s"), parse_time("123")
    (123.5, 12.5, 123.0)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        s = str(text).strip().lower()
        m = _SECONDS.match(s)
        if m:
            value = float(m.group(1))
        else:
            m = _TIMECODE.match(s)
            if not m:
                raise ValueError(
                    f"invalid time {text!r}: use seconds (123, 12.5s) or a timecode (00:02:03.500)"
                )
            hours = int(m.group(1) or 0)
            minutes = int(m.group(2))
            seconds = float(m.group(3))
            if m.group(1) is not None and minutes >= 60:
                raise ValueError(f"invalid time {text!r}: minutes must be below 60")
            if seconds >= 60:
                raise ValueError(f"invalid time {text!r}: seconds must be below 60")
            value = hours * 3600 + minutes * 60 + seconds
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"invalid time {text!r}: must be a finite number of seconds >= 0")
    return value


def format_time(seconds: float) -> str:
    """Format seconds as ``HH:MM:SS.mmm`` (the inverse of :func:`parse_time` to the millisecond)."""
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"
