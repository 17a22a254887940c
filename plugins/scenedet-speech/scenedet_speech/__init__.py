"""Speech segments for scenedet: Silero VAD on the film's sound (see ``plugin``)."""
