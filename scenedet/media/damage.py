"""Damaged packets skipped while decoding, and the seconds they touched.

FFmpeg's players skip a packet the decoder rejects ("Invalid data found when processing input")
and play on; scenedet does the same rather than refusing the whole film. The seconds a skipped
packet falls in are filled the way missing media already is: silence (zeros) for audio, the
previous still for video. A :class:`Damage` collects what was skipped so a result can say so
(``SceneResult.damage``, the ``"damage"`` key of ``scenedet run``'s JSON) and one warning line
can be printed (:class:`DamagedMediaWarning`).
"""

from __future__ import annotations

import math
import threading
import warnings
from pathlib import Path
from typing import Any

import attrs


class DamagedMediaWarning(UserWarning):
    """Some packets of a film could not be decoded and were skipped (see :mod:`scenedet.media.damage`)."""


@attrs.define(eq=False)
class Damage:
    """Packets skipped per stream and the film seconds (index ``k`` = ``[k, k + 1)``) they fell in.

    Filled by the decoding thread, read once decoding is over.
    """

    audio_packets_skipped: int = 0
    video_packets_skipped: int = 0
    seconds: set[int] = attrs.Factory(set)
    _seen: set[tuple[str, int]] = attrs.field(factory=set, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def skipped(self, kind: str, time: float | None, key: int | None = None) -> None:
        """Count one skipped ``kind`` ("audio" or "video") packet at film ``time`` (s, if known).

        ``key`` (the packet's timestamp) counts a packet decoded twice (after a seek) once.
        """
        with self._lock:
            if key is not None:
                if (kind, key) in self._seen:
                    return
                self._seen.add((kind, key))
            if kind == "audio":
                self.audio_packets_skipped += 1
            else:
                self.video_packets_skipped += 1
            if time is not None and math.isfinite(time):
                self.seconds.add(max(0, math.floor(time)))

    def __bool__(self) -> bool:
        return bool(self.audio_packets_skipped or self.video_packets_skipped)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Damage:
        """A :class:`Damage` back from :meth:`to_dict` (a saved result's ``"damage"``)."""
        return cls(audio_packets_skipped=int(data.get("audio_packets_skipped") or 0),
                   video_packets_skipped=int(data.get("video_packets_skipped") or 0),
                   seconds={int(s) for s in data.get("seconds") or ()})

    def to_dict(self) -> dict[str, Any]:
        return {"audio_packets_skipped": self.audio_packets_skipped,
                "video_packets_skipped": self.video_packets_skipped,
                "seconds": sorted(self.seconds)}

    def summary(self, path: str | Path) -> str:
        """One line: what was skipped, where, and what those seconds got instead."""
        parts = []
        if self.audio_packets_skipped:
            parts.append(f"{self.audio_packets_skipped} damaged audio packet(s) (silence there)")
        if self.video_packets_skipped:
            parts.append(f"{self.video_packets_skipped} damaged video packet(s) "
                         f"(the previous still there)")
        return (f"{path}: skipped {' and '.join(parts)} in second(s) "
                f"{_seconds_text(sorted(self.seconds))}")

    def warn(self, path: str | Path, *, stacklevel: int = 2) -> None:
        if self:
            warnings.warn(self.summary(path), DamagedMediaWarning, stacklevel=stacklevel + 1)


def _seconds_text(seconds: list[int], limit: int = 10) -> str:
    if not seconds:
        return "unknown"
    shown = ", ".join(str(s) for s in seconds[:limit])
    return shown + (f" and {len(seconds) - limit} more" if len(seconds) > limit else "")
