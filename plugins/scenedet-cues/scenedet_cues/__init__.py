"""scenedet-cues: black frames, silence and colour bars as frame-level detectors."""
