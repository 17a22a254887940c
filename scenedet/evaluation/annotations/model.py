"""Annotated scenes as values: :class:`Annotation`, :class:`AnnotationSet`, per-second labels.

An annotation says "from ``start`` to ``end`` seconds of ``video`` is a scene of the kind"
(``label`` 1), or, in files that mark them, "this stretch is explicitly *not* one" (``label`` 0).
``label`` values, case-insensitive: ``1``/``true``/``yes``/``positive``/``pos`` for a scene of the
kind, ``0``/``false``/``no``/``negative``/``neg`` for an explicit negative; empty or absent means 1.

Labelling rule (as in the paper): time outside the annotated scenes is negative, *unless* the file
marks explicit negatives anywhere (any ``label`` 0): then the annotator only vouched for what they
marked, and the rest of every film in that file is unlabelled (-1, ignored by training and metrics).

Video keys are file names relative to the videos directory, with ``/`` as separator
(``film_000.mp4``, ``season1/ep02.mkv``); matching is exact and case-sensitive. A path to a film
(e.g. the ``video`` of a ``scenedet run`` result) matches the key that equals its path relative to
the videos directory, or, without a directory, the longest key that equals its trailing components
(:func:`match_video`).

Reading and writing files is :mod:`.io`; checking a set against the films is :mod:`.validation`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import attrs
import numpy as np

from scenedet.errors import UsageError

#: Per-second label values.
POSITIVE, NEGATIVE, IGNORE = 1, 0, -1

_TRUE = frozenset({"1", "true", "yes", "positive", "pos"})
_FALSE = frozenset({"0", "false", "no", "negative", "neg"})


class AnnotationError(UsageError):
    """One or more problems in an annotation file; the message is the first, with a count.

    ``problems`` holds every message, so a caller (or a test) can show them all.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else "invalid annotations"
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
        super().__init__(first + suffix)


def video_key(name: str) -> str:
    """Normalise a video name to its key: relative, ``/``-separated, no ``./`` or ``..``."""
    text = str(name).strip().replace("\\", "/")
    if not text:
        raise ValueError("empty video name")
    path = PurePosixPath(text)
    if path.is_absolute() or (len(text) > 1 and text[1] == ":"):
        raise ValueError(f"video {text!r} must be a name relative to the videos directory, "
                         f"not an absolute path")
    parts = [p for p in path.parts if p != "."]
    if ".." in parts or not parts:
        raise ValueError(f"video {text!r} must be a name inside the videos directory")
    return "/".join(parts)


def parse_label(value: Any) -> int:
    """``1``/``true``/``yes``/``positive`` -> 1, ``0``/``false``/``no``/``negative`` -> 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return POSITIVE
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return POSITIVE
    if text in _FALSE:
        return NEGATIVE
    raise ValueError(f"invalid label {value!r}: use 1/0, true/false, yes/no or positive/negative")


def _check_span(instance: Annotation, attribute: attrs.Attribute, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{attribute.name} must be a finite time >= 0, got {value!r}")


@attrs.frozen
class Annotation:
    """``[start, end)`` seconds of ``video`` is a scene of the kind (label 1) or not (label 0).

    ``where`` records the place in the source file (``"line 5"``, ``"item 3"``) for error
    messages; it takes no part in equality.
    """

    video: str = attrs.field(converter=video_key)
    start: float = attrs.field(converter=float, validator=_check_span)
    end: float = attrs.field(converter=float, validator=_check_span)
    label: int = attrs.field(default=POSITIVE, converter=parse_label)
    where: str | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"end {format_seconds(self.end)} is not after start {format_seconds(self.start)}")

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"video": self.video, "start": self.start, "end": self.end, "label": self.label}


@attrs.frozen
class AnnotationSet:
    """The annotations of one file and the films it covers.

    ``videos`` lists every film the file declares (in order of first appearance), including films
    with no scene; only declared films can be evaluated, so a typo in a file name cannot turn into
    a silently all-negative film. Building a set checks that no two annotations of one film overlap.
    """

    annotations: tuple[Annotation, ...] = attrs.field(converter=tuple)
    videos: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    source: str | None = attrs.field(default=None, eq=False)
    #: Where each film first appears in the source file, for messages about the film.
    places: Mapping[str, str] = attrs.field(factory=dict, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        declared = list(dict.fromkeys([*map(video_key, self.videos),
                                       *(a.video for a in self.annotations)]))
        object.__setattr__(self, "videos", tuple(declared))
        places = dict(self.places)
        for a in self.annotations:
            if a.where is not None:
                places.setdefault(a.video, a.where)
        object.__setattr__(self, "places", places)
        problems = _overlaps(self.annotations)
        if problems:
            raise AnnotationError([at_source(self.source, p) for p in problems])

    @property
    def explicit_negatives(self) -> bool:
        """Whether the file marks negatives; then unmarked time is unlabelled, not negative."""
        return any(a.label == NEGATIVE for a in self.annotations)

    def for_video(self, video: str) -> tuple[Annotation, ...]:
        """The annotations of one film, sorted by start."""
        key = video_key(video)
        return tuple(sorted((a for a in self.annotations if a.video == key), key=_by_start))

    def subset(self, videos: Iterable[str]) -> AnnotationSet:
        """The annotations of ``videos`` alone (all declared here), e.g. one split's films.

        Raises :class:`AnnotationError` naming the first film this set does not declare.
        """
        chosen = tuple(dict.fromkeys(video_key(v) for v in videos))
        unknown = [v for v in chosen if v not in self.videos]
        if unknown:
            raise AnnotationError([at_source(self.source, f"no film {unknown[0]!r} in these "
                                                          f"annotations")])
        keep = set(chosen)
        return AnnotationSet([a for a in self.annotations if a.video in keep], videos=chosen,
                             source=self.source,
                             places={v: p for v, p in self.places.items() if v in keep})

    def positives(self, video: str | None = None) -> tuple[Annotation, ...]:
        chosen = self.annotations if video is None else self.for_video(video)
        return tuple(a for a in chosen if a.label == POSITIVE)

    def labels(self, video: str, n_seconds: int) -> np.ndarray:
        """Per-second labels of ``video`` under this file's rule (see :func:`per_second_labels`)."""
        return per_second_labels(self.for_video(video), n_seconds,
                                 explicit_negatives=self.explicit_negatives)

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.annotations)

    def __len__(self) -> int:
        return len(self.annotations)


def per_second_labels(annotations: Iterable[Annotation], n_seconds: int, *,
                      explicit_negatives: bool | None = None) -> np.ndarray:
    """Label every whole second ``[i, i + 1)`` of a film: 1 positive, 0 negative, -1 ignore.

    A second belongs to an annotation when its centre ``i + 0.5`` lies in ``[start, end)``, i.e.
    when the annotation covers the majority of it (an exact half counts for the later scene, so a
    boundary at ``x.5`` never gives a second to both). Seconds under no annotation are 0, or -1 when
    ``explicit_negatives`` (default: whether any of ``annotations`` is a negative; pass the file's
    :attr:`AnnotationSet.explicit_negatives` so that every film of a file follows one rule).
    Annotations reaching past ``n_seconds`` are cut there.
    """
    annotations = list(annotations)
    if n_seconds < 0:
        raise ValueError("n_seconds must be >= 0")
    if explicit_negatives is None:
        explicit_negatives = any(a.label == NEGATIVE for a in annotations)
    out = np.full(n_seconds, IGNORE if explicit_negatives else NEGATIVE, dtype=np.int8)
    for a in annotations:
        first, stop = second_range(a.start, a.end, n_seconds)
        out[first:stop] = a.label
    return out


def second_range(start: float, end: float, n_seconds: int | None = None) -> tuple[int, int]:
    """Indices ``[first, stop)`` of the seconds whose centre lies in ``[start, end)``."""
    first = max(0, math.ceil(start - 0.5))
    stop = max(first, math.ceil(end - 0.5))
    if n_seconds is not None:
        first, stop = min(first, n_seconds), min(stop, n_seconds)
    return first, stop


def match_video(path: str | Path, keys: Collection[str], *,
                videos_dir: str | Path | None = None) -> str | None:
    """The annotation key that a film path refers to, or ``None``.

    With ``videos_dir`` and ``path`` inside it, the key must equal the relative path. Otherwise the
    longest key equal to the trailing components of ``path`` wins (``film_000.mp4`` matches
    ``/data/set/film_000.mp4``).
    """
    text = str(path).replace("\\", "/")
    if videos_dir is not None:
        try:
            rel = Path(path).resolve().relative_to(Path(videos_dir).resolve())
            return rel.as_posix() if rel.as_posix() in keys else None
        except ValueError:
            pass
    parts = [p for p in PurePosixPath(text).parts if p not in (".", "/")]
    for n in range(len(parts), 0, -1):
        candidate = "/".join(parts[-n:])
        if candidate in keys:
            return candidate
    return None



def _overlaps(annotations: Iterable[Annotation]) -> list[str]:
    by_video: dict[str, list[Annotation]] = {}
    for a in annotations:
        by_video.setdefault(a.video, []).append(a)
    problems = []
    for video, items in by_video.items():
        items.sort(key=_by_start)
        latest = items[0]
        for a in items[1:]:
            if a.start < latest.end:
                problems.append(f"{a.where or 'annotation'}: {format_seconds(a.start)}-{format_seconds(a.end)} "
                                f"overlaps {format_seconds(latest.start)}-{format_seconds(latest.end)} of {video}"
                                + (f" ({latest.where})" if latest.where else ""))
            if a.end > latest.end:
                latest = a
    return problems


def _by_start(a: Annotation) -> tuple[float, float]:
    return (a.start, a.end)


def at_source(source: str | None, message: str) -> str:
    """``message`` prefixed with the file it is about, when there is one."""
    return f"{source}: {message}" if source else message


def format_seconds(seconds: float) -> str:
    """Seconds as the shortest decimal to the microsecond: ``12``, ``12.5``, ``0.000001``."""
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return text or "0"
