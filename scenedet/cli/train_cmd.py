"""``scenedet train``` (being written)."""
