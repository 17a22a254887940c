"""From a film to batches of backbone inputs, on a background thread with a bounded queue.

Decoding, extraction and preprocessing (PyAV and torch CPU ops, both release the GIL) run on a
producer thread while the caller runs the models: the two stages overlap, and the queue bound
keeps memory flat however long the film is (at most ``maxsize`` batches wait).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from scenedet import profiling
from scenedet.plugin.registry import create_extractor
from scenedet.media.types import MediaRequest

if TYPE_CHECKING:
    import torch

    from scenedet.media.damage import Damage

T = TypeVar("T")
_DONE = object()

#: Producers running now: (stop event, thread). :func:`stop_all` ends them (Ctrl-C, SIGTERM).
_ACTIVE: "weakref.WeakKeyDictionary[threading.Thread, threading.Event]" = weakref.WeakKeyDictionary()
_ACTIVE_LOCK = threading.Lock()


def stop_all(timeout: float = 10.0) -> bool:
    """Ask every decode producer to stop and wait for them; whether all stopped within ``timeout``.

    What the CLI calls on Ctrl-C and SIGTERM before the interpreter exits: a producer thread
    still inside FFmpeg when the interpreter tears down aborts the process (``terminate called
    without an active exception``). A producer stops at its next second; its generator chain is
    closed on its own thread, which closes the containers.
    """
    with _ACTIVE_LOCK:
        running = list(_ACTIVE.items())
    for _, stop in running:
        stop.set()
    from scenedet.media.parallel.seconds import stop_workers

    stop_workers()  # decode workers of one film (threads or processes) stop with them
    deadline = time.monotonic() + timeout
    for thread, _ in running:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread, _ in running)


@attrs.frozen
class Batch:
    """Consecutive seconds ``start .. start + size - 1``; ``inputs[i]`` feeds backbone ``i``."""

    start: int
    size: int
    inputs: tuple[Any, ...]


def prefetch(produce: Callable[[], Iterator[T]], maxsize: int = 2) -> Iterator[T]:
    """Iterate ``produce()`` on a daemon thread, at most ``maxsize`` items ahead.

    An exception in the producer is re-raised in the consumer; a consumer that stops early
    (``break``, an exception, Ctrl-C) stops the producer at its next item and waits for it, so
    no decoding thread outlives the iteration (close the iterator, or use it in a ``with
    contextlib.closing(...)``, to make that happen at once rather than at garbage collection).
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=max(1, maxsize))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker() -> None:
        items = produce()
        try:
            for item in items:
                if stop.is_set() or not put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            put(_Raised(exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()  # closes the decoder's containers, on this thread
        put(_DONE)

    thread = threading.Thread(target=worker, name="scenedet-decode", daemon=True)
    with _ACTIVE_LOCK:
        _ACTIVE[thread] = stop
    thread.start()
    try:
        while True:
            waited = time.perf_counter()  # "wait": the consumer blocked on the producer
            while True:
                try:
                    item = q.get(timeout=0.2)
                    break
                except queue.Empty:
                    if thread.is_alive() or not q.empty():
                        continue
                    return  # stopped from outside (stop_all) before it said it was done
            profiling.PROFILE.add("wait", time.perf_counter() - waited)
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join(timeout=10)
        with _ACTIVE_LOCK:
            _ACTIVE.pop(thread, None)


@attrs.frozen
class _Raised:
    exc: BaseException


def input_batches(video: str | Path, backbones: Sequence[Any], batch_size: int, *,
                  strategy: str = "auto", pin_memory: bool = False,
                  start_second: int = 0, stop_second: int | None = None,
                  damage: Damage | None = None, use_audio: bool = True,
                  decode_workers: int | None = None,
                  decode_worker_kind: str = "thread",
                  device_preprocess: bool = False) -> Iterator[Batch]:
    """Decode ``video`` once and yield batches of preprocessed inputs for every backbone.

    Seconds ``start_second .. stop_second - 1`` (default: all); ``damage`` and ``use_audio``
    go to :func:`scenedet.media.seconds.decode.iter_seconds`. ``decode_workers``: decode the video with
    that many workers (:mod:`scenedet.media.parallel.seconds`; same seconds, in order); ``None`` is
    :func:`scenedet.media.parallel.seconds.choose_workers` for the CPU (one: the models need the cores).
    ``decode_worker_kind``: ``"thread"`` or ``"process"``. ``device_preprocess``: image backbones
    get their stills as uint8 :class:`scenedet.inference.gpu.DeviceImages`, preprocessed where
    the model runs (see :func:`device_batches`); other backbones are preprocessed here as usual.

    Backbones that read the same extractor share one extractor instance (one still feeds both
    ResNet-18 and DenseNet). Runs on the calling thread; wrap it in :func:`prefetch`.
    """
    from scenedet.media.parallel.seconds import choose_workers, iter_seconds_parallel

    batcher = SecondBatcher(backbones, batch_size, start=start_second, pin_memory=pin_memory,
                            device_preprocess=device_preprocess)
    workers = choose_workers("cpu") if decode_workers is None else decode_workers
    if workers < 1:
        raise ValueError(f"decode workers must be at least 1, got {workers}")
    seconds = iter_seconds_parallel(video, batcher.request, workers=workers,
                                    kind=decode_worker_kind,  # type: ignore[arg-type]
                                    strategy=strategy,  # type: ignore[arg-type]
                                    start_second=start_second, stop_second=stop_second,
                                    damage=damage, use_audio=use_audio)
    for second in seconds:
        batch = batcher.add(second)
        if batch is not None:
            yield batch
    last = batcher.flush()
    if last is not None:
        yield last


class SecondBatcher:
    """Seconds in, :class:`Batch` values of preprocessed backbone inputs out (push style, so one
    decode pass can feed several scenes: :func:`scenedet.engine.passes.one_pass`).

    ``request`` is what the extractors need from the decoder. Backbones reading the same
    extractor share one instance.
    """

    def __init__(self, backbones: Sequence[Any], batch_size: int, *, start: int = 0,
                 pin_memory: bool = False, device_preprocess: bool = False) -> None:
        if batch_size < 1:
            raise ValueError("batch size must be at least 1")
        self.backbones = list(backbones)
        self.batch_size = batch_size
        self.pin_memory = pin_memory
        self.extractors: dict[str, Any] = {}
        for backbone in self.backbones:
            if backbone.input not in self.extractors:
                self.extractors[backbone.input] = create_extractor(backbone.input)
        self.request = MediaRequest(frames=0, audio=False)
        for extractor in self.extractors.values():
            extractor.reset()
            self.request = self.request.merge(extractor.request)
        self.start = start
        self.buffers: list[list[Any]] = [[] for _ in self.backbones]
        self.on_device = [False] * len(self.backbones)
        if device_preprocess:
            from scenedet.inference import gpu

            self.on_device = [gpu.uses_device_preprocess(b) for b in self.backbones]
        self.preps = [_still_tensor if dev else b.preprocess
                      for b, dev in zip(self.backbones, self.on_device)]

    def add(self, second: Any) -> Batch | None:
        """Extract and preprocess one second; a batch when ``batch_size`` are waiting."""
        with profiling.stage("extract"):
            arrays = {name: extractor(second) for name, extractor in self.extractors.items()}
        with profiling.stage("preprocess"):
            for buf, prep, backbone in zip(self.buffers, self.preps, self.backbones):
                buf.append(prep(arrays[backbone.input]))
        if self.buffers and len(self.buffers[0]) >= self.batch_size:
            return self.flush()
        return None

    def flush(self) -> Batch | None:
        """The seconds waiting, as a (short) batch; None if there are none."""
        if not self.buffers or not self.buffers[0]:
            return None
        inputs = tuple(_stack_stills(buf, b.preprocess, self.pin_memory) if dev
                       else _stack(buf, self.pin_memory)
                       for buf, b, dev in zip(self.buffers, self.backbones, self.on_device))
        batch = Batch(start=self.start, size=len(self.buffers[0]), inputs=inputs)
        for buf in self.buffers:
            buf.clear()
        self.start += batch.size
        return batch


def _still_tensor(array: Any) -> torch.Tensor:
    from scenedet.inference.gpu import still_tensor

    return still_tensor(array)


def _stack_stills(stills: list[torch.Tensor], preprocess: Any, pin_memory: bool) -> Any:
    from scenedet.inference.gpu import stack_stills

    return stack_stills(stills, preprocess, pin_memory)


def _stack(tensors: list[torch.Tensor], pin_memory: bool) -> torch.Tensor:
    import torch

    batch = torch.stack(tensors)
    return batch.pin_memory() if pin_memory else batch


def device_batches(video: str | Path, backbones: Sequence[Any], batch_size: int, device: Any, *,
                   strategy: str = "auto", device_preprocess: bool = False,
                   **decode: Any) -> Iterator[tuple[Batch, list[torch.Tensor]]]:
    """Batches decoded on the producer thread, moved to ``device`` on the caller's thread.

    On CUDA the producer pins host memory and the copies are non-blocking; 4-D inputs are made
    channels-last (the layout :func:`scenedet.inference.model.prepare_for_inference` gives the weights).
    ``device_preprocess``: resize, crop and normalise image backbones' stills on ``device``
    (:func:`scenedet.inference.gpu.preprocess_on_device`) rather than on the producer thread.
    ``decode``: ``start_second``, ``stop_second``, ``damage``, ``use_audio``,
    ``decode_workers``, ``decode_worker_kind`` of :func:`input_batches`; ``decode_workers=None``
    (the default) is :func:`scenedet.media.parallel.seconds.choose_workers` for ``device``.
    """
    import torch

    from scenedet.media.parallel.seconds import choose_workers

    device = torch.device(device)
    cuda = device.type == "cuda"
    if decode.get("decode_workers") is None:
        decode["decode_workers"] = choose_workers(device)
    produce = lambda: input_batches(video, backbones, batch_size, strategy=strategy,  # noqa: E731
                                    pin_memory=cuda, device_preprocess=device_preprocess,
                                    **decode)
    with contextlib.closing(prefetch(produce, maxsize=2)) as batches:
        yield from _to_device(batches, device, cuda)


def _to_device(batches: Iterator[Batch], device: Any, cuda: bool
               ) -> Iterator[tuple[Batch, list[torch.Tensor]]]:
    for batch in batches:
        yield batch, batch_to_device(batch, device)


def batch_to_device(batch: Batch, device: Any) -> list[torch.Tensor]:
    """A batch's inputs on ``device`` (non-blocking from pinned memory on CUDA; 4-D inputs
    channels-last)."""
    import torch

    device = torch.device(device)
    cuda = device.type == "cuda"
    sync = device if cuda else None
    inputs = []
    for x in batch.inputs:
        if isinstance(x, torch.Tensor):
            with profiling.stage("h2d", sync=sync):
                x = x.to(device, non_blocking=cuda)
        else:  # uint8 stills, preprocessed on the device (timed as h2d + preprocess there)
            from scenedet.inference.gpu import preprocess_on_device

            x = preprocess_on_device(x, device, non_blocking=cuda)
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        inputs.append(x)
    return inputs
