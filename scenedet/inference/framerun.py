"""Frame-level runs: one decode of a film feeds every frame-level detector asked for.

``scenedet run --plugin shots --plugin cues film.mp4`` lands here: the detectors' declared frame
sizes (and whether any wants sound) make one :class:`~scenedet.media.frames.MediaStream`, decoded
on a producer thread (:func:`scenedet.inference.stream.prefetch`) while the detectors work on the
caller's thread. Each detector gets a :class:`FrameResult`. :func:`run_plugins` is the front door
for a mix of per-second scenes (:func:`scenedet.inference.pipeline.run_scene`) and detectors, and
snaps the scenes' boundaries to the cuts of a shot detector when asked
(:func:`scenedet.segmentation.snap.snap_segments`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from scenedet.errors import UsageError
from scenedet.media.frames import AudioChunk, FrameBatch, FrameSegment, StreamInfo


@attrs.frozen
class FrameResult:
    """One detector's outcome on one film; ``to_dict()`` is the JSON ``scenedet run`` writes.

    ``segments`` are half-open ``[start, end)`` in seconds and in frames. For a shot detector the
    segments are the shots, so ``cuts`` (the first frame of every shot but the first, with the
    confidence of the cut) follow from them.

    A run over a part of the film (``run_detectors(start=, end=)``) reports film time: seconds and
    frame numbers count from the film's start. ``start``/``first_frame`` are then the part's
    first frame, ``duration`` where the part ends and ``n_frames`` the frames decoded in it; the
    first segment of a shot detector starts where the part does (no cut opens it).
    """

    video: str
    scene: str
    duration: float
    fps: float
    n_frames: int
    segments: list[FrameSegment]
    settings: dict[str, Any] = attrs.Factory(dict)
    start: float = 0.0
    first_frame: int = 0

    @property
    def cuts(self) -> list[FrameSegment]:
        """The shot boundaries: each segment's start except the film's first frame."""
        return [s for s in self.segments if s.start_frame not in (None, self.first_frame)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "scene": self.scene,
            "time_grid": "frame",
            "duration": round(float(self.duration), 6),
            "fps": round(float(self.fps), 6),
            "n_frames": self.n_frames,
            "segments": [s.to_dict() for s in self.segments],
            "cuts": [{"frame": s.start_frame, "time": round(s.start, 6), "score": s.score}
                     for s in self.cuts],
            "settings": self.settings,
            **({"start": round(float(self.start), 6), "first_frame": self.first_frame}
               if self.start or self.first_frame else {}),
        }


def run_detectors(video: str | Path, detectors: Sequence[str], *,
                  options: Mapping[str, Mapping[str, Any]] | None = None, device: str = "cpu",
                  batch_size: int | None = None, batch_frames: int = 128,
                  progress: bool | None = None, start: float | None = None,
                  end: float | None = None, use_audio: bool = True,
                  decode_workers: int | None = None,
                  decode_worker_kind: str = "thread") -> list[FrameResult]:
    """Run the frame-level ``detectors`` (registered names) over ``video`` in ONE decode.

    ``options`` maps a detector name to keyword options for its factory (``{"shots":
    {"threshold": 0.4}}``). ``device``/``batch_size`` are offered to every factory that takes them.
    ``progress``: a bar of film seconds on stderr (``None``: when stderr is a terminal).

    ``start``/``end`` (seconds of film time): decode only that part, from the keyframe at or
    before ``start`` (see :class:`FrameResult` for how its results are reported). The detectors
    see the part as a film of its own, so whatever looks across frames (a shot detector's
    neighbourhood, a minimum duration) starts afresh at ``start``: a cut in the part's first
    frames may differ from a whole run's. ``use_audio=False``: the detectors that listen get no
    sound, as for a film without any (recorded as ``settings["use_audio"] = False``); a run of
    listening detectors only is then refused, having nothing to decode.

    ``decode_workers``: decode the whole film's video with that many workers, the same frames
    (:mod:`scenedet.media.parallel_frames`; ``None``: ``choose_workers(device)``, one on the
    CPU). A part of the film is decoded by one.
    """
    from scenedet.inference.stream import prefetch
    from scenedet.media.framepart import check_part
    from scenedet.media.parallel_frames import frame_stream
    from scenedet.progress import Progress

    check_part(start, end)  # before any detector (a network's weights) is built
    workers = _workers(decode_workers, device)
    built = build_detectors(detectors, options=options, device=device, batch_size=batch_size)
    specs = [spec for spec, _, _ in built]
    sizes = [s.size for s in specs if s.size is not None]
    if not use_audio and not sizes:
        raise UsageError(f"{', '.join(detectors)} only listen{'s' if len(detectors) == 1 else ''}"
                         ": with the film's audio ignored there is nothing to detect")
    stream = frame_stream(video, sizes=sizes, audio=use_audio and any(s.audio for s in specs),
                          batch_frames=batch_frames, start=start, end=end,
                          decode_workers=workers,
                          decode_worker_kind=decode_worker_kind)
    bar = Progress(0, label=f"{Path(video).name}: ", enabled=progress)
    if bar.enabled:
        film = _film_seconds(video)
        bar.total = max(0, min(film, int(end) if end is not None else film) - int(start or 0))
    done = 0
    try:
        for item in prefetch(lambda: iter(stream), maxsize=4):
            feed_detectors(built, item)
            now = int(item.times[-1] if isinstance(item, FrameBatch)
                      else item.start + len(item.samples) / item.rate)
            if bar.enabled and now > done:
                bar.update(now - done)
                done = now
        if bar.enabled and bar.total > done:  # the pass is over: so is the film
            bar.update(bar.total - done)
    finally:
        bar.close()
    info = stream.info
    assert info is not None
    results = detector_results(built, video, info)
    if not use_audio:
        for (spec, _, _), result in zip(built, results):
            if spec.audio:
                result.settings["use_audio"] = False
    return results


def build_detectors(detectors: Sequence[str], *,
                    options: Mapping[str, Mapping[str, Any]] | None = None, device: str = "cpu",
                    batch_size: int | None = None) -> list[tuple[Any, Any, dict[str, Any]]]:
    """``(spec, detector, options)`` for each name, checked and built (before any decoding)."""
    from scenedet.plugin._factory import create_detector, get_detector_spec

    if not detectors:
        raise UsageError("no detector to run")
    options = dict(options or {})
    specs = [get_detector_spec(name) for name in detectors]
    if len({s.name for s in specs}) != len(specs):
        raise UsageError(f"a detector is named twice: {', '.join(detectors)}")
    unknown = set(options) - set(detectors) - {s.name for s in specs}
    if unknown:
        raise UsageError(f"options for a detector that is not run: {sorted(unknown)[0]!r}")
    built = []
    for name, spec in zip(detectors, specs):
        extra: dict[str, Any] = {"device": device}
        if batch_size is not None:
            extra["batch_size"] = batch_size
        opts = {**extra, **dict(options.get(name, options.get(spec.name, {})))}
        built.append((spec, create_detector(spec.name, **opts), opts))
    return built


def feed_detectors(built: Sequence[tuple[Any, Any, Any]], item: Any) -> None:
    """Hand one item of a :class:`MediaStream` to the detectors that asked for its kind."""
    if isinstance(item, FrameBatch):
        for spec, detector, _ in built:
            if spec.size is not None:
                detector.add_frames(item)
    elif isinstance(item, AudioChunk):
        for spec, detector, _ in built:
            if spec.audio:
                detector.add_audio(item)


def detector_results(built: Sequence[tuple[Any, Any, dict[str, Any]]], video: str | Path,
                     info: StreamInfo) -> list[FrameResult]:
    """Each detector's :class:`FrameResult` once the pass is over (a part's moved to film time:
    the detectors counted from the part's first frame)."""
    results = []
    for spec, detector, opts in built:
        segments = [_moved(s, info.start, info.first_frame) for s in detector.finish(info)]
        settings = {k: v for k, v in opts.items() if k != "device"}
        settings.update(getattr(detector, "settings", {}) or {})
        results.append(FrameResult(video=str(video), scene=spec.name,
                                   duration=info.start + info.duration, fps=info.fps,
                                   n_frames=info.n_frames, segments=segments,
                                   settings=_jsonable(settings), start=info.start,
                                   first_frame=info.first_frame))
    return results


def _moved(segment: FrameSegment, seconds: float, frames: int) -> FrameSegment:
    """``segment`` of a part, in film time (``seconds`` and ``frames``: where the part starts)."""
    if not seconds and not frames:
        return segment
    return attrs.evolve(segment, start=segment.start + seconds, end=segment.end + seconds,
                        start_frame=None if segment.start_frame is None else segment.start_frame + frames,
                        end_frame=None if segment.end_frame is None else segment.end_frame + frames)


def _workers(decode_workers: int | None, device: str) -> int:
    """``decode_workers``, checked; ``None``: the default for ``device``."""
    from scenedet.media.parallel import choose_workers

    if decode_workers is None:
        return choose_workers(device)
    if decode_workers < 1:
        raise UsageError(f"decode workers must be at least 1, got {decode_workers}")
    return int(decode_workers)


def _film_seconds(video: str | Path) -> int:
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


def run_plugins(video: str | Path, plugins: Sequence[str], *,
                options: Mapping[str, Mapping[str, Any]] | None = None,
                snap_to: str | None = None, snap_tolerance: float = 2.0,
                scene_kwargs: Mapping[str, Any] | None = None, device: str = "cpu",
                batch_size: int | None = None, progress: bool | None = None,
                one_decode: bool = True, start: float | None = None, end: float | None = None,
                use_audio: bool = True, decode_workers: int | None = None) -> list[Any]:
    """Run scenes and detectors by name on one film: one result per name, in the order given.

    Frame-level detectors share one decode. With per-second scenes as well, that same decode
    feeds the scenes' models too (:func:`scenedet.inference.onepass.run_one_pass`; ``one_decode
    =False``: each scene decodes on its own, :func:`~scenedet.inference.pipeline.run_scene`);
    ``scene_kwargs`` are ``run_scene``'s. ``snap_to`` names a detector among ``plugins`` (or
    adds it) whose cuts every per-second scene's boundaries move to, when one lies within
    ``snap_tolerance`` seconds: after that pass, no decode of its own. ``progress``: a bar on
    stderr (``None``: when stderr is a terminal).

    ``start``/``end`` (film seconds): a part of the film for every plugin, results in film time
    (the scenes' as ``run_scene(start=, end=)``, the detectors' as :func:`run_detectors`). The
    one decode covers whole films only: on a part, the scenes and the detectors each decode just
    that part. ``use_audio=False``: the scenes' audio models hear silence and the listening
    detectors get no sound (both recorded in their settings). ``decode_workers``: decode with
    that many workers (``None``: ``choose_workers(device)``); more than one with scenes *and*
    detectors gives each its own parallel decode (the per-second tap of the one decode is
    sequential).
    """
    from scenedet.media.framepart import check_part
    from scenedet.plugin._factory import get_detector_spec, is_detector

    check_part(start, end)
    names = list(dict.fromkeys(plugins))
    detector_names = [n for n in names if is_detector(n)]
    if snap_to is not None:
        if not is_detector(snap_to):
            raise UsageError(f"cannot snap to {snap_to!r}: not a frame-level detector")
        if get_detector_spec(snap_to).name not in {get_detector_spec(n).name for n in detector_names}:
            detector_names.append(snap_to)
    if snap_tolerance < 0:
        raise UsageError(f"snap tolerance must be >= 0 seconds, got {snap_tolerance:g}")
    learned = [n for n in names if not is_detector(n)]
    kwargs = dict(scene_kwargs or {})
    for key, value in (("start", start), ("end", end)):
        if value is not None:
            kwargs[key] = value
    if not use_audio:
        kwargs["use_audio"] = False
    kwargs.setdefault("device", device)
    if batch_size is not None:
        kwargs.setdefault("batch_size", batch_size)
    scene_results: dict[str, Any] = {}
    if decode_workers is not None:
        _workers(decode_workers, device)  # checked before anything runs
        one_decode = one_decode and decode_workers <= 1
    if one_decode and learned and detector_names and kwargs.get("start") is None \
            and kwargs.get("end") is None:
        from scenedet.inference.onepass import run_one_pass

        found, frame_results = run_one_pass(video, learned, detector_names, options=options,
                                            device=device, batch_size=batch_size,
                                            scene_kwargs=kwargs, progress=progress)
        scene_results = dict(zip(learned, found))
    else:
        frame_results = (run_detectors(video, detector_names, options=options, device=device,
                                       batch_size=batch_size, progress=progress,
                                       start=kwargs.get("start"), end=kwargs.get("end"),
                                       use_audio=bool(kwargs.get("use_audio", True)),
                                       decode_workers=decode_workers)
                         if detector_names else [])
    by_name = {r.scene: r for r in frame_results}
    out: list[Any] = []
    for name in names:
        if is_detector(name):
            out.append(by_name[get_detector_spec(name).name])
            continue
        result = scene_results.get(name)
        if result is None:
            from scenedet.inference.pipeline import run_scene

            if decode_workers is not None:
                kwargs.setdefault("decode_workers", decode_workers)
            result = run_scene(video, scene=name, **{"progress": progress, **kwargs})
        if snap_to is not None:
            result = snap_result(result, by_name[get_detector_spec(snap_to).name], snap_tolerance)
        out.append(result)
    return out


def snap_result(result: Any, shots: FrameResult, tolerance: float) -> dict[str, Any]:
    """``result`` (a per-second scene's) as its JSON dict with every segment's start and end moved
    to the nearest cut of ``shots`` within ``tolerance`` seconds; the original bounds are kept."""
    from scenedet.segmentation.snap import snap_segments

    data = result.to_dict()
    cuts = [c.start for c in shots.cuts]
    pairs = [(float(s["start"]), float(s["end"])) for s in data["segments"]]
    snapped = snap_segments(pairs, cuts, tolerance=tolerance, end=float(data["duration"]))
    for seg, (start, end) in zip(data["segments"], snapped):
        seg["unsnapped"] = [seg["start"], seg["end"]]
        seg["start"], seg["end"] = round(start, 6), round(end, 6)
    data["settings"] = {**data.get("settings", {}),
                        "snap_to": {"detector": shots.scene, "tolerance": tolerance}}
    return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


__all__ = ["FrameResult", "build_detectors", "detector_results", "feed_detectors", "run_detectors",
           "run_plugins", "snap_result", "StreamInfo"]
