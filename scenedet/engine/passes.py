"""The decodes a run is made of. The engine (:mod:`scenedet.engine.engine`) picks which:

* :func:`scene_pass`: one per-second scene over its own decode (:func:`scenedet.media.seconds.decode.
  iter_seconds`: seeking or sequential, parallel workers, opt-in speed-ups);
* :func:`detector_pass`: every frame-level detector over one decode of every frame, small
  (:func:`scenedet.media.parallel.frames.frame_stream`);
* :func:`one_pass`: scenes *and* detectors over that one frame decode, a per-second tap feeding
  the scenes' models (:mod:`scenedet.media.frames.secondtap`).

Each pass streams: a producer thread decodes into a bounded queue, the caller's thread runs the
networks and the detectors, and only per-second scores and the detectors' own state are kept.
Code that plugins supply (a detector's factory, ``add_frames``, ``add_audio``, ``finish``) runs
inside :func:`scenedet.engine.guard.plugin_code`, so that its failure is one line naming it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet import profiling
from scenedet.engine.guard import plugin_code
from scenedet.engine.settings import RunSettings
from scenedet.errors import UsageError
from scenedet.media.frames.stream import AudioChunk, FrameBatch


@attrs.frozen
class BuiltDetector:
    """A detector built for one film: its plan entry and the instance (it keeps state)."""

    name: str
    spec: Any
    detector: Any
    options: dict[str, Any]


def build_detectors(planned: Sequence[Any], settings: RunSettings) -> list[BuiltDetector]:
    """A fresh instance of each planned detector (they keep per-film state)."""
    from scenedet.plugin.registry import create_detector

    built = []
    for item in planned:
        offers: dict[str, Any] = {"device": settings.device, "runtime": settings.runtime,
                                  "precision": settings.precision}
        for name in ("batch_size", "threads"):
            if getattr(settings, name) is not None:
                offers[name] = getattr(settings, name)
        options = {**offers, **item.options}
        with plugin_code(item.name, "factory"):
            detector = create_detector(item.spec.name, **options)
        built.append(BuiltDetector(item.name, item.spec, detector, options))
    return built


def feed(built: Sequence[BuiltDetector], item: Any) -> None:
    """Hand one item of the frame stream to the detectors that asked for its kind, each timed
    as its own profiling stage (``detector:NAME``: its share of the run, its network included)."""
    if isinstance(item, FrameBatch):
        for one in built:
            if one.spec.size is not None:
                with plugin_code(one.name, "add_frames()"), profiling.stage(f"detector:{one.name}"):
                    one.detector.add_frames(item)
    elif isinstance(item, AudioChunk):
        for one in built:
            if one.spec.audio:
                with plugin_code(one.name, "add_audio()"), profiling.stage(f"detector:{one.name}"):
                    one.detector.add_audio(item)


def finish(built: Sequence[BuiltDetector], video: str | Path, info: Any,
           settings: RunSettings, damage: Any = None) -> list[Any]:
    """Each detector's :class:`~scenedet.inference.framerun.FrameResult` once the pass is over."""
    from scenedet.inference.framerun import frame_result

    results = []
    for one in built:
        with plugin_code(one.name, "finish()"), profiling.stage(f"detector:{one.name}"):
            segments = list(one.detector.finish(info))
            extra = dict(getattr(one.detector, "settings", {}) or {})
            scores = getattr(one.detector, "scores", None)
        recorded = {k: v for k, v in one.options.items() if k != "device"}
        recorded.update(extra)
        if one.spec.audio and not settings.use_audio:
            recorded["use_audio"] = False
        results.append(frame_result(one.spec.name, video, info, segments, recorded,
                                    damage=damage, scores=scores))
    return results


def detector_pass(video: str | Path, built: Sequence[BuiltDetector], settings: RunSettings, *,
                  workers: int) -> list[Any]:
    """Every detector of ``built`` over one decode of ``video`` (a part of it, as settings say).
    Damaged packets are skipped and counted, as on the per-second path: in each result's
    ``damage`` and one :class:`~scenedet.media.damage.DamagedMediaWarning`."""
    from scenedet.inference.stream import prefetch
    from scenedet.media.damage import Damage
    from scenedet.media.parallel.frames import frame_stream
    from scenedet.progress import Progress

    damage = Damage()
    specs = [b.spec for b in built]
    sizes = [s.size for s in specs if s.size is not None]
    if not settings.use_audio and not sizes:
        names = ", ".join(b.name for b in built)
        raise UsageError(f"{names} only listen{'s' if len(built) == 1 else ''}: with the "
                         "film's audio ignored there is nothing to detect")
    stream = frame_stream(video, sizes=sizes, audio=settings.use_audio and any(s.audio for s in specs),
                          batch_frames=settings.batch_frames, start=settings.start,
                          end=settings.end, decode_workers=workers,
                          decode_worker_kind=settings.decode_worker_kind, damage=damage)
    bar = Progress(0, label=f"{Path(video).name}: ", enabled=settings.progress)
    if bar.enabled:
        film = film_seconds(video)
        end = int(settings.end) if settings.end is not None else film
        bar.total = max(0, min(film, end) - int(settings.start or 0))
    done = 0
    # closing: plugin code raising mid-pass (or Ctrl-C) stops and joins the decoding at once,
    # not whenever the iterator is collected
    try:
        with contextlib.closing(prefetch(lambda: iter(stream), maxsize=4)) as items:
            for item in items:
                feed(built, item)
                now = int(item.times[-1] if isinstance(item, FrameBatch)
                          else item.start + len(item.samples) / item.rate)
                if bar.enabled and now > done:
                    bar.update(now - done)
                    done = now
        if bar.enabled and bar.total > done:  # the pass is over: so is the film
            bar.update(bar.total - done)
    finally:
        bar.close()
    damage.warn(video)
    assert stream.info is not None
    return finish(built, video, stream.info, settings, damage=damage)


def scene_pass(loaded: Any, video: str | Path, info: Any, settings: RunSettings, *,
               precision: str, speedup: str) -> Any:
    """One per-second scene's :class:`~scenedet.inference.pipeline.SceneResult` over its own
    decode of ``video`` (``info``: the film's probe), the part of the film settings name."""
    from scenedet.inference.pipeline import scene_result, score_film, second_range
    from scenedet.inference.sequence import streamed
    from scenedet.media.damage import Damage
    from scenedet.progress import Progress

    first, stop = second_range(info, settings.start, settings.end)
    damage = Damage()
    used: dict[str, Any] = {}
    bar = Progress(stop - first, label=f"{Path(video).name}: ", enabled=settings.progress)
    try:
        with plugin_code(loaded.spec.name, "model", ours=_ours_in_scene), \
                streamed(loaded.model, precision=precision, speedup=speedup) as stream:
            scores = score_film(loaded.model, video, device=loaded.device,
                                batch_size=settings.batch_size, progress=bar,
                                strategy=settings.strategy, start_second=first, stop_second=stop,
                                damage=damage, use_audio=settings.use_audio,
                                decode_workers=settings.decode_workers, speedup=speedup,
                                precision=precision, device_preprocess=settings.device_preprocess,
                                info=used)
            if stream is not None:  # a sequence head: its streamed scores, not the placeholders
                scores = stream.finish()
    finally:
        bar.close()
    damage.warn(video)
    with profiling.stage("segment"):
        return scene_result(loaded, video, info.duration, scores, first=first, damage=damage,
                            use_audio=settings.use_audio, speedup=speedup,
                            precision=used.get("precision", "fp32"),
                            precision_check=used.get("precision_check"))


@attrs.frozen
class _Scored:
    """One batch of one scene's inputs (``scene``: its position in the run)."""

    scene: int
    batch: Any


def one_pass(video: str | Path, loaded: Sequence[Any], built: Sequence[BuiltDetector],
             info: Any, settings: RunSettings, *, precision: str) -> tuple[list[Any], list[Any]]:
    """``(scene results, detector results)`` over one decode of the whole film.

    One :class:`~scenedet.media.frames.stream.MediaStream` with a per-second tap yields the detectors'
    frames and sound and the scenes' seconds (the pixels and audio ``iter_seconds`` gives); the
    seconds are batched per scene on the producer thread, scored on the caller's.
    """
    import torch

    from scenedet.inference.gpu import default_batch_size, make_runner
    from scenedet.inference.pipeline import scene_result
    from scenedet.inference.sequence import streamed
    from scenedet.inference.stream import SecondBatcher, batch_to_device, prefetch
    from scenedet.media.damage import Damage
    from scenedet.media.frames.stream import MediaStream
    from scenedet.media.types import MediaRequest
    from scenedet.progress import Progress

    batch = settings.batch_size or default_batch_size(loaded[0].device)
    cuda = any(getattr(s.device, "type", str(s.device)) == "cuda" for s in loaded)
    batchers = [SecondBatcher(list(s.model.backbones), batch, pin_memory=cuda,
                              device_preprocess=settings.device_preprocess) for s in loaded]
    runners = [make_runner(s.model, precision, s.device) for s in loaded]
    request = MediaRequest(frames=0, audio=False)
    for batcher in batchers:
        request = request.merge(batcher.request)
    specs = [b.spec for b in built]
    damage = Damage()
    stream = MediaStream(video, sizes=[s.size for s in specs if s.size is not None],
                         audio=settings.use_audio and any(s.audio for s in specs),
                         batch_frames=settings.batch_frames, seconds=request, film=info,
                         damage=damage, use_audio=settings.use_audio)

    scores: list[list[np.ndarray]] = [[] for _ in loaded]
    bar = Progress(info.n_seconds, label=f"{Path(video).name}: ", enabled=settings.progress)
    done, seen, frames_at = 0, [0] * len(loaded), 0
    try:
        with torch.inference_mode(), contextlib.ExitStack() as heads, contextlib.closing(
                prefetch(lambda: _tapped(stream, batchers), maxsize=4)) as items:
            streams = [heads.enter_context(streamed(s.model, precision=precision))
                       for s in loaded]
            for item in items:
                if isinstance(item, _Scored):
                    scene = loaded[item.scene]
                    with plugin_code(scene.spec.name, "model", ours=_ours_in_scene):
                        out = runners[item.scene](batch_to_device(item.batch, scene.device))
                    scores[item.scene].append(out.cpu().numpy().astype(np.float32))
                    seen[item.scene] += item.batch.size
                else:
                    feed(built, item)
                    if isinstance(item, FrameBatch):
                        frames_at = min(info.n_seconds, int(item.times[-1]))
                now = min([frames_at, *seen])
                if now > done:
                    bar.update(now - done)
                    done = now
            for i, scorer in enumerate(streams):  # sequence heads: their streamed scores
                if scorer is not None:
                    scores[i] = [scorer.finish()]
        if info.n_seconds > done:  # the pass is over: so is the film
            bar.update(info.n_seconds - done)
    finally:
        bar.close()
    damage.warn(video)
    assert stream.info is not None
    with profiling.stage("segment"):
        results = [scene_result(s, video, info.duration,
                                np.concatenate(sc) if sc else np.zeros(0, np.float32),
                                damage=damage, use_audio=settings.use_audio, precision=r.used,
                                precision_check=r.check_record())
                   for s, sc, r in zip(loaded, scores, runners)]
    return results, finish(built, video, stream.info, settings, damage=damage)


def _tapped(stream: Any, batchers: Sequence[Any]) -> Iterator[Any]:
    """The one pass's items on the producer thread: the detectors' frames and sound as they
    come, and each scene's batches of seconds (:class:`_Scored`) as they fill."""
    for item in stream:
        if isinstance(item, (FrameBatch, AudioChunk)):
            yield item
            continue
        for i, batcher in enumerate(batchers):
            ready = batcher.add(item)
            if ready is not None:
                yield _Scored(i, ready)
    for i, batcher in enumerate(batchers):
        ready = batcher.flush()
        if ready is not None:
            yield _Scored(i, ready)


def film_seconds(video: str | Path) -> int:
    """Whole seconds of ``video`` for a progress bar (0 when it cannot be told cheaply)."""
    from scenedet.errors import ScenedetError
    from scenedet.media.probe import probe

    try:
        return probe(video).n_seconds
    except ScenedetError:
        pass
    try:
        import soundfile as sf

        return int(sf.info(str(video)).duration)
    except Exception:  # noqa: BLE001  (a bar without a total is fine)
        return 0


def _ours_in_scene(exc: BaseException) -> bool:
    """Errors of a scene's run that are the core's or the machine's, not the plugin's code:
    decoding (PyAV) and memory. Those keep their own handling."""
    import av

    return isinstance(exc, (av.FFmpegError, MemoryError)) or "out of memory" in str(exc)


__all__ = ["BuiltDetector", "build_detectors", "detector_pass", "feed", "film_seconds", "finish",
           "one_pass", "scene_pass"]
