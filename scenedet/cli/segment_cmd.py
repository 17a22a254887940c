"""``scenedet segment``` (being written)."""
