"""Decoding every frame, small, plus the sound, in one pass, for the frame-level detectors
(``stream.MediaStream``); a part of a film on that path (``part``); the per-second seconds built
from the same decode for a run of scenes and detectors (``secondtap``)."""
