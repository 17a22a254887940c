"""``scenedet synth``` (being written)."""
