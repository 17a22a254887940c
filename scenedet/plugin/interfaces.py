"""The contracts between components. Plugins implement these; the pipeline only calls these.

Data path for one film (see docs/architecture.md)::

    decoder --Second--> Extractor --array--> Backbone.preprocess --tensor--> Backbone (batched)
        --features--> concatenate --> Head --logits--> softmax --> scores --> Aggregator --> scenes
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import torch

    from scenedet.media.types import MediaRequest, Second


@runtime_checkable
class Extractor(Protocol):
    """Turns each :class:`~scenedet.media.types.Second` into one array (the backbone's input).

    An extractor may keep state across seconds of one film (a rolling clip), so ``reset()`` is
    called before each film. ``request`` tells the decoder what to decode.
    """

    name: str
    request: MediaRequest

    def reset(self) -> None: ...

    def __call__(self, second: Second) -> np.ndarray: ...


@runtime_checkable
class Backbone(Protocol):
    """A ``torch.nn.Module`` in eval mode mapping a batch of inputs to ``(B, feature_dim)``.

    ``preprocess`` turns one extractor output into a CPU tensor (resize, crop, normalise); the
    pipeline runs it on the decoding thread, so it must not touch the GPU. ``input`` is the name
    of the extractor that feeds it; ``weights_id`` says which weights it carries (recorded in
    model files so a head is never used over different backbone weights).
    """

    name: str
    input: str
    feature_dim: int
    weights_id: str

    def preprocess(self, item: np.ndarray) -> torch.Tensor: ...

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...
