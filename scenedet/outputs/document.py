"""The one result model: a plugin's result with frame numbers and timecodes, and its JSON.

A :class:`SceneList` is built from a fresh :class:`~scenedet.inference.pipeline.SceneResult`
(:func:`from_result`), from a detector's :class:`~scenedet.inference.framerun.FrameResult` or
from a saved result document (:func:`from_dict`, :func:`load_result`), so that ``scenedet
export`` converts a saved result without the models. Its :meth:`SceneList.to_dict` is the
*result document* (:func:`document_of`; ``docs/outputs.md``, ``docs/result.schema.json``):
``video``, ``scene``, ``kind``, ``duration``, ``start``, ``frame_rate``, ``segments`` (seconds,
frames, timecodes, score, label), ``scores``, ``model``, ``settings``, ``damage``, and a
detector's own keys (``time_grid``, ``fps``, ``n_frames``, ``first_frame``, ``cuts``).

A file may hold one result document, a *run document* (``{"scenedet": "run", "results":
[...]}``, several plugins' results) or the older plain list of results: :func:`load_documents`
reads all three.
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

#: ``kind`` of a per-second scene's result and of a frame-level detector's.
SCENE, DETECTOR = "scene", "detector"
#: The keys :class:`SceneList` holds itself; any other key of a document is kept in ``extra``.
_OWN_KEYS = ("video", "scene", "kind", "duration", "start", "frame_rate", "segments", "scores",
             "model", "settings", "damage", "time_grid", "provenance")


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
    """A film's scenes with their frame rate, and the scores they were cut from.

    ``time_grid``: ``"second"`` for a per-second scene (``scores``: one probability per second
    from second ``start``), ``"frame"`` for a frame-level detector (``scores``: its per-frame
    scores, one per frame decoded from ``extra["first_frame"]``, possibly none). ``extra``: the
    document's other keys (a detector's ``fps``, ``n_frames``, ``cuts``...), written back as
    they are.
    """

    video: str
    scene: str
    duration: float
    frame_rate: FrameRate
    scenes: tuple[ExportScene, ...]
    scores: tuple[float, ...] = ()
    model: str = ""
    settings: dict[str, Any] = attrs.field(factory=dict)
    start: float = 0  # film time of scores[0] (a run over part of a film)
    damage: dict[str, Any] | None = None  # packets skipped in a damaged film (docs/reliability.md)
    time_grid: str = "second"
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False)
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

    @property
    def kind(self) -> str:
        """``"detector"`` for a frame-level detector's result, else ``"scene"``."""
        return DETECTOR if self.time_grid == "frame" else SCENE

    def to_dict(self) -> dict[str, Any]:
        """The result document (``docs/outputs.md``, ``docs/result.schema.json``)."""
        frames = self.time_grid == "frame"
        out: dict[str, Any] = {
            "video": self.video,
            "scene": self.scene,
            "kind": self.kind,
            **({"time_grid": "frame"} if frames else {}),
            "duration": round(float(self.duration), 6 if frames else 3),
            "start": self.start,
            "frame_rate": self.frame_rate.to_dict(),
            "segments": [s.to_dict() for s in self.scenes],
            "scores": list(self.scores),
            "model": self.model,
            "settings": self.settings,
            **({"damage": self.damage} if self.damage else {}),
            **({"provenance": self.provenance} if self.provenance else {}),
        }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


def make_scenes(spans: Sequence[tuple[float, float, float | None]],
                rate: FrameRate,
                frames: Sequence[tuple[int, int] | None] | None = None) -> tuple[ExportScene, ...]:
    """``(start, end, score)`` spans in seconds -> numbered :class:`ExportScene` values.

    ``frames``: per span, its own ``(start_frame, end_frame)`` (a detector counted them) or
    ``None``; spans without are numbered from their seconds at ``rate``.
    """
    out = []
    for i, (start, end, score) in enumerate(spans, start=1):
        own = frames[i - 1] if frames is not None else None
        first, stop = own if own is not None else (seconds_to_frame(start, rate),
                                                   seconds_to_frame(end, rate))
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
    grid = "frame" if data.get("time_grid") == "frame" or data.get("kind") == DETECTOR else "second"
    spans = []
    own: list[tuple[int, int] | None] = []
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
        first, stop = seg.get("start_frame"), seg.get("end_frame")
        counted = grid == "frame" and all(isinstance(f, int) and not isinstance(f, bool)
                                          and f >= 0 for f in (first, stop))
        own.append((first, stop) if counted else None)  # a detector's own frame numbers
    scenes = make_scenes(spans, rate, own)
    known = {"start", "end", "score", "index", "start_frame", "end_frame", "start_timecode",
             "end_timecode"}
    for scene, seg in zip(scenes, data["segments"]):
        scene.extra.update({k: v for k, v in seg.items() if k not in known})
    scores = data.get("scores") or []
    duration = data.get("duration")
    if not isinstance(duration, (int, float)):
        duration = max([e for _, e, _ in spans] + [len(scores) if grid == "second" else 0] + [0])
    return SceneList(video=video, scene=str(data.get("scene", "scene")), duration=float(duration),
                     frame_rate=rate, scenes=scenes,
                     scores=tuple(float(x) for x in scores if isinstance(x, (int, float))),
                     model=str(data.get("model", "")), settings=dict(data.get("settings") or {}),
                     start=data.get("start") or 0, damage=data.get("damage") or None,
                     provenance=data.get("provenance") if isinstance(data.get("provenance"), dict)
                     else None,
                     time_grid=grid,
                     extra={k: copy.deepcopy(v) for k, v in data.items() if k not in _OWN_KEYS})


def document_of(result: Any, rate: FrameRate | None = None) -> dict[str, Any]:
    """The JSON document of any plugin's result, the one result model every output is made from.

    ``result``: a per-second scene's :class:`~scenedet.inference.pipeline.SceneResult`, a
    detector's :class:`~scenedet.inference.framerun.FrameResult`, or a result's JSON (a snapped
    scene's). The document is :meth:`SceneList.to_dict` (segments with seconds, frames, SMPTE
    timecodes, score; scores; settings; model; damage) plus ``kind`` (``"scene"`` or
    ``"detector"``), ``frame_rate`` and whatever else the plugin's own JSON holds (a detector's
    ``n_frames``, ``fps``, ``cuts``, per-frame ``scores``; a segment's ``label``). A detector's
    frame numbers are its own (it counted the frames); a scene's follow from its seconds at the
    film's rate. ``rate`` (else the document's ``frame_rate``, else the film's, probed).
    """
    data = copy.deepcopy(result) if isinstance(result, dict) else result.to_dict()
    if rate is None and data.get("frame_rate") is None:
        rate = film_frame_rate(data.get("video", ""))
    return from_dict(data, source=str(data.get("scene", "result")), rate=rate).to_dict()


#: The forms a result file takes: one result document, a run document, a plain list of results.
RESULT, RUN, LIST = "result", "run", "list"


def documents_in(data: Any, *, source: str = "<result>") -> tuple[str, list[dict[str, Any]]]:
    """The form of a parsed result file and its result documents, in order.

    A run document (``{"results": [...]}``) gives its results, the old list form its items, a
    single result document itself. Each must be an object with a ``"segments"`` list; anything
    else is a one-line :class:`UsageError` naming ``source``.
    """
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        form, items = RUN, data["results"]
    elif isinstance(data, list):
        form, items = LIST, data
    else:
        form, items = RESULT, [data]
    for i, item in enumerate(items):
        where = source if form == RESULT else f"{source}: {'results' if form == RUN else 'item'}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("segments"), list):
            raise UsageError(f"{where}: not a `scenedet run` result (no \"segments\" list)")
    if not items:
        raise UsageError(f"{source}: holds no result")
    return form, list(items)


def read_document(path: str | Path) -> Any:
    """The parsed JSON of a result file (``-``: standard input); one-line errors."""
    import sys

    if str(path) == "-":
        text, where = sys.stdin.read(), "<stdin>"
    else:
        text, where = read_input_text(Path(path), what="result file"), str(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}") from None


def load_documents(path: str | Path) -> list[dict[str, Any]]:
    """Every result document in the file at ``path``: a single result document, a run
    document's ``results`` or the old list of results (see :func:`documents_in`)."""
    return documents_in(read_document(path), source=str(path))[1]


def load_result(path: str | Path, *, rate: FrameRate | None = None) -> SceneList:
    """Read a saved ``scenedet run`` JSON (see :func:`from_dict`)."""
    p = Path(path)
    text = read_input_text(p, what="result file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{p}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return from_dict(data, source=str(p), rate=rate, base=p.parent)
