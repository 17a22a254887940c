"""Per-second scenes and frame-level detectors from ONE decode of a film.

``scenedet run -p kissing -p shots film.mp4`` used to decode the film twice: once per second for
the scene (:func:`scenedet.media.decode.iter_seconds`), once frame by frame for the detectors.
Here one :class:`~scenedet.media.frames.MediaStream` with a per-second tap
(:mod:`scenedet.media.secondtap`) yields the detectors' small frames and sound *and* the scene's
:class:`~scenedet.media.types.Second` items (the same pixels and audio ``iter_seconds`` gives).
On the producer thread (:func:`scenedet.inference.stream.prefetch`) the seconds are extracted and
preprocessed into batches for each scene (:class:`~scenedet.inference.stream.SecondBatcher`); on
the caller's thread the models score the batches and the detectors read the frames. Memory stays
flat: a bounded queue between the two, a few seconds of pictures in the tap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.errors import UsageError
from scenedet.media.frames import AudioChunk, FrameBatch


@attrs.frozen
class _Scored:
    """One batch of one scene's inputs (``scene``: its position in the run)."""

    scene: int
    batch: Any


def run_one_pass(video: str | Path, scenes: Sequence[str], detectors: Sequence[str], *,
                 options: Mapping[str, Mapping[str, Any]] | None = None, device: str = "cpu",
                 batch_size: int | None = None, scene_kwargs: Mapping[str, Any] | None = None,
                 progress: bool | None = None, batch_frames: int = 128
                 ) -> tuple[list[Any], list[Any]]:
    """``(scene results, detector results)`` of ``scenes`` and ``detectors`` over one decode.

    ``scene_kwargs``: what :func:`~scenedet.inference.pipeline.run_scene` takes for the whole
    film (``model``, ``aggregator``, ``min_length``, ``threshold``, ``label_threshold``,
    ``batch_size``, ``threads``, ``weights``, ``use_audio``; ``progress`` is this call's;
    ``use_audio=False`` also keeps the sound from the detectors);
    ``options``/``device``/``batch_size``: the detectors', as
    :func:`~scenedet.inference.framerun.run_detectors`.
    """
    import torch

    from scenedet.inference.framerun import build_detectors, detector_results, feed_detectors
    from scenedet.inference.pipeline import load_scene, prepare_run, scene_result
    from scenedet.inference.stream import SecondBatcher, batch_to_device, prefetch
    from scenedet.media.damage import Damage
    from scenedet.inference.gpu import (ModelRunner, check_precision, default_batch_size,
                                        resolve_precision)
    from scenedet.inference.model import resolve_device
    from scenedet.media.frames import MediaStream
    from scenedet.media.probe import probe
    from scenedet.media.types import MediaRequest
    from scenedet.progress import Progress

    kwargs = dict(scene_kwargs or {})
    kwargs.pop("progress", None)
    kwargs.pop("strategy", None)  # one pass decodes straight through
    for part in ("start", "end"):
        if kwargs.pop(part, None) is not None:
            raise UsageError("one decode for scenes and detectors covers the whole film "
                             "(no start or end)")
    use_audio = bool(kwargs.pop("use_audio", True))
    scene_device = kwargs.pop("device", device)
    scene_batch = kwargs.pop("batch_size", None)
    scene_batch = int(scene_batch) if scene_batch is not None else default_batch_size(scene_device)
    precision = kwargs.pop("precision", "fp32")
    device_preprocess = bool(kwargs.pop("device_preprocess", False))
    check_precision(precision)
    precision = resolve_precision(precision, resolve_device(scene_device))
    threads, weights = kwargs.pop("threads", None), kwargs.pop("weights", None)
    if len(scenes) > 1 and kwargs.get("model") is not None:
        raise UsageError("one model file goes with one scene; run the scenes one at a time")
    prepared = [prepare_run(name, batch_size=scene_batch, **kwargs) for name in scenes]
    built = build_detectors(detectors, options=options, device=device, batch_size=batch_size)
    info = probe(video)
    if info.n_seconds == 0:
        raise UsageError(f"{video} is shorter than one second ({info.duration:.2f} s): "
                         f"nothing to score")
    loaded = [load_scene(spec, settings, path, device=scene_device, threads=threads,
                         weights=weights) for spec, settings, path in prepared]
    cuda = any(getattr(s.device, "type", str(s.device)) == "cuda" for s in loaded)
    batchers = [SecondBatcher(list(s.model.backbones), scene_batch, pin_memory=cuda,
                              device_preprocess=device_preprocess) for s in loaded]
    runners = [ModelRunner(s.model, precision) for s in loaded]
    request = MediaRequest(frames=0, audio=False)
    for batcher in batchers:
        request = request.merge(batcher.request)
    specs = [spec for spec, _, _ in built]
    damage = Damage()
    stream = MediaStream(video, sizes=[s.size for s in specs if s.size is not None],
                         audio=use_audio and any(s.audio for s in specs),
                         batch_frames=batch_frames,
                         seconds=request, film=info, damage=damage, use_audio=use_audio)

    def produce() -> Iterator[Any]:
        for item in stream:
            if isinstance(item, (FrameBatch, AudioChunk)):
                yield item
                continue
            for i, batcher in enumerate(batchers):
                batch = batcher.add(item)
                if batch is not None:
                    yield _Scored(i, batch)
        for i, batcher in enumerate(batchers):
            batch = batcher.flush()
            if batch is not None:
                yield _Scored(i, batch)

    scores: list[list[np.ndarray]] = [[] for _ in loaded]
    bar = Progress(info.n_seconds, label=f"{Path(video).name}: ", enabled=progress)
    done = 0  # film seconds behind us, for the bar: the slowest of the scenes and the frames
    seen = [0] * len(loaded)
    frames_at = 0 if detectors else info.n_seconds
    try:
        with torch.inference_mode(), contextlib.closing(prefetch(produce, maxsize=4)) as items:
            for item in items:
                if isinstance(item, _Scored):
                    inputs = batch_to_device(item.batch, loaded[item.scene].device)
                    scores[item.scene].append(
                        runners[item.scene](inputs).cpu().numpy().astype(np.float32))
                    seen[item.scene] += item.batch.size
                else:
                    feed_detectors(built, item)
                    if isinstance(item, FrameBatch):
                        frames_at = min(info.n_seconds, int(item.times[-1]))
                now = min([frames_at, *seen])
                if now > done:
                    bar.update(now - done)
                    done = now
        if info.n_seconds > done:  # the pass is over: so is the film
            bar.update(info.n_seconds - done)
    finally:
        bar.close()
    damage.warn(video)
    stream_info = stream.info
    assert stream_info is not None
    results = [scene_result(s, video, info.duration,
                            np.concatenate(sc) if sc else np.zeros(0, np.float32),
                            damage=damage, use_audio=use_audio, precision=r.used,
                            precision_check=r.check_record())
               for s, sc, r in zip(loaded, scores, runners)]
    found = detector_results(built, video, stream_info)
    if not use_audio:  # the listening detectors heard nothing: say so, as run_detectors does
        for (spec, _, _), result in zip(built, found):
            if spec.audio:
                result.settings["use_audio"] = False
    return results, found


__all__ = ["run_one_pass"]
