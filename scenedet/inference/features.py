"""Per-second features (or raw extractor inputs) of a film, streamed to ``.npy`` files.

The writing half of the feature path: one decode pass feeds every backbone, and each output array
is written through a memory map as batches arrive, so a feature file of a long film never sits in
memory whole; files appear atomically (:class:`scenedet.files.PendingOutput`), so a crash leaves
no partial file. Where the files go and when they are reused is the feature cache's job
(:mod:`scenedet.inference.cache`, which calls this module); ``scenedet features`` goes through
:func:`scenedet.inference.extract.extract_features`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scenedet.plugin._factory import create_extractor
from scenedet.errors import UsageError
from scenedet.files import PendingOutput
from scenedet.progress import Progress


class NpyStream:
    """Writes rows into ``path`` through a memory map; the row count is known up front (probe)
    but a decoder that yields fewer rows (a truncated tail) gets the file trimmed to them."""

    def __init__(self, path: Path, n_rows: int) -> None:
        self.path = Path(path)
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
                             strategy: str = "auto") -> Iterator[list[np.ndarray]]:
    """Yield, per batch of seconds, one ``(batch, feature_dim)`` float32 array per backbone.

    One decode pass feeds every backbone; backbones must already be on ``device``.
    """
    import torch

    from scenedet.inference.stream import device_batches

    with torch.inference_mode():
        for batch, inputs in device_batches(video, backbones, batch_size, device,
                                            strategy=strategy):
            outs = [backbone(x).float().cpu().numpy() for backbone, x in zip(backbones, inputs)]
            if progress is not None:
                progress.update(batch.size)
            yield outs


def write_backbone_features(video: str | Path, backbones: Sequence[Any], outputs: Sequence[Path],
                            *, n_seconds: int, device: Any = "cpu", batch_size: int = 16,
                            progress: Progress | None = None) -> list[Path]:
    """Stream the features of several backbones (one decode pass) into one ``.npy`` each."""
    streams = [NpyStream(Path(p), n_seconds) for p in outputs]
    try:
        for outs in stream_backbone_features(video, backbones, device=device,
                                             batch_size=batch_size, progress=progress):
            for stream, block in zip(streams, outs):
                stream.write(block)
        return [stream.commit() for stream in streams]
    except BaseException:
        for stream in streams:
            stream.abort()
        raise


def write_extractor_output(video: str | Path, name: str, output: Path, *, n_seconds: int,
                           progress: Progress | None = None, **options: Any) -> Path:
    """Stream the raw per-second arrays of extractor ``name`` into ``output`` (``.npy``)."""
    from scenedet.media.decode import iter_seconds

    extractor = create_extractor(name, **options)
    extractor.reset()
    stream = NpyStream(Path(output), n_seconds)
    try:
        for second in iter_seconds(video, extractor.request):
            stream.write(np.asarray(extractor(second))[None])
            if progress is not None:
                progress.update(1)
        return stream.commit()
    except BaseException:
        stream.abort()
        raise
