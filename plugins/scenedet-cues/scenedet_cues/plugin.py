"""Registers ``cues`` (all three) and ``black``, ``silence`` and ``colour-bars`` on their own.

``silence`` asks for no pictures, so it also runs on plain audio files (WAV, FLAC, OGG). Each
detector declares its options (``scenedet plugins black`` lists them); ``cues`` takes every
option of the three, prefixed ``black_``, ``silence_`` or ``bars_``.
"""

from __future__ import annotations

from scenedet.plugin import DetectorSpec, OptionSpec, hookimpl
from scenedet_cues.detectors import (SIZE, BlackDetector, ColourBarsDetector, CuesDetector,
                                     SilenceDetector)

BLACK_OPTIONS = (
    OptionSpec("max_mean", float, 24.0, "a black frame's mean luma is at most this (0-255)"),
    OptionSpec("pixel_threshold", float, 32.0, "a pixel is dark below this luma (0-255)"),
    OptionSpec("coverage", float, 0.98, "least fraction of dark pixels in a black frame, (0, 1]"),
    OptionSpec("min_duration", float, 0.5, "shortest black stretch reported, seconds"),
)
SILENCE_OPTIONS = (
    OptionSpec("threshold_db", float, -50.0, "silence is an RMS level below this, dBFS"),
    OptionSpec("min_duration", float, 1.0, "shortest silence reported, seconds"),
    OptionSpec("window", float, 0.05, "length of the windows whose level is measured, seconds"),
)
BARS_OPTIONS = (
    OptionSpec("tolerance", float, 0.25, "how far a strip's colour may be from the SMPTE bar's, "
                                         "relative to the first strip"),
    OptionSpec("flatness", float, 20.0, "most standard deviation inside one strip (0-255)"),
    OptionSpec("min_level", float, 100.0, "least brightness of the first (grey) strip (0-255)"),
    OptionSpec("min_duration", float, 0.5, "shortest stretch of bars reported, seconds"),
)


def _prefixed(prefix: str, options: tuple[OptionSpec, ...], what: str) -> tuple[OptionSpec, ...]:
    return tuple(OptionSpec(f"{prefix}_{o.name}", o.type, o.default, f"{what}: {o.help}")
                 for o in options)


CUES_OPTIONS = (_prefixed("black", BLACK_OPTIONS, "black") + _prefixed("silence", SILENCE_OPTIONS, "silence")
                + _prefixed("bars", BARS_OPTIONS, "colour bars"))


@hookimpl
def register_detectors(register):
    w, h = SIZE
    register(DetectorSpec(name="cues", factory=CuesDetector, width=w, height=h, audio=True,
                          options=CUES_OPTIONS,
                          summary="Black frames, silence and SMPTE colour bars, labelled."))
    register(DetectorSpec(name="black", factory=BlackDetector, width=w, height=h,
                          options=BLACK_OPTIONS,
                          summary="Black frames (mean luma and coverage), minimum duration."))
    register(DetectorSpec(name="silence", factory=SilenceDetector, audio=True,
                          options=SILENCE_OPTIONS,
                          summary="Sound below a dBFS level for a minimum duration; films and "
                                  "WAV/FLAC/OGG."))
    register(DetectorSpec(name="colour-bars", factory=ColourBarsDetector, width=w, height=h,
                          aliases=("color-bars", "bars"), options=BARS_OPTIONS,
                          summary="SMPTE colour bars."))
