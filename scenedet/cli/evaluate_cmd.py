"""``scenedet evaluate``` (being written)."""
