"""What one review holds: the films, their results, the annotations file, the suggested stretches.

The server (:mod:`scenedet.review.app`) only translates HTTP to calls on a :class:`ReviewSession`;
everything a page can see or change is here, as plain Python, so tests and scripts can drive a
review without a browser.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scenedet.errors import UsageError
from scenedet.review.films import ReviewFilm, load_films
from scenedet.review.store import AnnotationStore

#: The name of the annotations file a review writes when none is given, beside the films.
DEFAULT_ANNOTATIONS = "annotations.csv"
#: Seconds between the page's last edit and its automatic save; a killed server loses at most
#: the edits of this interval (each save is a whole, atomic file).
AUTOSAVE_SECONDS = 1.0


def _lanes(doc: Mapping[str, Any]) -> dict[str, Any]:
    """One result document as the page's timeline draws it."""
    segments = [{"start": float(s["start"]), "end": float(s["end"]),
                 "score": s.get("score"), "label": s.get("label")}
                for s in doc.get("segments") or []]
    scores = doc.get("scores")
    cuts = [float(c["time"]) for c in doc.get("cuts") or [] if "time" in c]
    # a scene scores whole seconds; a frame-level detector (time_grid "frame") every frame
    fps = doc.get("fps")
    step = 1.0 / float(fps) if doc.get("time_grid") == "frame" and fps else 1.0
    return {"name": str(doc.get("scene") or "result"), "kind": doc.get("kind") or "scene",
            "scores": [None if v is None else float(v) for v in scores] if scores else None,
            "step": step, "segments": segments, "cuts": cuts}


class ReviewSession:
    """The films of a review and the annotations file it edits.

    ``suggested``: stretches to walk in order (``[{"video", "start", "end", ...}]``, as
    ``scenedet suggest`` writes them); each must name a film under review.
    """

    def __init__(self, root: Path, films: Sequence[ReviewFilm], annotations: str | os.PathLike[str],
                 suggested: Sequence[Mapping[str, Any]] = ()) -> None:
        self.root = root
        self.films = list(films)
        self._by_id = {f.id: f for f in self.films}
        self._by_key = {f.key: f for f in self.films}
        self.store = AnnotationStore(annotations, [f.key for f in self.films])
        self.suggested = [self._stretch(s, i) for i, s in enumerate(suggested)]

    def _stretch(self, item: Mapping[str, Any], index: int) -> dict[str, Any]:
        film = self._by_key.get(str(item.get("video")))
        if film is None:
            raise UsageError(f"suggested stretch {index} is of {item.get('video')!r}, which is "
                             f"not under review")
        return {"film": film.id, "video": film.key, "start": float(item["start"]),
                "end": float(item["end"]), "score": item.get("score")}

    def film(self, film_id: str) -> ReviewFilm:
        """The film with this id; :class:`KeyError` for any other (the server answers 404)."""
        return self._by_id[film_id]

    def overview(self) -> dict[str, Any]:
        """The film list with how much of each is reviewed, and the suggested stretches."""
        films = [{**f.summary(), "reviewed": self.store.reviewed(f.key, f.duration)}
                 for f in self.films]
        return {"films": films, "suggested": self.suggested,
                "annotations": str(self.store.path), "autosave": AUTOSAVE_SECONDS}

    def film_state(self, film_id: str) -> dict[str, Any]:
        """One film for the page: its results as lanes, its shot cuts, its annotations."""
        film = self.film(film_id)
        lanes = [_lanes(doc) for doc in film.results]
        cuts = sorted({t for lane in lanes for t in lane.pop("cuts")})
        return {**film.summary(), "results": lanes, "cuts": cuts,
                "annotations": self.store.film(film.key),
                "reviewed": self.store.reviewed(film.key, film.duration)}

    def save(self, film_id: str, segments: Sequence[Mapping[str, Any]], version: int
             ) -> dict[str, Any]:
        film = self.film(film_id)
        new = self.store.save(film.key, segments, version)
        return {"version": new, "reviewed": self.store.reviewed(film.key, film.duration)}


def open_review(source: str | os.PathLike[str], results: Sequence[str | os.PathLike[str]] = (), *,
                annotations: str | os.PathLike[str] | None = None,
                suggested: str | os.PathLike[str] | None = None) -> ReviewSession:
    """A review of a film or a folder of films, with their results, editing ``annotations``.

    ``annotations`` defaults to ``annotations.csv`` in the folder (or beside the film): the file
    ``scenedet train --annotations`` reads, its ``video`` keys relative to that folder.
    ``suggested``: a file written by :func:`scenedet.review.suggest.suggest` (``scenedet
    suggest``), whose stretches the page walks in order.
    """
    root, films = load_films(source, results)
    path = Path(annotations) if annotations is not None else root / DEFAULT_ANNOTATIONS
    stretches: list[Mapping[str, Any]] = []
    if suggested is not None:
        from scenedet.review.suggest import load_suggestions

        stretches = load_suggestions(suggested)
    return ReviewSession(root, films, path, stretches)
