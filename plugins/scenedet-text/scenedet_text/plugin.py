"""Registers ``text`` (on-screen text, PP-OCRv4) and ``cloud-cues`` (the cloud APIs' technical
cue set over the whole film).

Both take frames at 640 x 352 (:data:`scenedet_text.ocr.FRAME_SIZE`) and run the detection
network on ``rate`` samples a second only. The models are the files of the installed
``rapidocr-onnxruntime`` wheel, read in place (:mod:`scenedet_text.models`).
"""

from __future__ import annotations

from scenedet.plugin import DetectorSpec, OptionSpec, hookimpl
from scenedet_text.cloudcues import CloudCuesDetector
from scenedet_text.detector import TextDetector
from scenedet_text.ocr import FRAME_SIZE

TEXT_OPTIONS = (
    OptionSpec("rate", float, 2.0, "frames a second the text network looks at, (0, 30]"),
    OptionSpec("read", bool, False, "also recognise the strings (PP-OCRv4 recognition), one "
                                    "frame per text event"),
    OptionSpec("min_score", float, 0.6, "least mean text probability inside a box, (0, 1)"),
    OptionSpec("min_duration", float, 0.5, "shortest text event kept, seconds"),
    OptionSpec("refine", bool, True, "put each edge on the frame where the text changed, "
                                     "between samples (false: halfway)"),
)
CLOUD_OPTIONS = TEXT_OPTIONS[:1] + (
    OptionSpec("opening", float, 0.25, "opening credits start in this first share of the film, "
                                       "(0, 1)"),
    OptionSpec("ending", float, 0.25, "end credits end in this last share of the film, (0, 1)"),
    OptionSpec("read", bool, True, "read text cards, to find slates (SCENE / TAKE / ROLL)"),
)


@hookimpl
def register_detectors(register):
    w, h = FRAME_SIZE
    register(DetectorSpec(
        name="text", factory=TextDetector, width=w, height=h, aliases=("ocr", "on-screen-text"),
        options=TEXT_OPTIONS,
        summary="On-screen text (PP-OCRv4): credits, titles, subtitles, other text."))
    register(DetectorSpec(
        name="cloud-cues", factory=CloudCuesDetector, width=w, height=h,
        aliases=("technical-cues", "rekognition-cues"), options=CLOUD_OPTIONS,
        summary="The whole film as cloud cues: OpeningCredits, EndCredits, BlackFrames, "
                "ColorBars, Slate, Content."))
