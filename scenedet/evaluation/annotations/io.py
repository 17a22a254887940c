"""Annotation files: reading CSV or JSON into an :class:`~.model.AnnotationSet`, and writing one.

Files (see ``docs/evaluation.md`` for the full description):

* CSV with a header line naming the columns ``video,start,end`` and optionally ``label``, in any
  order. Times take every form the CLI takes (``123``, ``12.5s``, ``00:02:03.500``). Blank lines
  and lines starting with ``#`` are skipped. A row with empty ``start`` and ``end`` declares a film
  that was annotated and holds no scene at all (otherwise such a film could not be listed).
* JSON: a list of objects with the same fields, or ``{"annotations": [...], "videos": [...]}``
  where the optional ``videos`` declares films (including ones without any scene).

Every problem found in a file is reported with the file and its place: ``line N`` for CSV (the
physical line, 1-based, header included) and ``item N`` for JSON (0-based index into the list).
Reading collects every problem before raising, so one :class:`~.model.AnnotationError` lists them
all.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from scenedet.errors import UsageError
from scenedet.evaluation.annotations.model import (Annotation, AnnotationError, AnnotationSet,
                                                   format_seconds, video_key)
from scenedet.evaluation.annotations.validation import existing_videos, probe_durations, validate
from scenedet.files import output_file, read_input_text, write_json
from scenedet.timefmt import parse_time

CSV_COLUMNS = ("video", "start", "end", "label")
_REQUIRED_COLUMNS = ("video", "start", "end")


def load_annotations(path: str | Path, *, videos_dir: str | Path | None = None,
                     durations: Mapping[str, float] | None = None) -> AnnotationSet:
    """Read a CSV or JSON annotation file (chosen by suffix: ``.json`` is JSON, else CSV).

    With ``videos_dir``, every film must exist there and no annotation may run past the film's
    end (durations probed with PyAV); ``durations`` gives them directly instead. Raises
    :class:`AnnotationError` (a :class:`UsageError`) listing every problem with its place.
    """
    path = Path(path)
    text = read_input_text(path, what="annotation file")
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
                writer.writerow([a.video, format_seconds(a.start), format_seconds(a.end), a.label])
    else:
        raise UsageError(f"cannot save annotations as {path.name!r}: use a .csv or .json name")
