"""scenedet-shots: shot-cut detectors as a scenedet plugin (see docs/shots.md)."""
