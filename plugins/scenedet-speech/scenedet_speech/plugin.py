"""Registers ``speech`` (alias ``vad``): Silero VAD on the film's sound.

The detector asks for no pictures, so run alone it decodes only the sound (films, and plain
audio files such as WAV); run with picture detectors it shares their one decode. Its options
are declared here (``scenedet plugins speech`` lists them) and are keywords of the detector.
It keeps one speech probability per 32 ms window in its result, which ``scenedet segment``
re-cuts with other options (``resegment``). The model is imported when a detector is built,
never when plugins are listed (this module imports numpy only).
"""

from __future__ import annotations

from scenedet.plugin import DetectorSpec, OptionSpec, hookimpl
from scenedet_speech import detector
from scenedet_speech.cutting import DEFAULTS


SPEECH_OPTIONS = (
    OptionSpec("threshold", float, DEFAULTS["threshold"],
               "a window whose speech probability reaches this starts speech, in (0, 1)"),
    OptionSpec("release", float, DEFAULTS["release"],
               "speech goes on until the probability falls this far below threshold, [0, 1)"),
    OptionSpec("min_speech", float, DEFAULTS["min_speech"],
               "shortest speech segment kept, seconds"),
    OptionSpec("min_silence", float, DEFAULTS["min_silence"],
               "shortest pause that ends a segment, seconds"),
    OptionSpec("padding", float, DEFAULTS["padding"],
               "seconds added before and after each segment"),
)


@hookimpl
def register_detectors(register):
    register(DetectorSpec(
        name="speech", factory=detector.SpeechDetector, audio=True, aliases=("vad",),
        options=SPEECH_OPTIONS, resegment=detector.resegment,
        summary="Speech segments with Silero VAD (the silero-vad wheel's ONNX model, offline)."))
