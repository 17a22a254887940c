"""Registers ``cues`` (all three) and ``black``, ``silence`` and ``colour-bars`` on their own.

``silence`` asks for no pictures, so it also runs on plain audio files (WAV, FLAC, OGG).
"""

from __future__ import annotations

from scenedet.plugin import DetectorSpec, hookimpl
from scenedet_cues.detectors import (SIZE, BlackDetector, ColourBarsDetector, CuesDetector,
                                     SilenceDetector)


@hookimpl
def register_detectors(register):
    w, h = SIZE
    register(DetectorSpec(name="cues", factory=CuesDetector, width=w, height=h, audio=True,
                          summary="Black frames, silence and SMPTE colour bars, labelled."))
    register(DetectorSpec(name="black", factory=BlackDetector, width=w, height=h,
                          summary="Black frames (mean luma and coverage), minimum duration."))
    register(DetectorSpec(name="silence", factory=SilenceDetector, audio=True,
                          summary="Sound below a dBFS level for a minimum duration; films and "
                                  "WAV/FLAC/OGG."))
    register(DetectorSpec(name="colour-bars", factory=ColourBarsDetector, width=w, height=h,
                          aliases=("color-bars", "bars"),
                          summary="SMPTE colour bars."))
