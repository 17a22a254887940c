"""The scene list every exporter reads: a run's result with frame numbers and timecodes.

A :class:`SceneList` is built from a fresh :class:`~scenedet.inference.pipeline.SceneResult`
(:func:`from_result`) or from a saved ``scenedet run`` JSON (:func:`load_result`), so that
``scenedet export`` converts a saved result without the models. Its :meth:`SceneList.to_dict`
is the JSON ``scenedet run`` writes: today's keys (``video``, ``scene``, ``duration``,
``segments`` with ``start``/``end``/``score``, ``scores``, ``model``, ``settings``) plus
``frame_rate`` and, per segment, ``index``, frames and timecodes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

from scenedet.errors import UsageError
from scenedet.files import read_input_text
from scenedet.outputs.timecode import (CONSTANT, NOMINAL_AVERAGE, FrameRate, frames_to_timecode,
                                       seconds_to_frame)


@attrs.frozen
class ExportScene:
    """One scene: seconds ``[start, end)``, frames ``[start_frame, end_frame)``, 1-based index.

    ``extra`` holds what other outputs added (``clip``, ``stills``), written into the JSON as is,
    and what a detector's segment carries beyond times and score: its ``label`` (``"black"``,
    ``"silence"``, ``"bars"`` of a cue detector), read as :attr:`label`.
    """

    index: int
    start: float
    end: float
    score: float | None
    start_frame: int
    end_frame: int
    start_timecode: str
    end_timecode: str
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def label(self) -> str:
        """What kind of segment this is (a detector's ``label``); ``""`` when it has none."""
        value = self.extra.get("label")
        return "" if value is None else str(value)

    def to_dict(self) -> dict[str, Any]:
        start = int(self.start) if float(self.start).is_integer() else self.start
        end = int(self.end) if float(self.end).is_integer() else self.end
        return {"start": start, "end": end, "score": self.score, "index": self.index,
                "start_frame": self.start_frame, "end_frame": self.end_frame,
                "start_timecode": self.start_timecode, "end_timecode": self.end_timecode,
                **self.extra}


@attrs.frozen
class SceneList:
    """A film's scenes with their frame rate, and the per-second scores they were cut from."""

    video: str
    scene: str
    duration: float
    frame_rate: FrameRate
    scenes: tuple[ExportScene, ...]
    scores: tuple[float, ...] = ()
    model: str = ""
    settings: dict[str, Any] = attrs.field(factory=dict)
    start: float = 0  # film second of scores[0] (a run over part of a film)
    damage: dict[str, Any] | None = None  # packets skipped in a damaged film (docs/reliability.md)
    #: What scored it (model file, backbones' weights, ``test_pattern``), for a learned scene.
    provenance: dict[str, Any] | None = None

    @property
    def test_pattern(self) -> bool:
        """Whether the model ran over seeded random backbones (it detects nothing real)."""
        return bool((self.provenance or {}).get("test_pattern"))

    @property
    def title(self) -> str:
        """What the plot and the report call it: the scene, and a test pattern as one."""
        return f"{self.scene} (test pattern: random backbones)" if self.test_pattern else self.scene

    @property
    def name(self) -> str:
        """The film's file name without folders (titles, clip names)."""
        return Path(self.video).name

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "scene": self.scene,
            "duration": round(float(self.duration), 3),
            "start": self.start,
            "frame_rate": self.frame_rate.to_dict(),
            "segments": [s.to_dict() for s in self.scenes],
            "scores": list(self.scores),
            "model": self.model,
            "settings": self.settings,
            **({"damage": self.damage} if self.damage else {}),
            **({"provenance": self.provenance} if self.provenance else {}),
        }


def make_scenes(spans: Sequence[tuple[float, float, float | None]],
                rate: FrameRate) -> tuple[ExportScene, ...]:
    """``(start, end, score)`` spans in seconds -> numbered :class:`ExportScene` values."""
    out = []
    for i, (start, end, score) in enumerate(spans, start=1):
        first, stop = seconds_to_frame(start, rate), seconds_to_frame(end, rate)
        out.append(ExportScene(index=i, start=start, end=end, score=score, start_frame=first,
                               end_frame=stop, start_timecode=frames_to_timecode(first, rate),
                               end_timecode=frames_to_timecode(stop, rate)))
    return tuple(out)


def film_frame_rate(path: str | Path) -> FrameRate:
    """The frame rate of ``path``'s video stream, and whether it is variable.

    A film is variable-rate when its average rate differs from its base (``r_frame_rate``) rate
    by more than 0.1 %; its frames are then numbered at the average rate (rounded to 1/1001).
    """
    from scenedet.media.probe import check_path, open_input

    p = check_path(path)
    with open_input(p) as container:
        if not container.streams.video:
            raise UsageError(f"{p} has no video stream")
        stream = container.streams.video[0]
        average, base = stream.average_rate, stream.base_rate or stream.guessed_rate
    rate = average or base
    if not rate:
        raise UsageError(f"{p}: the container states no frame rate")
    rate = Fraction(rate).limit_denominator(1001)
    variable = bool(base and average and abs(Fraction(base) / Fraction(average) - 1) > Fraction(1, 1000))
    return FrameRate(rate, variable, NOMINAL_AVERAGE if variable else CONSTANT)


def from_result(result: Any, rate: FrameRate) -> SceneList:
    """A :class:`SceneList` of a :class:`~scenedet.inference.pipeline.SceneResult`."""
    spans = [(s.start, s.end, s.score) for s in result.segments]
    return SceneList(video=str(result.video), scene=result.scene, duration=float(result.duration),
                     frame_rate=rate, scenes=make_scenes(spans, rate),
                     scores=tuple(float(p) for p in result.scores), model=str(result.model),
                     settings=dict(result.settings), start=getattr(result, "start", 0),
                     damage=result.damage.to_dict() if getattr(result, "damage", None) else None,
                     provenance=getattr(result, "provenance", None))


def scenes_of(result: Any) -> SceneList:
    """:func:`from_result` at the frame rate of the result's own film (probed)."""
    return from_result(result, film_frame_rate(result.video))


def from_dict(data: Any, *, source: str = "<result>", rate: FrameRate | None = None,
              base: str | Path | None = None) -> SceneList:
    """A :class:`SceneList` from a ``scenedet run`` JSON object.

    ``rate`` overrides the recorded ``frame_rate``; without either, the film named by ``video``
    (relative to ``base``) is probed. Errors are one-line :class:`UsageError` naming ``source``.
    """
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise UsageError(f"{source}: not a `scenedet run` result (no \"segments\" list)")
    video = str(data.get("video", ""))
    if video and base is not None and not Path(video).is_absolute() and not Path(video).exists() \
            and (Path(base) / video).exists():
        video = str(Path(base) / video)  # a relative film path is read from the result's folder
    if rate is None and data.get("frame_rate") is not None:
        try:
            rate = FrameRate.from_dict(data["frame_rate"])
        except (ValueError, TypeError, ZeroDivisionError) as exc:
            raise UsageError(f"{source}: bad \"frame_rate\": {exc}") from None
    if rate is None:
        film = Path(video)
        if not video or not film.exists():
            raise UsageError(f"{source} records no frame rate and its film {video!r} is not "
                             "here: give the frame rate (fps)")
        rate = film_frame_rate(film)
    spans = []
    for i, seg in enumerate(data["segments"]):
        try:
            start, end = float(seg["start"]), float(seg["end"])
            score = seg.get("score")
            score = None if score is None else float(score)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise UsageError(f"{source}: segments[{i}] needs numeric \"start\" and \"end\"") from None
        if not 0 <= start < end:
            raise UsageError(f"{source}: segments[{i}] has start {start} and end {end}")
        spans.append((start, end, score))
    scenes = make_scenes(spans, rate)
    known = {"start", "end", "score", "index", "start_frame", "end_frame", "start_timecode",
             "end_timecode"}
    for scene, seg in zip(scenes, data["segments"]):
        scene.extra.update({k: v for k, v in seg.items() if k not in known})
    scores = data.get("scores") or []
    duration = data.get("duration")
    if not isinstance(duration, (int, float)):
        duration = max([e for _, e, _ in spans] + [len(scores)] + [0])
    return SceneList(video=video, scene=str(data.get("scene", "scene")), duration=float(duration),
                     frame_rate=rate, scenes=scenes,
                     scores=tuple(float(x) for x in scores if isinstance(x, (int, float))),
                     model=str(data.get("model", "")), settings=dict(data.get("settings") or {}),
                     start=data.get("start") or 0, damage=data.get("damage") or None,
                     provenance=data.get("provenance") if isinstance(data.get("provenance"), dict)
                     else None)


def document_of(result: Any, rate: FrameRate | None = None) -> dict[str, Any]:
    """The JSON document of any plugin's result, the one result model every output is made from.

    ``result``: a per-second scene's :class:`~scenedet.inference.pipeline.SceneResult`, a
    detector's :class:`~scenedet.inference.framerun.FrameResult`, or a result's JSON (a snapped
    scene's). The document is :meth:`SceneList.to_dict` (segments with seconds, frames, SMPTE
    timecodes, score; scores; settings; model; damage) plus ``kind`` (``"scene"`` or
    ``"detector"``), ``frame_rate`` and whatever else the plugin's own JSON holds (a detector's
    ``n_frames``, ``fps``, ``cuts``; a segment's ``label``). A detector's frame numbers are its
    own (it counted the frames); a scene's follow from its seconds at the film's rate.
    """
    data = copy.deepcopy(result) if isinstance(result, dict) else result.to_dict()
    if rate is None and data.get("frame_rate") is None:
        rate = film_frame_rate(data.get("video", ""))
    scenes = from_dict(data, source=str(data.get("scene", "result")), rate=rate)
    doc = scenes.to_dict()
    frames = data.get("time_grid") == "frame"
    for seg_doc, seg in zip(doc["segments"], data["segments"]):
        if frames and seg.get("start_frame") is not None and seg.get("end_frame") is not None:
            seg_doc["start_frame"], seg_doc["end_frame"] = seg["start_frame"], seg["end_frame"]
            seg_doc["start_timecode"] = frames_to_timecode(seg["start_frame"], scenes.frame_rate)
            seg_doc["end_timecode"] = frames_to_timecode(seg["end_frame"], scenes.frame_rate)
    for key, value in data.items():
        doc.setdefault(key, value)
    doc["kind"] = "detector" if frames else "scene"
    return doc


def load_result(path: str | Path, *, rate: FrameRate | None = None) -> SceneList:
    """Read a saved ``scenedet run`` JSON (see :func:`from_dict`)."""
    p = Path(path)
    text = read_input_text(p, what="result file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{p}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return from_dict(data, source=str(p), rate=rate, base=p.parent)
