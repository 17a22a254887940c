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
from scenedet.plugin._factory import create_extractor
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
                  device_preprocess: bool = False) -> Iterator[Batch]:
    """Decode ``video`` once and yield batches of preprocessed inputs for every backbone.

    Seconds ``start_second .. stop_second - 1`` (default: all); ``damage`` and ``use_audio``
    go to :func:`scenedet.media.decode.iter_seconds`. ``device_preprocess``: image backbones
    get their stills as uint8 :class:`scenedet.inference.gpu.DeviceImages`, preprocessed where
    the model runs (see :func:`device_batches`); other backbones are preprocessed here as usual.

    Backbones that read the same extractor share one extractor instance (one still feeds both
    ResNet-18 and DenseNet). Runs on the calling thread; wrap it in :func:`prefetch`.
    """
    import torch

    from scenedet.media.decode import iter_seconds

    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    extractors = {}
    for backbone in backbones:
        if backbone.input not in extractors:
            extractors[backbone.input] = create_extractor(backbone.input)
    request = MediaRequest(frames=0, audio=False)
    for extractor in extractors.values():
        extractor.reset()
        request = request.merge(extractor.request)

    buffers: list[list[torch.Tensor]] = [[] for _ in backbones]
    start = start_second
    on_device = [False] * len(backbones)
    if device_preprocess:
        from scenedet.inference import gpu

        on_device = [gpu.uses_device_preprocess(b) for b in backbones]
    preps = [_still_tensor if dev else b.preprocess for b, dev in zip(backbones, on_device)]

    def flush() -> Batch:
        inputs = tuple(_stack_stills(buf, b.preprocess, pin_memory) if dev
                       else _stack(buf, pin_memory)
                       for buf, b, dev in zip(buffers, backbones, on_device))
        batch = Batch(start=start, size=len(buffers[0]), inputs=inputs)
        for buf in buffers:
            buf.clear()
        return batch

    for second in iter_seconds(video, request, strategy=strategy, start_second=start_second,
                               stop_second=stop_second, damage=damage, use_audio=use_audio):
        with profiling.stage("extract"):
            arrays = {name: extractor(second) for name, extractor in extractors.items()}
        with profiling.stage("preprocess"):
            for buf, prep, backbone in zip(buffers, preps, backbones):
                buf.append(prep(arrays[backbone.input]))
        if len(buffers[0]) == batch_size:
            batch = flush()
            start += batch.size
            yield batch
    if buffers and buffers[0]:
        yield flush()


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
    ``decode``: ``start_second``, ``stop_second``, ``damage``, ``use_audio`` of :func:`input_batches`.
    """
    import torch

    device = torch.device(device)
    cuda = device.type == "cuda"
    produce = lambda: input_batches(video, backbones, batch_size, strategy=strategy,  # noqa: E731
                                    pin_memory=cuda, device_preprocess=device_preprocess,
                                    **decode)
    with contextlib.closing(prefetch(produce, maxsize=2)) as batches:
        yield from _to_device(batches, device, cuda)


def _to_device(batches: Iterator[Batch], device: Any, cuda: bool
               ) -> Iterator[tuple[Batch, list[torch.Tensor]]]:
    import torch

    sync = device if cuda else None
    for batch in batches:
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
        yield batch, inputs
