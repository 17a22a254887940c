"""The feature cache: per film and backbone, per-second features computed once.

Keyed by the film's content hash (not its path: a renamed or copied film still hits), the
backbone's name, options and weights, and the preprocessing version; values are ``.npy`` files
read memory-mapped, so training on cached features neither decodes again nor loads every film
into memory. Location: ``$SCENEDET_HOME/features``.

The dependency goes one way: the cache decides *where* an array lives and *whether* it must be
computed; computing and writing it is :mod:`scenedet.inference.features`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scenedet.files import write_text
from scenedet.inference.features import write_backbone_features
from scenedet.inference.modelfile import PREPROCESSING_VERSION
from scenedet.paths import feature_cache_dir

_HASH_CHUNK = 1 << 20


def content_hash(path: str | Path) -> str:
    """BLAKE2b of the file's bytes, remembered per (path, size, mtime) in a small side index so
    a film is read for hashing once, not at every training run."""
    path = Path(path).resolve()
    stat = path.stat()
    index_path = feature_cache_dir() / "hashes.json"
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    if key in index:
        return index[key]
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    index[key] = value
    write_text(index_path, json.dumps(index))
    return value


def backbone_key(backbone: Any, options: dict[str, Any] | None = None) -> str:
    """What decides a backbone's features besides the film."""
    blob = json.dumps({"name": backbone.name, "input": backbone.input, "weights": backbone.weights_id,
                       "options": options or {}, "preprocessing": PREPROCESSING_VERSION},
                      sort_keys=True)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


class FeatureCache:
    """Where per-second arrays of films live; ``root`` defaults to ``$SCENEDET_HOME/features``.

    :meth:`path` and :meth:`inputs_path` name the files; :meth:`features` returns a film's
    features for some backbones, computing (one decode pass) and storing only the missing ones.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else feature_cache_dir()

    def path(self, film_hash: str, backbone: Any, options: dict[str, Any] | None = None) -> Path:
        """The ``.npy`` file of one backbone's features (with ``options``) of one film."""
        safe = backbone.name.replace(":", "_").replace("/", "_")
        return self.root / film_hash[:2] / film_hash / f"{safe}-{backbone_key(backbone, options)}.npy"

    def inputs_path(self, film_hash: str, extractor: str, size: int) -> Path:
        """The ``.npy`` file of one extractor's per-second inputs of one film, as fine-tuning
        keeps them (stills shrunk to a ``size``-pixel short side)."""
        return self.root / "inputs" / film_hash / f"{extractor}-{size}.npy"

    def features(self, video: str | Path, backbones: Sequence[Any], *, device: Any = "cpu",
                 batch_size: int = 16, progress: Any = None,
                 options: Sequence[dict[str, Any] | None] | None = None,
                 decode_workers: int | None = None, runtime: str = "auto",
                 threads: int | None = None) -> list[np.ndarray]:
        """Features of ``video`` for each backbone, memory-mapped; missing ones are computed in
        one decode pass for all of them and stored (``decode_workers``: see
        :func:`scenedet.inference.stream.input_batches`; ``runtime``, ``threads``: what runs
        the backbones on the CPU, :func:`~scenedet.inference.features.stream_backbone_features`)."""
        from scenedet.media.probe import probe

        film_hash = content_hash(video)
        opts = list(options) if options is not None else [None] * len(backbones)
        paths = [self.path(film_hash, bb, o) for bb, o in zip(backbones, opts)]
        missing = [i for i, p in enumerate(paths) if not p.is_file()]
        if missing:
            info = probe(video)
            write_backbone_features(video, [backbones[i] for i in missing],
                                    [paths[i] for i in missing], n_seconds=info.n_seconds,
                                    device=device, batch_size=batch_size, progress=progress,
                                    decode_workers=decode_workers, runtime=runtime,
                                    threads=threads)
        return [np.load(p, mmap_mode="r") for p in paths]
