"""The annotations file under review: one writer, versions per film, atomic saves.

The file is the one ``scenedet train`` reads (CSV or JSON by suffix, ``video,start,end,label``;
:mod:`scenedet.evaluation.annotations`), written whole on every save through
:func:`~scenedet.evaluation.annotations.save_annotations`, which writes a temporary file and
renames it: a killed server leaves the last saved file, never half of one. Films of the file that
are not under review are kept as they were.

Two tabs (or a tab and an editor) must never lose an update. Each film has a version number that
the page receives with the film's annotations and sends back with its save; a save whose version
is not the current one is refused (:class:`StaleVersion`) and the page says so, instead of
overwriting what the other tab saved. A change made to the file by another program is noticed
(by its size and modification time) before every read and save: the file is read again and the
films whose annotations changed get a new version, so a page that still shows the old ones is
refused too.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from scenedet.errors import UsageError
from scenedet.evaluation.annotations import (NEGATIVE, POSITIVE, Annotation, AnnotationSet,
                                             load_annotations, save_annotations)


class StaleVersion(UsageError):
    """A save from a page that did not see the latest version of the film's annotations."""

    def __init__(self, key: str, current: int) -> None:
        self.key, self.current = key, current
        super().__init__(f"the annotations of {key} were changed elsewhere (another tab or "
                         f"program) since this page loaded them; reload to see them: this save "
                         f"was not written")


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def parse_segments(key: str, segments: Iterable[Mapping[str, Any]]) -> list[Annotation]:
    """The page's segments of one film as annotations; :class:`UsageError` for a bad one."""
    out = []
    for index, seg in enumerate(segments):
        try:
            start, end = float(seg["start"]), float(seg["end"])
            if not (math.isfinite(start) and math.isfinite(end)):
                raise ValueError("times must be finite")
            out.append(Annotation(key, start, end, seg.get("label", POSITIVE),
                                  where=f"segment {index}"))
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"segment {index} of {key}: {exc}") from None
    AnnotationSet(out)  # refuses overlaps, naming both segments
    return out


class AnnotationStore:
    """The annotations of one file, held in memory, saved atomically with a version check."""

    def __init__(self, path: str | os.PathLike[str], keys: Sequence[str]) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in (".csv", ".json"):
            raise UsageError(f"cannot save annotations as {self.path.name!r}: use a .csv or "
                             f".json name")
        self.keys = tuple(keys)
        self._lock = threading.Lock()
        self._annotations: dict[str, list[Annotation]] = {}
        self._declared: list[str] = []
        self._versions: dict[str, int] = {}
        self._seen: tuple[int, int, int] | None = None
        self._read()

    # -- reading ---------------------------------------------------------------------------------
    def _read(self) -> None:
        """(Re)read the file; films whose annotations changed get a new version."""
        signature = _signature(self.path)
        aset = (load_annotations(self.path) if signature is not None
                else AnnotationSet([]))
        fresh: dict[str, list[Annotation]] = {}
        for a in aset.annotations:
            fresh.setdefault(a.video, []).append(a)
        for key in set(fresh) | set(self._annotations) | set(aset.videos) | set(self._declared):
            before = (sorted(self._annotations.get(key, []), key=_order), key in self._declared)
            after = (sorted(fresh.get(key, []), key=_order), key in aset.videos)
            if before != after:
                self._versions[key] = self._versions.get(key, 0) + 1
        self._annotations, self._declared = fresh, list(aset.videos)
        self._seen = signature

    def _refresh(self) -> None:
        if _signature(self.path) != self._seen:
            self._read()

    def version(self, key: str) -> int:
        with self._lock:
            self._refresh()
            return self._versions.get(key, 0)

    def film(self, key: str) -> dict[str, Any]:
        """One film's annotations, version and whether the file declares it."""
        with self._lock:
            self._refresh()
            return {"version": self._versions.get(key, 0),
                    "declared": key in self._declared,
                    "segments": [{"start": a.start, "end": a.end, "label": a.label}
                                 for a in sorted(self._annotations.get(key, []), key=_order)]}

    def explicit_negatives(self) -> bool:
        with self._lock:
            return any(a.label == NEGATIVE for items in self._annotations.values() for a in items)

    def reviewed(self, key: str, duration: float) -> float:
        """How much of a film is labelled, 0..1: all of it when the file declares the film and
        marks no negatives (unmarked time is then negative); else the part its annotations cover
        (unmarked time is then unlabelled)."""
        with self._lock:
            self._refresh()
            if key not in self._declared:
                return 0.0
            items = self._annotations.get(key, [])
            if not any(a.label == NEGATIVE for v in self._annotations.values() for a in v):
                return 1.0
            covered = sum(min(a.end, duration) - min(a.start, duration) for a in items)
            return max(0.0, min(1.0, covered / duration)) if duration > 0 else 1.0

    # -- writing ---------------------------------------------------------------------------------
    def save(self, key: str, segments: Iterable[Mapping[str, Any]], version: int) -> int:
        """Replace the annotations of film ``key`` if ``version`` is current; the new version.

        Raises :class:`StaleVersion` when another save (or program) changed them first, and
        :class:`UsageError` for a key not under review or a bad segment.
        """
        if key not in self.keys:
            raise UsageError(f"no film {key!r} under review")
        items = parse_segments(key, segments)
        with self._lock:
            self._refresh()
            current = self._versions.get(key, 0)
            if int(version) != current:
                raise StaleVersion(key, current)
            annotations = {**self._annotations, key: items}
            declared = self._declared + ([key] if key not in self._declared else [])
            everything = [a for k in declared for a in annotations.get(k, [])]
            save_annotations(self.path, AnnotationSet(everything, declared))
            self._annotations, self._declared = annotations, declared
            self._versions[key] = current + 1
            self._seen = _signature(self.path)
            return current + 1


def _order(a: Annotation) -> tuple[float, float, int]:
    return (a.start, a.end, a.label)
