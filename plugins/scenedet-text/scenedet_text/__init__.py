"""scenedet-text: on-screen text (PP-OCRv4) and the cloud APIs' technical cue set."""
