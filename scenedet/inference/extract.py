"""The per-second output of any extractor or backbone for one film: what ``scenedet features`` does.

It sits above the two modules it joins: extractors' raw inputs are streamed straight to the
output (:mod:`scenedet.inference.features`); backbone features go through the feature cache
(:mod:`scenedet.inference.cache`), so a film is decoded for a backbone once, whether the features
are asked for here or by training.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from scenedet.errors import UsageError
from scenedet.files import write_with
from scenedet.inference.cache import FeatureCache, content_hash
from scenedet.inference.features import write_extractor_output
from scenedet.plugin._factory import create_backbone, list_backbones, list_extractors
from scenedet.progress import Progress


def is_extractor(name: str) -> bool:
    """Whether ``name`` is a registered extractor (its output is raw inputs, never cached)."""
    return name in list_extractors()


def extract_features(video: str | Path, name: str, output: str | Path | None = None, *,
                     weights: str = "pretrained", device: str = "cpu", batch_size: int = 16,
                     progress: bool | None = None, **options: Any) -> np.ndarray:
    """The per-second output of extractor or backbone ``name`` for ``video``, memory-mapped.

    Extractors give their inputs (``audio-logmel``: ``(n_seconds, 96, 64)``) and need
    ``output``. Backbones give their features ``(n_seconds, dim)`` through the feature cache:
    computed once per film, backbone, weights and options, then copied to ``output`` when one is
    given; without ``output`` the cache is filled, so that training on this film later does not
    decode it again. Raises :class:`~scenedet.errors.UsageError` for an unknown name, an output
    that is not ``.npy``, or an extractor without an output.
    """
    from scenedet.inference.model import prepare_for_inference, resolve_device
    from scenedet.media.probe import probe

    if output is not None and Path(output).suffix != ".npy":
        raise UsageError(f"output must be a .npy file: {output}")
    extractor = is_extractor(name)
    if not extractor and name not in list_backbones() and ":" not in name:
        known = ", ".join(list_extractors() + list_backbones())
        raise UsageError(f"unknown extractor or backbone {name!r} (available: {known})")
    if extractor and output is None:
        raise UsageError(f"{name!r} is an extractor: its output needs a .npy path "
                         f"(only backbone features are cached)")
    info = probe(video)
    bar = Progress(info.n_seconds, label=f"{Path(video).name}: ", enabled=progress)
    try:
        if extractor:
            write_extractor_output(video, name, Path(output), n_seconds=info.n_seconds,
                                   progress=bar, **options)
            return np.load(output, mmap_mode="r")
        dev = resolve_device(device)
        backbone = prepare_for_inference(create_backbone(name, weights=weights, **options), dev)
        cache = FeatureCache()
        array = cache.features(video, [backbone], device=dev, batch_size=batch_size,
                               progress=bar, options=[options])[0]
    finally:
        bar.close()
    if output is None:
        return array
    cached = cache.path(content_hash(video), backbone, options)
    write_with(output, lambda tmp: shutil.copyfile(cached, tmp))
    return np.load(output, mmap_mode="r")
