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


def format_length(seconds: float) -> str:
    """A length for people to read: ``"0.4 s"``, ``"0.04 s"``, ``"2.5 s"``, ``"35 s"``, ``"125 s"``.

    Whole seconds read as before (``"3 s"``); a length under a second keeps two decimals (under
    a tenth: three) and one under a minute one, trailing zeros dropped, so a 0.4 s shot never
    reads ``"0 s"``; from a minute on, whole seconds. Non-finite lengths are written as they are.

    >>> format_length(0.4), format_length(3.0), format_length(12.25), format_length(0.04)
    ('0.4 s', '3 s', '12.2 s', '0.04 s')
    """
    if not math.isfinite(seconds):
        return f"{seconds} s"
    size = abs(seconds)
    digits = 3 if size < 0.1 else 2 if size < 1 else 1 if size < 60 else 0
    text = f"{seconds:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{'0' if text in ('-0', '') else text} s"
