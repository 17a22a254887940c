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
from scenedet.files import check_output, output_file
from scenedet.inference.cache import FeatureCache, content_hash
from scenedet.inference.features import write_backbone_features, write_extractor_output
from scenedet.plugin.registry import create_backbone, list_backbones, list_extractors
from scenedet.progress import Progress


def is_extractor(name: str) -> bool:
    """Whether ``name`` is a registered extractor (its output is raw inputs, never cached)."""
    return name in list_extractors()


def _check_request(name: str, output: str | Path | None, *, extractor: bool, part: bool,
                   use_audio: bool) -> None:
    """Refuse what :func:`extract_features` cannot do, before the film is opened."""
    if output is not None and Path(output).suffix != ".npy":
        raise UsageError(f"output must be a .npy file: {output}")
    if not extractor and name not in list_backbones() and ":" not in name:
        known = ", ".join(list_extractors() + list_backbones())
        raise UsageError(f"unknown extractor or backbone {name!r} (available: {known})")
    if extractor and output is None:
        raise UsageError(f"{name!r} is an extractor: its output needs a .npy path "
                         f"(only backbone features are cached)")
    if part and output is None:
        raise UsageError("features of a part of a film are not cached: give an output file")
    if not use_audio and output is None:
        raise UsageError("features without the audio track are not cached: give an output file")
    if output is not None:
        check_output(output)


def extract_features(video: str | Path, name: str, output: str | Path | None = None, *,
                     weights: str = "pretrained", device: str = "cpu", batch_size: int = 16,
                     progress: bool | None = None, start: float | None = None,
                     end: float | None = None, use_audio: bool = True, yes: bool = False,
                     decode_workers: int | None = None, runtime: str = "auto",
                     threads: int | None = None, **options: Any) -> np.ndarray:
    """The per-second output of extractor or backbone ``name`` for ``video``, memory-mapped.

    Extractors give their inputs (``audio-logmel``: ``(n_seconds, 96, 64)``) and need
    ``output``. Backbones give their features ``(n_seconds, dim)`` through the feature cache:
    computed once per film, backbone, weights and options, then copied to ``output`` when one is
    given; without ``output`` the cache is filled, so that training on this film later does not
    decode it again. Raises :class:`~scenedet.errors.UsageError` for an unknown name, an output
    that is not ``.npy``, or an extractor without an output.

    ``start``/``end`` take a part of the film (whole seconds ``floor(start)`` to ``ceil(end)``,
    by seeking; row 0 is second ``floor(start)``); parts are not cached, so they need ``output``.
    ``use_audio=False`` gives the audio extractors silence. Extractor outputs over
    :data:`~scenedet.inference.features.SIZE_LIMIT` need ``yes=True``. Damaged packets are
    skipped with one warning (:mod:`scenedet.media.damage`). ``decode_workers``: decode with
    that many workers (:mod:`scenedet.media.parallel.seconds`; identical rows), ``None`` chooses.
    ``runtime``/``threads``: what runs a backbone on the CPU and with how many threads
    (:mod:`scenedet.runtime`; every runtime's features are torch eager's within 1e-5).
    """
    from scenedet.inference.model import prepare_for_inference, resolve_device
    from scenedet.inference.pipeline import check_range, second_range, set_threads
    from scenedet.media.damage import Damage
    from scenedet.media.probe import probe
    from scenedet.runtime.names import check_runtime

    check_runtime(runtime)
    extractor, part = is_extractor(name), start is not None or end is not None
    _check_request(name, output, extractor=extractor, part=part, use_audio=use_audio)
    check_range(start, end)
    info = probe(video)
    first, stop = second_range(info, start, end)
    damage = Damage()
    decode = {"start_second": first, "stop_second": stop, "damage": damage, "use_audio": use_audio,
              "decode_workers": decode_workers}
    bar = Progress(stop - first, label=f"{Path(video).name}: ", enabled=progress)
    try:
        if extractor:
            write_extractor_output(video, name, Path(output), n_seconds=stop - first,
                                   progress=bar, yes=yes, decode=decode, **options)
            damage.warn(video)
            return np.load(output, mmap_mode="r")
        dev = resolve_device(device)
        set_threads(threads)
        backbone = prepare_for_inference(create_backbone(name, weights=weights, **options), dev)
        if part or not use_audio:  # not the film's own features: straight to the output
            write_backbone_features(video, [backbone], [Path(output)], n_seconds=stop - first,
                                    device=dev, batch_size=batch_size, progress=bar,
                                    runtime=runtime, threads=threads, **decode)
            damage.warn(video)
            return np.load(output, mmap_mode="r")
        cache = FeatureCache()
        array = cache.features(video, [backbone], device=dev, batch_size=batch_size,
                               progress=bar, options=[options],
                               decode_workers=decode_workers, runtime=runtime,
                               threads=threads)[0]
    finally:
        bar.close()
    if output is None:
        return array
    cached = cache.path(content_hash(video), backbone, options)
    with open(cached, "rb") as src, output_file(output, "wb") as dst:  # a device works too
        shutil.copyfileobj(src, dst)
    return array
