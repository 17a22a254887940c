"""``scenedet demo``` (being written)."""
