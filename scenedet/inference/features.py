"""Per-second features (or raw extractor inputs) of a film, streamed to ``.npy`` files.

What ``scenedet features`` and training call. Output arrays are written through a memory map as
batches arrive, so a feature file of a long film never sits in memory whole; files appear
atomically (written under a temporary name, then renamed), so a crash leaves no partial file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scenedet.plugin._factory import create_backbone, create_extractor, list_backbones, list_extractors
from scenedet.errors import UsageError
from scenedet.errors import OutputError
from scenedet.files import PendingOutput, check_output, output_file, resolve_target
from scenedet.progress import Progress


class NpyStream:
    """Writes rows into ``path`` through a memory map; the row count is known up front (probe)
    but a decoder that yields fewer rows (a truncated tail) gets the file trimmed to them."""

    def __init__(self, path: Path, n_rows: int) -> None:
        self.path = Path(path)
        if resolve_target(self.path)[1]:
            raise OutputError(f"cannot write {self.path}: not a regular file (a .npy array is "
                              f"filled through a memory map; write it to a file, then copy it)")
        self.pending = PendingOutput(self.path, suffix=".npy")
        self.tmp = self.pending.tmp
        self.n_rows = n_rows
        self.rows = 0
        self.array: np.memmap | None = None

    def write(self, block: np.ndarray) -> None:
        if self.array is None:
            self.array = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=block.dtype,
                                                   shape=(self.n_rows, *block.shape[1:]))
        end = self.rows + len(block)
        if end > self.n_rows:
            raise RuntimeError(f"decoder produced more seconds than the film has ({end} > {self.n_rows})")
        self.array[self.rows:end] = block
        self.rows = end

    def commit(self) -> Path:
        if self.array is None:
            raise UsageError(f"nothing to write for {self.path}: the film has no whole second")
        self.array.flush()
        if self.rows < self.n_rows:
            trimmed = np.asarray(self.array[: self.rows])
            del self.array
            np.save(self.tmp, trimmed)
        else:
            del self.array
        return self.pending.commit()

    def abort(self) -> None:
        self.array = None
        self.pending.abort()


def stream_backbone_features(video: str | Path, backbones: Sequence[Any], *, device: Any = "cpu",
                             batch_size: int = 16, progress: Progress | None = None,
                             strategy: str = "auto", **decode: Any) -> Iterator[list[np.ndarray]]:
    """Yield, per batch of seconds, one ``(batch, feature_dim)`` float32 array per backbone.

    One decode pass feeds every backbone; backbones must already be on ``device``. ``decode``:
    see :func:`scenedet.inference.stream.input_batches` (a part of the film, damage, audio).
    """
    import contextlib

    import torch

    from scenedet.inference.stream import device_batches

    batches = device_batches(video, backbones, batch_size, device, strategy=strategy, **decode)
    with torch.inference_mode(), contextlib.closing(batches):
        for batch, inputs in batches:
            outs = [backbone(x).float().cpu().numpy() for backbone, x in zip(backbones, inputs)]
            if progress is not None:
                progress.update(batch.size)
            yield outs


def write_backbone_features(video: str | Path, backbones: Sequence[Any], outputs: Sequence[Path],
                            *, n_seconds: int, device: Any = "cpu", batch_size: int = 16,
                            progress: Progress | None = None, **decode: Any) -> list[Path]:
    """Stream the features of several backbones (one decode pass) into one ``.npy`` each.

    ``n_seconds``: the rows to expect (the seconds decoded, see ``decode``).
    """
    streams = [NpyStream(Path(p), n_seconds) for p in outputs]
    try:
        for outs in stream_backbone_features(video, backbones, device=device,
                                             batch_size=batch_size, progress=progress, **decode):
            for stream, block in zip(streams, outs):
                stream.write(block)
        return [stream.commit() for stream in streams]
    except BaseException:
        for stream in streams:
            stream.abort()
        raise


#: Largest output (bytes) written without ``yes=True`` (``--yes``): raw clips of a long film
#: (``stills16``) run to hundreds of gigabytes.
SIZE_LIMIT = 2 * 1024**3


def write_extractor_output(video: str | Path, name: str, output: Path, *, n_seconds: int,
                           progress: Progress | None = None, yes: bool = False,
                           decode: dict[str, Any] | None = None, **options: Any) -> Path:
    """Stream the raw per-second arrays of extractor ``name`` into ``output`` (``.npy``).

    The size is estimated from the first second: above :data:`SIZE_LIMIT` it is refused unless
    ``yes`` (nothing written). ``decode``: :func:`~scenedet.media.decode.iter_seconds` options
    (``start_second``, ``stop_second``, ``damage``, ``use_audio``).
    """
    from scenedet.media.decode import iter_seconds

    extractor = create_extractor(name, **options)
    extractor.reset()
    stream = NpyStream(Path(output), n_seconds)
    try:
        for second in iter_seconds(video, extractor.request, **(decode or {})):
            row = np.asarray(extractor(second))[None]
            if stream.array is None and not yes:
                check_size(output, row.nbytes, n_seconds)
            stream.write(row)
            if progress is not None:
                progress.update(1)
        return stream.commit()
    except BaseException:
        stream.abort()
        raise


def check_size(output: str | Path, row_bytes: int, n_rows: int, limit: int | None = None) -> None:
    """Refuse an output larger than ``limit`` (default :data:`SIZE_LIMIT`) unless confirmed: one
    line that says how large."""
    total = row_bytes * n_rows
    if total > (SIZE_LIMIT if limit is None else limit):
        raise UsageError(f"{output} would be about {_size_text(total)} ({n_rows} seconds of "
                         f"{_size_text(row_bytes)}): confirm with yes=True (scenedet: --yes), "
                         f"or take a part of the film")


def _size_text(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def extract_features(video: str | Path, name: str, output: str | Path | None = None, *,
                     weights: str = "pretrained", device: str = "cpu", batch_size: int = 16,
                     progress: bool | None = None, start: float | None = None,
                     end: float | None = None, use_audio: bool = True, yes: bool = False,
                     **options: Any) -> np.ndarray:
    """The per-second output of extractor or backbone ``name`` for ``video``, memory-mapped.

    Extractors give their inputs (``audio-logmel``: ``(n_seconds, 96, 64)``) and need
    ``output``. Backbones give their features ``(n_seconds, dim)`` through the feature cache
    (:mod:`scenedet.inference.cache`): computed once per film, backbone, weights and options, then copied
    to ``output`` when one is given; without ``output`` the cache is filled, so that training on
    this film later does not decode it again.

    ``start``/``end`` take a part of the film (whole seconds ``floor(start)`` to ``ceil(end)``,
    by seeking; row 0 is second ``floor(start)``); parts are not cached, so they need ``output``.
    ``use_audio=False`` gives the audio extractors silence. Outputs over :data:`SIZE_LIMIT`
    need ``yes=True``. Damaged packets are skipped with one warning.
    """
    from scenedet.inference.cache import FeatureCache, content_hash
    from scenedet.media.probe import probe
    from scenedet.inference.model import prepare_for_inference, resolve_device

    if output is not None and Path(output).suffix != ".npy":
        raise UsageError(f"output must be a .npy file: {output}")
    from scenedet.inference.pipeline import check_range, second_range
    from scenedet.media.damage import Damage

    is_extractor = name in list_extractors()
    if not is_extractor and name not in list_backbones() and ":" not in name:
        known = ", ".join(list_extractors() + list_backbones())
        raise UsageError(f"unknown extractor or backbone {name!r} (available: {known})")
    if is_extractor and output is None:
        raise UsageError(f"{name!r} is an extractor: give -o OUT.npy (only backbone features are cached)")
    part = start is not None or end is not None
    if part and output is None:
        raise UsageError("features of a part of a film are not cached: give an output file")
    if not use_audio and output is None:
        raise UsageError("features without the audio track are not cached: give an output file")
    if output is not None:
        check_output(output)
    check_range(start, end)
    info = probe(video)
    first, stop = second_range(info, start, end)
    damage = Damage()
    decode = {"start_second": first, "stop_second": stop, "damage": damage, "use_audio": use_audio}
    bar = Progress(stop - first, label=f"{Path(video).name}: ", enabled=progress)
    try:
        if is_extractor:
            write_extractor_output(video, name, Path(output), n_seconds=stop - first,
                                   progress=bar, yes=yes, decode=decode, **options)
            damage.warn(video)
            return np.load(output, mmap_mode="r")
        dev = resolve_device(device)
        backbone = prepare_for_inference(create_backbone(name, weights=weights, **options), dev)
        if part or not use_audio:  # not the film's own features: straight to the output
            write_backbone_features(video, [backbone], [Path(output)], n_seconds=stop - first,
                                    device=dev, batch_size=batch_size, progress=bar, **decode)
            damage.warn(video)
            return np.load(output, mmap_mode="r")
        cache = FeatureCache()
        array = cache.features(video, [backbone], device=dev, batch_size=batch_size,
                               progress=bar, options=[options])[0]
    finally:
        bar.close()
    if output is None:
        return array
    cached = cache.path(content_hash(video), backbone, options)
    with open(cached, "rb") as src, output_file(output, "wb") as dst:  # a device works too
        shutil.copyfileobj(src, dst)
    return array
