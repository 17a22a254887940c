"""A frame-level detector's result (:class:`FrameResult`), and snapping scenes to its cuts.

Running detectors is the engine's (:func:`scenedet.run`, :mod:`scenedet.engine`);
:func:`run_detectors` and :func:`run_plugins` are its list-returning conveniences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from scenedet.media.frames.stream import FrameSegment, StreamInfo


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
    #: Damaged packets skipped while decoding (:class:`scenedet.media.damage.Damage`), or None.
    damage: Any = None
    #: The detector's per-frame scores (``scores[0]``: frame ``first_frame``), rounded to 6
    #: decimals, which its spec's ``resegment`` re-cuts; empty when it keeps none.
    scores: tuple[float, ...] = attrs.field(default=(), converter=lambda v: _frame_scores(v))
    #: Whether the segments are shots (the spec's ``shots``): only then are there ``cuts``.
    shots: bool = False

    @property
    def cuts(self) -> list[FrameSegment]:
        """The shot boundaries: each segment's start except the film's first frame (none when
        the detector is no shot detector: a black interval does not start a shot)."""
        if not self.shots:
            return []
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
            **({"cuts": [{"frame": s.start_frame, "time": round(s.start, 6),
                          "score": None if s.score is None else round(float(s.score), 6)}
                         for s in self.cuts]} if self.shots else {}),
            "scores": list(self.scores),
            "settings": self.settings,
            **({"start": round(float(self.start), 6), "first_frame": self.first_frame}
               if self.start or self.first_frame or self.scores else {}),
            **({"damage": self.damage.to_dict()} if self.damage else {}),
        }


def frame_result(scene: str, video: str | Path, info: StreamInfo, segments: list[FrameSegment],
                 settings: dict[str, Any], *, damage: Any = None,
                 scores: Any = None, shots: bool | None = None) -> FrameResult:
    """A detector's :class:`FrameResult` once its pass is over; a part's segments moved to film
    time (the detector counted from the part's first frame).

    ``scores``: the detector's per-frame scores (its ``scores`` attribute), kept. ``shots``:
    whether its segments are shots; ``None`` asks the registered spec of ``scene``.
    """
    moved = [in_film_time(s, info.start, info.first_frame) for s in segments]
    return FrameResult(video=str(video), scene=scene, duration=info.start + info.duration,
                       fps=info.fps, n_frames=info.n_frames, segments=moved,
                       settings=_jsonable(settings), start=info.start,
                       first_frame=info.first_frame, damage=damage if damage else None,
                       scores=() if scores is None else scores,
                       shots=is_shot_detector(scene) if shots is None else bool(shots))


def is_shot_detector(name: str) -> bool:
    """Whether the registered detector ``name`` declares its segments shots (``DetectorSpec.
    shots``); an unknown name is not."""
    from scenedet.plugin.registry import get_detector_spec

    try:
        return bool(getattr(get_detector_spec(name), "shots", False))
    except Exception:  # not registered (a result read back without its plugin): no cuts
        return False


def _frame_scores(values: Any) -> tuple[float, ...]:
    """Per-frame scores as a tuple of floats rounded to 6 decimals (what the JSON holds, so a
    re-cut of the saved file sees exactly the numbers the run cut)."""
    if values is None:
        return ()
    import numpy as np

    array = np.asarray(values, dtype=np.float64).reshape(-1)
    return tuple(np.round(array, 6).tolist())


def in_film_time(segment: FrameSegment, seconds: float, frames: int) -> FrameSegment:
    """``segment`` of a part, in film time (``seconds`` and ``frames``: where the part starts)."""
    if not seconds and not frames:
        return segment
    return attrs.evolve(segment, start=segment.start + seconds, end=segment.end + seconds,
                        start_frame=None if segment.start_frame is None else segment.start_frame + frames,
                        end_frame=None if segment.end_frame is None else segment.end_frame + frames)


def run_detectors(video: str | Path, detectors: Sequence[str], *,
                  options: Mapping[str, Mapping[str, Any]] | None = None,
                  **settings: Any) -> list[FrameResult]:
    """Frame-level ``detectors`` over one decode of ``video``: :func:`scenedet.run` with
    detectors only, the results as a list in the order given (``settings``: its settings)."""
    from scenedet.engine import run

    return list(run(video, list(detectors), options=dict(options or {}), **settings))


def run_plugins(video: str | Path, plugins: Sequence[str], *,
                options: Mapping[str, Mapping[str, Any]] | None = None,
                scene_kwargs: Mapping[str, Any] | None = None, **settings: Any) -> list[Any]:
    """:func:`scenedet.run` with its results as a list in the order given; ``scene_kwargs``
    are more of its settings (kept for callers of the per-second scenes' own keywords)."""
    from scenedet.engine import run

    merged = {**dict(scene_kwargs or {}), **settings}
    return list(run(video, list(plugins), options=dict(options or {}), **merged))


def snap_result(result: Any, shots: FrameResult, tolerance: float) -> dict[str, Any]:
    """``result`` (a per-second scene's) as its JSON dict with every segment's start and end moved
    to the nearest cut of ``shots`` within ``tolerance`` seconds; the original bounds are kept."""
    from scenedet.errors import UsageError
    from scenedet.segmentation.snap import snap_segments

    if not shots.shots:
        raise UsageError(f"cannot snap to {shots.scene!r}: its segments are not shots (snap to a "
                         "shot detector, e.g. shots or shots-content)")
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


__all__ = ["FrameResult", "StreamInfo", "frame_result", "in_film_time", "is_shot_detector",
           "run_detectors", "run_plugins", "snap_result"]
