"""``scenedet run``` (being written)."""
