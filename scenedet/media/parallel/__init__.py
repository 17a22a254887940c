"""One film decoded by several workers in keyframe-aligned chunks, identical to one decoder:
whole seconds (``seconds``), every frame (``frames``), and the worker pool both share
(``chunkpool``)."""
