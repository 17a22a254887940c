"""Where to label next: the stretches of a library where a model is least sure.

Labelling helps most where the model is unsure: a second scored 0.5 teaches the head more than
one scored 0.02. For each film, each second gets an *uncertainty* ``1 - |2p - 1|`` (1 at p = 0.5,
0 at p = 0 or 1) from the model's per-second probability ``p``; with two or more models (a
temporal and a linear head, say) the spread of their probabilities, ``max p - min p``, is added:
where two heads disagree, at least one of them is wrong. The default rule,
``"uncertain+positive"``, adds ``p`` itself: a scene of one's own is rare, and uncertainty alone
keeps choosing the hard negatives a young model hesitates over (the stretches that look almost
like the scene) and starves the head of positives; ``"uncertain"`` is the plain rule
(``benchmarks/suggest.py`` measures both, docs/performance.md). A stretch is ``length`` whole
seconds; its score is the mean of its seconds'. :func:`rank_stretches` slides over every film and picks
the best ``n`` stretches that do not overlap, best first; :func:`suggest` runs the models over
the films first. The list is a JSON file (:func:`save_suggestions`) that ``scenedet review
--suggested`` walks in order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet.errors import UsageError
from scenedet.files import read_input_text, write_json

#: ``"scenedet": SUGGESTIONS`` marks a suggestions file.
SUGGESTIONS = "suggestions"


@attrs.frozen
class Stretch:
    """``[start, end)`` seconds of film ``video``, with its score (higher: label it sooner)."""

    video: str
    start: float
    end: float
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"video": self.video, "start": self.start, "end": self.end,
                "score": round(self.score, 6)}


#: The ways to score a second: see the module doc.
RULES = ("uncertain+positive", "uncertain")


def uncertainty(probabilities: Sequence[np.ndarray], rule: str = "uncertain") -> np.ndarray:
    """Per second: ``1 - |2p - 1|`` of the mean probability, plus the models' spread, plus
    (rule ``"uncertain+positive"``) the mean probability itself."""
    if rule not in RULES:
        raise UsageError(f"unknown rule {rule!r}: use {' or '.join(RULES)}")
    stack = np.vstack([np.asarray(p, dtype=np.float64) for p in probabilities])
    if not stack.size:
        return np.zeros(0)
    stack = np.nan_to_num(stack, nan=0.5)
    mean = stack.mean(axis=0)
    score = 1.0 - np.abs(2.0 * mean - 1.0) + (stack.max(axis=0) - stack.min(axis=0))
    return score + mean if rule == "uncertain+positive" else score


def rank_stretches(scores: Mapping[str, Sequence[np.ndarray]], n: int, *, length: int = 10,
                   labelled: Mapping[str, np.ndarray] | None = None,
                   rule: str = "uncertain+positive") -> list[Stretch]:
    """The ``n`` best non-overlapping stretches of ``length`` seconds, best first.

    ``scores`` maps each film's key to its models' per-second probabilities (one array per
    model, all of one length). ``labelled`` (per film, one bool per second) marks seconds
    labelled already: no stretch holds one. ``rule``: see :data:`RULES`. Ties go to the earlier film and second, so the
    ranking is reproducible. A film shorter than ``length`` is one stretch of its whole length.
    """
    if n < 1 or length < 1:
        raise UsageError("the number of stretches and their length must be at least 1")
    candidates: list[tuple[float, int, int, str, int, int]] = []
    for order, (video, probs) in enumerate(scores.items()):
        u = uncertainty(probs, rule)
        if not u.size:
            continue
        size = min(length, u.size)
        sums = np.convolve(u, np.ones(size), mode="valid") / size
        done = np.zeros(u.size, bool)
        if labelled is not None and video in labelled:
            known = np.asarray(labelled[video], bool)[:u.size]
            done[:known.size] = known
        busy = np.convolve(done.astype(np.int64), np.ones(size, np.int64), mode="valid") > 0
        for start, value in enumerate(sums):
            if not busy[start]:
                candidates.append((-float(value), order, start, video, start, start + size))
    candidates.sort()
    taken: dict[str, list[tuple[int, int]]] = {}
    out: list[Stretch] = []
    for neg, _order, _s, video, start, end in candidates:
        spans = taken.setdefault(video, [])
        if any(start < e and s < end for s, e in spans):
            continue
        spans.append((start, end))
        out.append(Stretch(video, float(start), float(end), -neg))
        if len(out) == n:
            break
    return out


class _Scorer:
    """Each model's per-second probability over a film; the models load once for the library."""

    def __init__(self, models: Sequence[str | os.PathLike[str]], device: str) -> None:
        from scenedet.engine import Engine
        from scenedet.inference.modelfile import load_model_file

        self.engines = []
        for model in models:
            scene = load_model_file(model).meta.scene
            self.engines.append((scene, Engine([scene], model=model, device=device)))

    def __call__(self, film: str | os.PathLike[str]) -> list[np.ndarray]:
        out = []
        for scene, engine in self.engines:
            doc = engine.run(film).documents()[scene]
            out.append(np.asarray([np.nan if v is None else v for v in doc["scores"]], np.float64))
        return out


def film_probabilities(film: str | os.PathLike[str], models: Sequence[str | os.PathLike[str]], *,
                       device: str = "cpu") -> list[np.ndarray]:
    """Each model's per-second probability over ``film``."""
    return _Scorer(models, device)(film)


def labelled_seconds(annotations: str | os.PathLike[str], lengths: Mapping[str, int]
                     ) -> dict[str, np.ndarray]:
    """Per film, which seconds an annotations file labels already (as training reads it: all of
    a declared film when the file marks no negatives, else what its annotations cover)."""
    from scenedet.evaluation.annotations import load_annotations

    aset = load_annotations(annotations)
    return {key: aset.labels(key, n) >= 0 for key, n in lengths.items() if key in aset.videos}


def suggest(library: str | os.PathLike[str], models: Sequence[str | os.PathLike[str]], n: int, *,
            length: int = 10, device: str = "cpu", rule: str = "uncertain+positive",
            annotations: str | os.PathLike[str] | None = None,
            log: Callable[[str], None] = lambda _m: None) -> list[Stretch]:
    """The ``n`` stretches of the films of ``library`` (a film or a folder) where ``models`` are
    least sure or disagree most, best first; video keys relative to the folder, as the
    annotations file of a review of that folder has them. With ``annotations``, what that file
    labels already is left out."""
    from scenedet.review.films import find_films

    if not models:
        raise UsageError("suggest needs at least one model")
    uncertainty([np.zeros(1)], rule)  # an unknown rule says so before any model loads
    _root, films = find_films(library)
    scorer = _Scorer(models, device)
    scores: dict[str, list[np.ndarray]] = {}
    for i, (path, key) in enumerate(films, 1):
        log(f"[{i}/{len(films)}] {key}")
        scores[key] = scorer(path)
    labelled = None
    if annotations is not None and Path(annotations).exists():
        labelled = labelled_seconds(annotations, {k: len(p[0]) for k, p in scores.items()})
    return rank_stretches(scores, n, length=length, labelled=labelled, rule=rule)


def save_suggestions(path: str | os.PathLike[str], stretches: Sequence[Stretch],
                     library: str | os.PathLike[str] | None = None) -> Path:
    """Write the stretches (atomically) as ``{"scenedet": "suggestions", "stretches": [...]}``."""
    data: dict[str, Any] = {"scenedet": SUGGESTIONS, "stretches": [s.to_dict() for s in stretches]}
    if library is not None:
        data["library"] = os.fspath(library)
    return write_json(path, data)


def load_suggestions(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The stretches of a suggestions file, in order; :class:`UsageError` for another file."""
    import json

    text = read_input_text(path, what="suggestions file")
    try:
        data = json.loads(text)
        stretches = data["stretches"] if data.get("scenedet") == SUGGESTIONS else None
    except (ValueError, AttributeError, KeyError):
        stretches = None
    if not isinstance(stretches, list):
        raise UsageError(f"{os.fspath(path)} is not a suggestions file (scenedet suggest "
                         f"writes one)")
    for i, item in enumerate(stretches):
        if not (isinstance(item, dict) and {"video", "start", "end"} <= set(item)):
            raise UsageError(f"{os.fspath(path)}: stretch {i} needs video, start and end")
    return stretches
