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

from scenedet.plugin.registry import create_extractor
from scenedet.errors import ConfirmationNeeded, OutputError, UsageError
from scenedet.files import PendingOutput, resolve_target
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
                             strategy: str = "auto", runtime: str = "auto",
                             threads: int | None = None,
                             **decode: Any) -> Iterator[list[np.ndarray]]:
    """Yield, per batch of seconds, one ``(batch, feature_dim)`` float32 array per backbone.

    One decode pass feeds every backbone; backbones must already be on ``device``. ``decode``:
    see :func:`scenedet.inference.stream.input_batches` (a part of the film, damage, audio).
    ``runtime``: what runs the backbones on the CPU (:mod:`scenedet.runtime`: ``auto``,
    ``openvino``, ``onnxruntime``, ``torch``; each checked against torch eager within 1e-5),
    with ``threads`` threads.
    """
    import contextlib

    import torch

    from scenedet import profiling
    from scenedet.inference.model import BackboneRuntimes
    from scenedet.inference.stream import device_batches

    compiled = BackboneRuntimes(runtime, threads) if runtime != "torch" else None
    batches = device_batches(video, backbones, batch_size, device, strategy=strategy, **decode)
    with torch.inference_mode(), contextlib.closing(batches):
        for batch, inputs in batches:
            outs = []
            for i, (backbone, x) in enumerate(zip(backbones, inputs)):
                name = getattr(backbone, "name", "?")
                with profiling.stage(f"backbone:{name}", sync=x.device if x.is_cuda else None):
                    if compiled is not None and not x.is_cuda and x.dtype == torch.float32:
                        outs.append(compiled.run(i, name, backbone, x).float().numpy())
                    else:
                        outs.append(backbone(x).float().cpu().numpy())
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
    ``yes`` (nothing written). ``decode``: :func:`~scenedet.media.seconds.decode.iter_seconds` options
    (``start_second``, ``stop_second``, ``damage``, ``use_audio``) and ``decode_workers``
    (:func:`~scenedet.media.parallel.seconds.iter_seconds_parallel`; ``None``: one, on the CPU).
    """
    from scenedet.media.parallel.seconds import choose_workers, iter_seconds_parallel

    extractor = create_extractor(name, **options)
    extractor.reset()
    stream = NpyStream(Path(output), n_seconds)
    try:
        options_ = dict(decode or {})
        workers = options_.pop("decode_workers", None)
        workers = choose_workers("cpu") if workers is None else workers
        for second in iter_seconds_parallel(video, extractor.request, workers=workers,
                                            **options_):
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
        raise ConfirmationNeeded(f"{output} would be about {_size_text(total)} ({n_rows} seconds of "
                         f"{_size_text(row_bytes)}): confirm it (yes=True), "
                         f"or take a part of the film")


def _size_text(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"

