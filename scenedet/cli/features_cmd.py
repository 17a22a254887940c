"""``scenedet features``` (being written)."""
