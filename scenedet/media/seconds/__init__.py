"""Decoding whole seconds: one :class:`~scenedet.media.types.Second` per second of film, its last
still(s) and its audio, for the per-second scenes (``decode.iter_seconds``, by seeking or
sequentially)."""
