"""The films a review serves: named on the command line, found once, never by a path from the page.

A review gets a film or a folder. A folder is searched recursively for files with a video suffix
(hidden files and folders skipped); a symlink inside it whose target lies outside the folder is
left out, so a link cannot smuggle another file into the review. Each film gets a short id
(``"0"``, ``"1"``...) and its *key*, its path relative to the folder (or its file name for a film
named directly): the ``video`` column of the annotations file, as ``scenedet train`` reads it.

The page asks for films by id only; the server looks the id up in this table, so no path sent by
a browser ever reaches the file system.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from scenedet.errors import MediaError, UsageError


@attrs.frozen
class ReviewFilm:
    """One film under review: its id in URLs, its annotation key, where it is, what it is."""

    id: str
    key: str
    path: Path
    duration: float
    fps: float
    playable: bool
    #: Why the browser cannot play it (empty when it can).
    reason: str = ""
    #: The results given for this film (result documents, as ``scenedet run`` writes them).
    results: tuple[Mapping[str, Any], ...] = ()

    def summary(self) -> dict[str, Any]:
        """What the page's film list shows."""
        return {"id": self.id, "key": self.key, "duration": self.duration, "fps": self.fps,
                "playable": self.playable, "reason": self.reason}


def _video_suffixes() -> frozenset[str]:
    from scenedet.batch.discovery import VIDEO_SUFFIXES

    return VIDEO_SUFFIXES


def _inside(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _walk(folder: Path) -> list[Path]:
    """Films under ``folder``, sorted; hidden entries and links that leave the folder skipped."""
    suffixes = _video_suffixes()
    found = []
    for here, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(here) / name
            if name.startswith(".") or path.suffix.lower() not in suffixes:
                continue
            if path.is_file() and _inside(path, folder):
                found.append(path)
    return found


def find_films(source: str | os.PathLike[str]) -> tuple[Path, list[tuple[Path, str]]]:
    """``(root, [(path, key), ...])`` for a film or a folder; raises :class:`UsageError`."""
    path = Path(source)
    if path.is_dir():
        films = [(p, p.relative_to(path).as_posix()) for p in _walk(path)]
        if not films:
            raise UsageError(f"no film in {path} (looked for files with a video suffix)")
        return path, films
    if path.is_file():
        return path.parent, [(path, path.name)]
    raise UsageError(f"film or folder not found: {path}")


def _matches(doc: Mapping[str, Any], path: Path, key: str) -> bool:
    video = str(doc.get("video") or "")
    if not video:
        return False
    if os.path.realpath(video) == os.path.realpath(path):
        return True
    text = video.replace("\\", "/")
    return text == key or text.endswith("/" + key)


def attach_results(films: Sequence[tuple[Path, str]], documents: Iterable[Mapping[str, Any]],
                   ) -> list[tuple[Mapping[str, Any], ...]]:
    """The result documents of each film (by the ``video`` each names); a document that names
    none of the films is a :class:`UsageError` (a result of another film given by mistake)."""
    per_film: list[list[Mapping[str, Any]]] = [[] for _ in films]
    for doc in documents:
        hits = [i for i, (path, key) in enumerate(films) if _matches(doc, path, key)]
        if not hits:
            raise UsageError(f"a result for {doc.get('video')!r} names none of the films under "
                             f"review")
        per_film[hits[0]].append(doc)
    return [tuple(docs) for docs in per_film]


def load_films(source: str | os.PathLike[str], result_files: Sequence[str | os.PathLike[str]] = ()
               ) -> tuple[Path, list[ReviewFilm]]:
    """Find, probe and pair the films of a review with their results: ``(root, films)``."""
    from scenedet.media.probe import probe
    from scenedet.outputs.document import load_documents
    from scenedet.outputs.report import browser_playable

    root, found = find_films(source)
    documents = [doc for f in result_files for doc in load_documents(f)]
    results = attach_results(found, documents)
    films: list[ReviewFilm] = []
    for (path, key), docs in zip(found, results):
        try:
            info = probe(path)
        except MediaError as exc:
            if len(found) == 1:
                raise
            warnings.warn(f"left out of the review: {exc}", stacklevel=2)  # one bad file of many
            continue
        playable = browser_playable(path)
        films.append(ReviewFilm(id=str(len(films)), key=key, path=path.resolve(),
                                duration=float(info.duration), fps=float(info.fps),
                                playable=playable.playable, reason=playable.reason,
                                results=docs))
    if not films:
        raise UsageError(f"no film in {source} can be read")
    return root, films
