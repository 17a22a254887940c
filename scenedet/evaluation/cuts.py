"""Shot-cut evaluation, TRECVID style: precision, recall and F1 of found cuts against annotated
transitions, with a tolerance in frames.

A true transition spans frames ``[start_frame, end_frame]`` (a hard cut: both the first frame of
the new shot). A found cut at frame ``p`` may match it when it lies inside the span widened by
``tolerance`` frames on each side; its distance is 0 inside the span, else the frames to the
nearer end. Matching is one-to-one and greedy: all admissible pairs, nearest first (ties: earlier
transition, then earlier cut), each transition and each cut used at most once. Unmatched cuts are
false positives, unmatched transitions misses. This is the measure of PySceneDetect's benchmark
and of TRECVID's shot boundary task (which counts a gradual transition found when the detection
overlaps it).

Per kind (``hard`` for hard cuts, ``gradual`` for dissolves, fades and the rest): recall over that
kind's transitions; precision over the cuts not matched to the other kind.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from scenedet.errors import UsageError
from scenedet.files import read_input_text

FRAME_COLUMNS = ("frame", "start_frame", "end_frame")
TIME_COLUMNS = ("time",)


@attrs.frozen(kw_only=True)
class TrueCut:
    """An annotated transition: frames when known, else times (seconds) resolved with a fps."""

    video: str
    kind: str = "hard"
    start_frame: int | None = None
    end_frame: int | None = None
    start: float | None = None
    end: float | None = None

    @property
    def gradual(self) -> bool:
        return self.kind not in ("hard", "cut")

    def frames(self, fps: float | None) -> tuple[int, int]:
        if self.start_frame is not None:
            return self.start_frame, self.end_frame if self.end_frame is not None else self.start_frame
        if not fps:
            raise UsageError(f"{self.video}: cuts given in seconds need the film's frame rate")
        start = round(self.start * fps)  # type: ignore[operator]
        end = round((self.end if self.end is not None else self.start) * fps)  # type: ignore[operator]
        return start, end


@attrs.frozen
class CutScores:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: CutScores) -> CutScores:
        return CutScores(self.true_positives + other.true_positives,
                         self.false_positives + other.false_positives,
                         self.false_negatives + other.false_negatives)

    def to_dict(self) -> dict[str, Any]:
        return {"precision": round(self.precision, 6), "recall": round(self.recall, 6),
                "f1": round(self.f1, 6), "tp": self.true_positives, "fp": self.false_positives,
                "fn": self.false_negatives}


def distance(span: tuple[int, int], frame: int) -> int:
    """Frames from ``frame`` to the span ``[a, b]`` (0 inside)."""
    a, b = span
    return 0 if a <= frame <= b else min(abs(frame - a), abs(frame - b))


def match_cuts(spans: Sequence[tuple[int, int]], found: Sequence[int],
               tolerance: int = 0) -> list[tuple[int, int]]:
    """Greedy one-to-one ``(span index, found index)`` pairs within ``tolerance`` frames."""
    if tolerance < 0:
        raise UsageError(f"tolerance must be >= 0 frames, got {tolerance}")
    pairs = sorted((d, i, j) for i, span in enumerate(spans) for j, f in enumerate(found)
                   if (d := distance(span, f)) <= tolerance)
    used_i: set[int] = set()
    used_j: set[int] = set()
    out = []
    for _d, i, j in pairs:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return sorted(out)


def score_cuts(truth: Sequence[TrueCut], found: Sequence[int], *, tolerance: int = 0,
               fps: float | None = None) -> dict[str, CutScores]:
    """``{"all", "hard", "gradual"}`` scores of cut frames ``found`` on one film."""
    spans = [t.frames(fps) for t in truth]
    pairs = match_cuts(spans, list(found), tolerance)
    matched_kind = {j: truth[i].gradual for i, j in pairs}
    out = {"all": CutScores(len(pairs), len(found) - len(pairs), len(truth) - len(pairs))}
    for name, gradual in (("hard", False), ("gradual", True)):
        n_true = sum(t.gradual == gradual for t in truth)
        tp = sum(1 for g in matched_kind.values() if g == gradual)
        other = sum(1 for g in matched_kind.values() if g != gradual)
        out[name] = CutScores(tp, len(found) - tp - other, n_true - tp)
    return out


# -- files ---------------------------------------------------------------------------------------
def is_cut_annotation_file(path: str | Path) -> bool:
    """Whether ``path`` holds cut annotations (a CSV with a frame/time column or a ``kind``
    column, or JSON with ``transitions``/``cuts``) rather than scene annotations."""
    p = Path(path)
    try:
        head = p.read_text(encoding="utf-8")[:65536]
    except (OSError, UnicodeDecodeError):
        return False
    if p.suffix.lower() == ".json":
        return '"transitions"' in head or '"cuts"' in head
    first = head.splitlines()[0].lower() if head.strip() else ""
    columns = {c.strip() for c in first.split(",")}
    return bool(columns & {*FRAME_COLUMNS, *TIME_COLUMNS, "kind"})


def load_cuts(path: str | Path) -> dict[str, list[TrueCut]]:
    """Annotated transitions per video from a CSV (``video`` plus ``frame``, ``start_frame`` /
    ``end_frame``, ``time`` or ``start`` / ``end`` seconds; optional ``kind``) or a JSON file as
    ``scenedet synth --kind shots`` writes (``{"films": [{"video", "transitions": [...]}]}``)."""
    p = Path(path)
    text = read_input_text(p, what="cut annotations")
    if p.suffix.lower() == ".json":
        return _from_json(p, text)
    rows = list(csv.DictReader(text.splitlines()))
    out: dict[str, list[TrueCut]] = {}
    for n, row in enumerate(rows, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        video = row.get("video", "")
        if not video:
            raise UsageError(f"{p}: line {n}: no video")
        out.setdefault(video, [])
        try:
            cut = _cut_from_row(video, row)
        except ValueError as exc:
            raise UsageError(f"{p}: line {n}: {exc}") from None
        if cut is not None:
            out[video].append(cut)
    return out


def _cut_from_row(video: str, row: Mapping[str, str]) -> TrueCut | None:
    kind = row.get("kind") or "hard"
    if row.get("frame"):
        f = int(row["frame"])
        return TrueCut(video=video, kind=kind, start_frame=f, end_frame=f)
    if row.get("start_frame"):
        a = int(row["start_frame"])
        b = int(row["end_frame"]) if row.get("end_frame") else a
        if b < a:
            raise ValueError(f"end_frame {b} before start_frame {a}")
        return TrueCut(video=video, kind=kind, start_frame=a, end_frame=b)
    if row.get("time") or row.get("start"):
        a = float(row.get("time") or row["start"])
        b = float(row["end"]) if row.get("end") else a
        if b < a:
            raise ValueError(f"end {b} before start {a}")
        return TrueCut(video=video, kind=kind, start=a, end=b)
    return None  # a film without cuts


def _from_json(p: Path, text: str) -> dict[str, list[TrueCut]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{p}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    films = data.get("films", [data]) if isinstance(data, dict) else data
    out: dict[str, list[TrueCut]] = {}
    for film in films:
        video = film.get("video") if isinstance(film, dict) else None
        if not isinstance(video, str):
            raise UsageError(f"{p}: a film without \"video\"")
        items = film.get("transitions", film.get("cuts", []))
        out[video] = [c for c in (_cut_from_row(video, {k: str(v) for k, v in item.items()
                                                        if v is not None})
                                  for item in items) if c is not None]
    return out


def found_cuts(result: Mapping[str, Any]) -> list[int]:
    """Cut frames of a ``scenedet run`` result of a shot detector (its ``"cuts"``); a result
    without them (a black or silence detector's intervals, a scene) is a one-line
    :class:`UsageError`: its segments' starts are no cuts."""
    if "cuts" not in result:
        raise UsageError(_not_shots(str(result.get("scene", "the result")), "result"))
    return [int(c["frame"]) for c in result["cuts"]]


def _not_shots(name: str, where: str) -> str:
    return (f"{where}: {name} is not a shot detector (its segments are intervals, not shots, "
            "and it lists no cuts): score the result of a shot detector, scenedet run -p shots "
            "or -p shots-content")


def evaluate_cut_results(truth: Mapping[str, list[TrueCut]], results: Iterable[Mapping[str, Any]],
                         *, tolerances: Sequence[int] = (0, 2)) -> dict[str, Any]:
    """Scores pooled over films (per tolerance and kind) and per film, as a JSON-able dict.

    Results are matched to annotated videos by file name.
    """
    from scenedet.evaluation.annotations import match_video

    per_film: dict[str, dict[str, Any]] = {}
    pooled = {t: {k: CutScores(0, 0, 0) for k in ("all", "hard", "gradual")} for t in tolerances}
    for result in results:
        key = match_video(str(result.get("video", "")), set(truth))
        if key is None:
            raise UsageError(f"video {result.get('video')!r} is not in the cut annotations")
        if key in per_film:
            raise UsageError(f"a second result for {key!r}")
        fps = result.get("fps")
        per_film[key] = {}
        for t in tolerances:
            scores = score_cuts(truth[key], found_cuts(result), tolerance=t, fps=fps)
            per_film[key][str(t)] = {k: v.to_dict() for k, v in scores.items()}
            for k, v in scores.items():
                pooled[t][k] = pooled[t][k] + v
    return {"tolerances": list(tolerances),
            "pooled": {str(t): {k: v.to_dict() for k, v in pooled[t].items()} for t in tolerances},
            "films": per_film,
            "not_evaluated": sorted(set(truth) - set(per_film))}


def format_cut_table(report: Mapping[str, Any]) -> str:
    lines = [f"{'tolerance':>9}  {'kind':8} {'precision':>9} {'recall':>7} {'F1':>6} "
             f"{'TP':>5} {'FP':>5} {'FN':>5}"]
    for t in report["tolerances"]:
        for kind, s in report["pooled"][str(t)].items():
            lines.append(f"{'±' + str(t) + ' fr':>9}  {kind:8} {s['precision']:9.3f} "
                         f"{s['recall']:7.3f} {s['f1']:6.3f} {s['tp']:5d} {s['fp']:5d} {s['fn']:5d}")
    if report["not_evaluated"]:
        lines.append(f"not evaluated (no result): {', '.join(report['not_evaluated'])}")
    return "\n".join(lines)


def evaluate_cut_files(annotations: Path, prediction_files: Sequence[Path],
                       tolerances: Sequence[int]) -> dict[str, Any]:
    """What ``scenedet evaluate`` computes from cut annotations and shot detectors' results
    (``scenedet run -p shots ...`` JSON): the report of :func:`evaluate_cut_results`, which the
    command writes and prints (:func:`format_cut_table`)."""
    if not prediction_files:
        raise UsageError("cut annotations are scored from --predictions RESULT.json of a shot "
                         "detector (scenedet run -p shots ...)")
    truth = load_cuts(annotations)
    results = [item for path in prediction_files for item in _shot_results(path)]
    return evaluate_cut_results(truth, results, tolerances=sorted(set(tolerances)))


def _shot_results(path: Path) -> list[dict[str, Any]]:
    """The shot detectors' results in one predictions file (a result, a run document or a
    list; of several, the first); a file of other detectors' results is one line saying so."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"predictions file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    several = isinstance(data, list) or (isinstance(data, dict)
                                         and isinstance(data.get("results"), list))
    items = data if isinstance(data, list) else data["results"] if several else [data]
    frame_items = [i for i in items if isinstance(i, dict) and (
        i.get("time_grid") == "frame" or i.get("kind") == "detector")]
    if not frame_items:
        raise UsageError(f"{path}: no frame-level result (scenedet run -p shots ...)")
    shot_items = [i for i in frame_items if "cuts" in i]
    if not shot_items:
        names = ", ".join(str(i.get("scene", "?")) for i in frame_items)
        raise UsageError(_not_shots(names, str(path)))
    return shot_items[:1] if len(shot_items) > 1 and several else shot_items
