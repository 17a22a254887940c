"""Re-cutting saved result documents with new settings, without the film or the models.

A per-second scene's document is re-cut from its per-second ``scores`` with the four
segmentation settings (:func:`scenedet.segmentation.segments.segment`); a frame-level
detector's from its per-frame ``scores`` by its spec's ``resegment``
(:class:`~scenedet.plugin.specs.DetectorSpec`), which cuts them as its ``finish()`` did. Either
way the answer is a result document again (frames and timecodes at the document's frame rate,
:func:`scenedet.outputs.document.document_of`), with the settings it was cut with recorded.

No torch and no media code is imported: ``scenedet segment`` answers in well under a second.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from scenedet.errors import ScenedetError, UsageError
from scenedet.segmentation.scorefiles import RUN_SETTINGS

#: ``resegment``'s own keywords, which no option may name.
_GIVEN = ("scores", "fps", "duration")


def resegment_document(doc: Mapping[str, Any], *, source: str = "<result>",
                       **settings: Any) -> dict[str, Any]:
    """``doc`` (a result document) re-cut with ``settings``; those not given keep the values
    the document recorded.

    A scene takes ``aggregator``, ``min_length``, ``threshold`` and ``label_threshold``; a
    detector the options its spec's ``resegment`` names (``threshold``, ``min_shot`` for the
    shot detectors). A detector result without per-frame scores, or whose detector has no
    ``resegment`` (or is not installed), is a one-line :class:`UsageError` naming ``source`` and
    what to do. A scene snapped to shots (``settings.snap_to``) is re-cut unsnapped; see
    :func:`resegment_documents` to snap it again to the shots of its run.
    """
    if is_detector_document(doc):
        return _detector(doc, source, settings)
    return _scene(doc, source, settings)


def resegment_documents(docs: Sequence[Mapping[str, Any]], *, source: str = "<run>",
                        settings: Mapping[str, Mapping[str, Any]] | None = None
                        ) -> list[dict[str, Any]]:
    """Each of ``docs`` (a run's results) re-cut with ``settings[its scene name]`` (none: as
    recorded); a scene snapped to a detector's cuts is snapped again to that detector's (re-cut)
    cuts from the same run. Unknown names in ``settings`` are a one-line :class:`UsageError`."""
    settings = dict(settings or {})
    names = [str(d.get("scene", "")) for d in docs]
    unknown = [n for n in settings if n not in names]
    if unknown:
        raise UsageError(f"{source}: no result named {unknown[0]!r} (it holds "
                         f"{', '.join(names) or 'none'})")
    out = [resegment_document(d, source=f"{source}: {n}", **settings.get(n, {}))
           for d, n in zip(docs, names)]
    for i, (old, new) in enumerate(zip(docs, out)):
        snap = (old.get("settings") or {}).get("snap_to")
        if is_detector_document(old) or not isinstance(snap, dict):
            continue
        shots = [d for d in out if is_detector_document(d) and d.get("scene") == snap.get("detector")]
        if not shots:
            raise UsageError(f"{source}: {names[i]} was snapped to {snap.get('detector')!r}, "
                             "whose result this file does not hold")
        out[i] = snap_document(new, shots[0], float(snap.get("tolerance", 2.0)))
    return out


def is_detector_document(doc: Mapping[str, Any]) -> bool:
    """Whether ``doc`` is a frame-level detector's result (``kind``/``time_grid``)."""
    return doc.get("kind") == "detector" or doc.get("time_grid") == "frame"


def snap_document(doc: Mapping[str, Any], shots: Mapping[str, Any],
                  tolerance: float) -> dict[str, Any]:
    """A scene's document with its bounds moved to the nearest of ``shots``' cuts (a shot
    detector's document) within ``tolerance`` seconds, as ``scenedet run --snap-to`` does."""
    from scenedet.outputs.document import document_of
    from scenedet.segmentation.snap import snap_segments

    data = copy.deepcopy(dict(doc))
    cuts = [float(c["time"]) for c in shots.get("cuts") or []]
    pairs = [(float(s["start"]), float(s["end"])) for s in data["segments"]]
    snapped = snap_segments(pairs, cuts, tolerance=tolerance, end=float(data["duration"]))
    segments = []
    for seg, (start, end) in zip(data["segments"], snapped):
        segments.append({"start": round(start, 6), "end": round(end, 6), "score": seg.get("score"),
                         "unsnapped": [seg["start"], seg["end"]]})
    data["segments"] = segments
    data["settings"] = {**data.get("settings", {}),
                        "snap_to": {"detector": shots.get("scene"), "tolerance": tolerance}}
    return document_of(data, _rate(data, "result"))


# -- a per-second scene ---------------------------------------------------------------------------
def _scene(doc: Mapping[str, Any], source: str, given: Mapping[str, Any]) -> dict[str, Any]:
    from scenedet.outputs.document import document_of
    from scenedet.segmentation.segments import as_scores, fraction_text, segment
    from scenedet.segmentation.settings import resolve_settings

    unknown = [k for k in given if k not in RUN_SETTINGS]
    if unknown:
        raise UsageError(f"{source}: a scene is re-cut with {', '.join(RUN_SETTINGS)}; "
                         f"{unknown[0]!r} is not one of them")
    scores = doc.get("scores")
    if not isinstance(scores, list) or not scores:
        raise UsageError(f"{source}: the result holds no per-second scores to re-cut: rerun "
                         f"`scenedet run -p {doc.get('scene', 'SCENE')}`")
    values = as_scores(scores, lambda i: f"{source}: scores[{i}]")
    recorded = {k: v for k, v in (doc.get("settings") or {}).items() if k in RUN_SETTINGS}
    chosen = resolve_settings(given, (recorded, f"{source}: settings"))
    offset = doc.get("start") or 0
    found = segment(values, **chosen)
    data = {k: copy.deepcopy(v) for k, v in doc.items() if k not in ("segments", "kind")}
    data["segments"] = [{"start": s.start + offset, "end": s.end + offset, "score": s.score}
                        for s in found]
    settings = dict(doc.get("settings") or {})
    settings.pop("snap_to", None)
    settings.update({**chosen, "threshold": fraction_text(chosen["threshold"])})
    data["settings"] = settings
    return document_of(data, _rate(doc, source))


# -- a frame-level detector -----------------------------------------------------------------------
def _detector(doc: Mapping[str, Any], source: str, given: Mapping[str, Any]) -> dict[str, Any]:
    from scenedet.inference.framerun import FrameResult, in_film_time
    from scenedet.media.frames.stream import FrameSegment
    from scenedet.outputs.document import document_of

    name = str(doc.get("scene", ""))
    spec = _detector_spec(name, source)
    if spec.resegment is None:
        raise UsageError(f"{source}: the {name} detector cannot re-cut a saved result (it "
                         f"registers no resegment): rerun `scenedet run -p {name} -O KEY=VALUE`")
    scores = doc.get("scores")
    if not isinstance(scores, list) or not scores:
        raise UsageError(f"{source}: the {name} result holds no per-frame scores to re-cut "
                         f"(written before results kept them): rerun `scenedet run -p {name}`")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in scores):
        raise UsageError(f"{source}: scores must be numbers")
    n_frames = doc.get("n_frames")
    # scores are per frame unless the detector recorded its own grid (``score_step`` seconds)
    per_frame = not isinstance((doc.get("settings") or {}).get("score_step"), (int, float))
    if per_frame and isinstance(n_frames, int) and n_frames != len(scores):
        raise UsageError(f"{source}: {len(scores)} scores for {n_frames} frames")
    options = _options(spec, name, doc.get("settings") or {}, given, source)
    start = float(doc.get("start") or 0)
    first_frame = int(doc.get("first_frame") or 0)
    fps = _exact_fps(doc, source)
    duration = float(doc["duration"]) - start if isinstance(doc.get("duration"), (int, float)) \
        else None
    try:
        found = spec.resegment(list(scores), fps=fps, duration=duration, **options)
        segments = [s if isinstance(s, FrameSegment) else FrameSegment(**s) for s in found]
    except (UsageError, ScenedetError) as exc:
        raise type(exc)(f"{source}: {exc}") from None
    except Exception as exc:  # plugin code failing is one line, not a traceback
        raise ScenedetError(f"{source}: the {name} detector's resegment() failed: "
                            f"{type(exc).__name__}: {exc}") from exc
    settings = {**dict(doc.get("settings") or {}), **options}
    result = FrameResult(video=str(doc.get("video", "")), scene=name,
                         duration=float(doc.get("duration") or 0), fps=float(doc.get("fps") or fps),
                         n_frames=n_frames if isinstance(n_frames, int) else len(scores),
                         segments=[in_film_time(s, start, first_frame) for s in segments],
                         settings=settings, start=start, first_frame=first_frame, scores=scores,
                         shots=bool(spec.shots))
    data = result.to_dict()
    for key, value in doc.items():  # the rest of the document (model, damage, a batch's block)
        if key not in data and key not in ("cuts", "kind"):
            data[key] = copy.deepcopy(value)
    return document_of(data, _rate(doc, source))


def _detector_spec(name: str, source: str) -> Any:
    from scenedet.errors import UnknownComponentError
    from scenedet.plugin.registry import get_detector_spec

    try:
        return get_detector_spec(name)
    except UnknownComponentError:
        raise UsageError(f"{source}: the {name!r} detector is not installed here; install its "
                         "plugin to re-cut its result (`scenedet plugins` lists what is)") from None


def _options(spec: Any, name: str, recorded: Mapping[str, Any], given: Mapping[str, Any],
             source: str) -> dict[str, Any]:
    """The keywords for ``spec.resegment``: the recorded settings it names, then ``given``."""
    params = inspect.signature(spec.resegment).parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = [k for k, p in params.items() if k not in _GIVEN
             and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    shown = [k for k in named if isinstance(params[k].default, (int, float, str))]
    for key in given:
        if key in _GIVEN or (key not in named and not open_ended):
            raise UsageError(f"{source}: {name} re-cuts with {', '.join(shown) or 'no option'}; "
                             f"{key!r} is not one of them")
    out = {k: copy.deepcopy(v) for k, v in recorded.items() if k in named}
    out.update(given)
    return out


def _exact_fps(doc: Mapping[str, Any], source: str) -> Fraction:
    """The frame rate the detector's frames were numbered at, exact."""
    from scenedet.outputs.timecode import FrameRate

    rate = doc.get("frame_rate")
    try:
        if isinstance(rate, dict) and not rate.get("variable"):
            return FrameRate.from_dict(rate).value
        if isinstance(doc.get("fps"), (int, float)) and doc["fps"] > 0:
            return FrameRate(float(doc["fps"])).value
        if rate is not None:
            return FrameRate.from_dict(rate).value
    except (ValueError, TypeError, ZeroDivisionError) as exc:
        raise UsageError(f"{source}: bad frame rate: {exc}") from None
    raise UsageError(f"{source}: the result records no frame rate (\"fps\")")


def _rate(doc: Mapping[str, Any], source: str) -> Any:
    """The document's recorded frame rate (None: :func:`document_of` probes the film)."""
    from scenedet.outputs.timecode import FrameRate

    rate = doc.get("frame_rate")
    if rate is None:
        return None
    try:
        return FrameRate.from_dict(rate)
    except (ValueError, TypeError, ZeroDivisionError) as exc:
        raise UsageError(f"{source}: bad \"frame_rate\": {exc}") from None


__all__ = ["is_detector_document", "resegment_document", "resegment_documents", "snap_document"]
