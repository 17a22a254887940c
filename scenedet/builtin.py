"""The core's own plugin: the standard extractors, the linear and temporal heads and the ``runs``
aggregator.

Registered through the ``scenedet`` entry point of the core package, the same path every other
plugin takes.
"""

from __future__ import annotations

from scenedet.plugin.hookspecs import hookimpl
from scenedet.plugin.specs import AggregatorSpec, ExporterSpec, ExtractorSpec, HeadSpec
from scenedet.media import extractors


@hookimpl
def register_extractors(register):
    register(ExtractorSpec(name="still", factory=extractors.StillExtractor,
                           output="(H, W, 3) uint8 RGB",
                           summary="last frame shown at or before the end of each second"))
    register(ExtractorSpec(name="stills16", factory=extractors.StillClipExtractor,
                           output="(16, H, W, 3) uint8 RGB",
                           summary="the 16 per-second stills up to this second, zero-padded"))
    register(ExtractorSpec(name="frames16", factory=extractors.FrameClipExtractor,
                           output="(16, H, W, 3) uint8 RGB",
                           summary="the last 16 consecutive frames of each second (motion)"))
    register(ExtractorSpec(name="audio-16k", factory=extractors.AudioExtractor,
                           output="(16000,) float32",
                           summary="each second's audio, mono, resampled to 16 kHz"))
    register(ExtractorSpec(name="audio-logmel", factory=extractors.LogMelExtractor,
                           output="(96, 64) float32",
                           summary="VGGish log-mel patch of the last 960 ms of each second"))


def _linear_head(*, in_features: int, num_classes: int = 2):
    import torch

    return torch.nn.Linear(in_features, num_classes)


def _temporal_head(*, in_features: int, num_classes: int = 2):
    from scenedet.inference.temporal import temporal_head

    return temporal_head(in_features=in_features, num_classes=num_classes)


@hookimpl
def register_heads(register):
    register(HeadSpec(name="linear", factory=_linear_head,
                      summary="one fully connected layer over the concatenated features (the paper's)"))
    register(HeadSpec(name="temporal", factory=_temporal_head,
                      summary="dilated 1-D convolutions over the seconds around each one "
                              "(63 s receptive field, streamed; docs/heads.md)"))


@hookimpl
def register_aggregators(register):
    from scenedet.segmentation.runs import positive_runs

    register(AggregatorSpec(name="runs", function=positive_runs,
                            summary="each unbroken run of positive seconds at least min_length long"))


@hookimpl
def register_exporters(register):
    from scenedet.outputs import edl, formats, otio

    register(ExporterSpec(name="json", suffixes=(".json",), function=formats.to_json,
                          summary="the full result: scenes with frames and timecodes, scores"))
    register(ExporterSpec(name="csv", suffixes=(".csv",), function=formats.to_csv,
                          summary="one row per scene: seconds, timecodes, frames, score"))
    register(ExporterSpec(name="edl", suffixes=(".edl",), function=edl.to_edl,
                          summary="CMX 3600 edit decision list (drop-frame at 29.97/59.94)"))
    register(ExporterSpec(name="otio", suffixes=(".otio",), function=otio.to_otio,
                          summary="OpenTimelineIO timeline: a clip per scene on the film"))
    register(ExporterSpec(name="fcpxml", suffixes=(".fcpxml",), function=otio.to_fcpxml,
                          summary="Final Cut Pro X XML: the .otio timeline, by OTIO's fcpx_xml adapter"))
    register(ExporterSpec(name="fcp7xml", suffixes=(".xml",), function=otio.to_fcp7_xml,
                          summary="FCP 7 XML (xmeml) for Premiere Pro and DaVinci Resolve: the .otio "
                                  "timeline, by OTIO's fcp_xml adapter"))
    register(ExporterSpec(name="vtt", suffixes=(".vtt",), function=formats.to_vtt,
                          summary="WebVTT chapters, one cue per scene"))
