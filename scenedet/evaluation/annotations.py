"""Annotated scenes of films: reading, checking and saving them, and per-second labels.

An annotation says "from ``start`` to ``end`` seconds of ``video`` is a scene of the kind"
(``label`` 1), or, in files that mark them, "this stretch is explicitly *not* one" (``label`` 0).

Files (see ``docs/evaluation.md`` for the full description):

* CSV with a header line naming the columns ``video,start,end`` and optionally ``label``, in any
  order. Times take every form the CLI takes (``123``, ``12.5s``, ``00:02:03.500``). Blank lines
  and lines starting with ``#`` are skipped. A row with empty ``start`` and ``end`` declares a film
  that was annotated and holds no scene at all (otherwise such a film could not be listed).
* JSON: a list of objects with the same fields, or ``{"annotations": [...], "videos": [...]}``
  where the optional ``videos`` declares films (including ones without any scene).

``label`` values, case-insensitive: ``1``/``true``/``yes``/``positive``/``pos`` for a scene of the
kind, ``0``/``false``/``no``/``negative``/``neg`` for an explicit negative; empty or absent means 1.

Labelling rule (as in the paper): time outside the annotated scenes is negative, *unless* the file
marks explicit negatives anywhere (any ``label`` 0): then the annotator only vouched for what they
marked, and the rest of every film in that file is unlabelled (-1, ignored by training and metrics).

Video keys are file names relative to the videos directory, with ``/`` as separator
(``film_000.mp4``, ``season1/ep02.mkv``); matching is exact and case-sensitive. A path to a film
(e.g. the ``video`` of a ``scenedet run`` result) matches the key that equals its path relative to
the videos directory, or, without a directory, the longest key that equals its trailing components.

Every problem found in a file is reported with the file and its place: ``line N`` for CSV (the
physical line, 1-based, header included) and ``item N`` for JSON (0-based index into the list).
"""

from __future__ import annotations

import csv
import difflib
import json
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import attrs
import numpy as np

from scenedet.errors import UsageError
from scenedet.files import output_file, write_json
from scenedet.timefmt import parse_time

#: Per-second label values.
POSITIVE, NEGATIVE, IGNORE = 1, 0, -1

CSV_COLUMNS = ("video", "start", "end", "label")
_REQUIRED_COLUMNS = ("video", "start", "end")
_TRUE = frozenset({"1", "true", "yes", "positive", "pos"})
_FALSE = frozenset({"0", "false", "no", "negative", "neg"})
#: How far past a film's probed duration an annotation may end: containers round durations, and
#: audio often outlasts the last frame by a fraction of a second.
DURATION_TOLERANCE = 0.5


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
            raise ValueError(f"end {_fmt(self.end)} is not after start {_fmt(self.start)}")

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
            raise AnnotationError([_located(self.source, p) for p in problems])

    @property
    def explicit_negatives(self) -> bool:
        """Whether the file marks negatives; then unmarked time is unlabelled, not negative."""
        return any(a.label == NEGATIVE for a in self.annotations)

    def for_video(self, video: str) -> tuple[Annotation, ...]:
        """The annotations of one film, sorted by start."""
        key = video_key(video)
        return tuple(sorted((a for a in self.annotations if a.video == key), key=_by_start))

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


# ----------------------------------------------------------------------------------- loading


def load_annotations(path: str | Path, *, videos_dir: str | Path | None = None,
                     durations: Mapping[str, float] | None = None) -> AnnotationSet:
    """Read a CSV or JSON annotation file (chosen by suffix: ``.json`` is JSON, else CSV).

    With ``videos_dir``, every film must exist there and no annotation may run past the film's
    end (durations probed with PyAV); ``durations`` gives them directly instead. Raises
    :class:`AnnotationError` (a :class:`UsageError`) listing every problem with its place.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"annotation file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read annotation file {path}: {exc}") from None
    if path.suffix.lower() == ".json":
        annotations, videos, problems = _parse_json(text, str(path))
    else:
        annotations, videos, problems = _parse_csv(text, str(path))
    if problems:
        raise AnnotationError(problems)
    result = AnnotationSet(annotations, [v for v, _ in videos], source=str(path),
                           places={v: where for v, where in reversed(videos)})
    known: Collection[str] | None = None
    if videos_dir is not None:
        known = existing_videos(videos_dir, result.videos)
        if durations is None:
            durations = probe_durations(videos_dir, known)
    validate(result, durations, known_videos=known, videos_dir=videos_dir)
    return result


def _parse_csv(text: str, source: str
               ) -> tuple[list[Annotation], list[tuple[str, str]], list[str]]:
    annotations: list[Annotation] = []
    videos: list[tuple[str, str]] = []
    problems: list[str] = []
    reader = csv.reader(text.splitlines(keepends=True))
    columns: list[str] | None = None
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            columns = [cell.strip().lower() for cell in row]
            unknown = [c for c in columns if c not in CSV_COLUMNS]
            missing = [c for c in _REQUIRED_COLUMNS if c not in columns]
            if unknown or missing or len(set(columns)) != len(columns):
                what = (f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown else
                        f"missing column(s) {', '.join(missing)}" if missing else
                        "repeated column")
                return [], [], [f"{source}: line {line}: the first line must be a header "
                                f"video,start,end[,label] ({what})"]
            continue
        if len(row) != len(columns):
            problems.append(f"{source}: line {line}: expected {len(columns)} fields "
                            f"({','.join(columns)}), got {len(row)}")
            continue
        _parse_record(dict(zip(columns, row)), f"line {line}", source, annotations, videos,
                      problems)
    if columns is None:
        problems.append(f"{source}: empty file: the first line must be a header "
                        f"video,start,end[,label]")
    return annotations, videos, problems


def _parse_json(text: str, source: str
                ) -> tuple[list[Annotation], list[tuple[str, str]], list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [], [f"{source}: line {exc.lineno}: invalid JSON: {exc.msg}"]
    declared: list[Any] = []
    if isinstance(data, dict):
        extra = set(data) - {"annotations", "videos"}
        if "annotations" not in data or extra:
            return [], [], [f"{source}: expected a list of annotations or an object with "
                            f"\"annotations\" (and optionally \"videos\")"]
        declared = data.get("videos") or []
        data = data["annotations"]
    if not isinstance(data, list) or not isinstance(declared, list):
        return [], [], [f"{source}: \"annotations\" and \"videos\" must be lists"]
    annotations: list[Annotation] = []
    videos: list[tuple[str, str]] = []
    problems: list[str] = []
    for index, name in enumerate(declared):
        try:
            videos.append((video_key(name), f"videos[{index}]"))
        except (ValueError, TypeError) as exc:
            problems.append(f"{source}: videos[{index}]: {exc}")
    for index, item in enumerate(data):
        where = f"item {index}"
        if not isinstance(item, dict):
            problems.append(f"{source}: {where}: expected an object with video, start, end")
            continue
        unknown = sorted(set(item) - set(CSV_COLUMNS))
        if unknown:
            problems.append(f"{source}: {where}: unknown field(s) {', '.join(map(repr, unknown))}"
                            f" (allowed: {', '.join(CSV_COLUMNS)})")
            continue
        _parse_record(item, where, source, annotations, videos, problems)
    return annotations, videos, problems


def _parse_record(record: Mapping[str, Any], where: str, source: str,
                  annotations: list[Annotation], videos: list[tuple[str, str]],
                  problems: list[str]) -> None:
    """One row/item -> an annotation, a declared film (empty start and end), or a problem."""
    def blank(value: Any) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    try:
        video = video_key(record.get("video") or "")
        start, end = record.get("start"), record.get("end")
        if blank(start) and blank(end):
            videos.append((video, where))
            return
        for name, value in (("start", start), ("end", end)):
            if blank(value):
                raise ValueError(f"{name} is empty (leave both start and end empty to declare "
                                 f"a film without scenes)")
        try:
            start_s, end_s = parse_time(start), parse_time(end)
        except (ValueError, TypeError) as exc:
            raise ValueError(str(exc)) from None
        annotations.append(Annotation(video, start_s, end_s, record.get("label"), where=where))
    except (ValueError, TypeError) as exc:
        problems.append(f"{source}: {where}: {exc}")


# -------------------------------------------------------------------------------- validation


def validate(annotations: AnnotationSet, durations: Mapping[str, float] | None = None, *,
             known_videos: Collection[str] | None = None, videos_dir: str | Path | None = None,
             tolerance: float = DURATION_TOLERANCE) -> None:
    """Check annotations against the films: raise :class:`AnnotationError` on any problem.

    ``known_videos``: the keys of the films that exist; every declared film must be one of them.
    ``durations``: seconds per video key; an annotation may not start at or after the film's end
    nor end more than ``tolerance`` seconds after it. Films missing from ``durations`` are not
    checked for length. (Overlaps and reversed spans are already refused when the set is built.)
    """
    problems: list[str] = []
    source = annotations.source
    where_dir = f" in {videos_dir}" if videos_dir is not None else ""
    if known_videos is not None:
        known = set(known_videos)
        for video in annotations.videos:
            if video not in known:
                near = difflib.get_close_matches(video, sorted(known), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                place = annotations.places.get(video) or "video"
                problems.append(_located(source, f"{place}: unknown video {video!r} (no such "
                                                 f"file{where_dir}){hint}"))
    if durations is not None:
        for a in annotations.annotations:
            duration = durations.get(a.video)
            if duration is None:
                continue
            if a.start >= duration or a.end > duration + tolerance:
                problems.append(_located(source, f"{a.where or a.video}: {_fmt(a.start)}-"
                                                 f"{_fmt(a.end)} runs past the end of {a.video} "
                                                 f"({_fmt(duration)} s long)"))
    if problems:
        raise AnnotationError(problems)


def existing_videos(videos_dir: str | Path, keys: Iterable[str]) -> set[str]:
    """The keys among ``keys`` that name a file under ``videos_dir``."""
    root = Path(videos_dir)
    if not root.is_dir():
        raise UsageError(f"videos directory not found: {root}")
    return {key for key in keys if (root / key).is_file()}


def probe_durations(videos_dir: str | Path, keys: Iterable[str]) -> dict[str, float]:
    """Duration in seconds of each film ``videos_dir/key``, as the decoder will see it.

    Uses :func:`scenedet.media.probe.probe`, so the "end of the film" here is the one whole-second
    scoring stops at; an unreadable film raises :class:`~scenedet.errors.MediaError`.
    """
    from scenedet.media.probe import probe

    return {key: float(probe(Path(videos_dir) / key).duration) for key in keys}


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


# ------------------------------------------------------------------------------------ saving


def save_annotations(path: str | Path, annotations: AnnotationSet | Iterable[Annotation]) -> None:
    """Write annotations as CSV or JSON (by suffix: ``.csv`` or ``.json``).

    Films declared without any scene are kept (an empty CSV row / the ``videos`` list), so a
    file read back is equal to the set written. Times are written as seconds (to the microsecond).
    """
    path = Path(path)
    aset = annotations if isinstance(annotations, AnnotationSet) else AnnotationSet(annotations)
    rows = sorted(aset.annotations, key=lambda a: (aset.videos.index(a.video), a.start))
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = {"videos": list(aset.videos), "annotations": [a.to_dict() for a in rows]}
        write_json(path, data)
    elif suffix == ".csv":
        with output_file(path, "w") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            with_scenes = {a.video for a in rows}
            for video in aset.videos:
                if video not in with_scenes:
                    writer.writerow([video, "", "", ""])
            for a in rows:
                writer.writerow([a.video, _fmt(a.start), _fmt(a.end), a.label])
    else:
        raise UsageError(f"cannot save annotations as {path.name!r}: use a .csv or .json name")


# ----------------------------------------------------------------------------------- helpers


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
                problems.append(f"{a.where or 'annotation'}: {_fmt(a.start)}-{_fmt(a.end)} "
                                f"overlaps {_fmt(latest.start)}-{_fmt(latest.end)} of {video}"
                                + (f" ({latest.where})" if latest.where else ""))
            if a.end > latest.end:
                latest = a
    return problems


def _by_start(a: Annotation) -> tuple[float, float]:
    return (a.start, a.end)


def _located(source: str | None, message: str) -> str:
    return f"{source}: {message}" if source else message


def _fmt(seconds: float) -> str:
    """Seconds as the shortest decimal to the microsecond: ``12``, ``12.5``, ``0.000001``."""
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return text or "0"
