"""Checking annotations against the films they describe: do the films exist, do scenes fit?

Parsing already refuses what a file alone shows wrong (reversed spans, overlaps); what needs the
films is here: every declared film must exist under the videos folder (with a "did you mean"
hint), and no scene may start at or after a film's end nor end much past it. Durations come from
probing the films as the decoder sees them, or from run results. Every message names the file and
the line (CSV) or item (JSON) of the offending annotation.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from scenedet.errors import UsageError
from scenedet.evaluation.annotations.model import (AnnotationError, AnnotationSet, at_source,
                                                   format_seconds)

#: How far past a film's probed duration an annotation may end: containers round durations, and
#: audio often outlasts the last frame by a fraction of a second.
DURATION_TOLERANCE = 0.5


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
                problems.append(at_source(source, f"{place}: unknown video {video!r} (no such "
                                                 f"file{where_dir}){hint}"))
    if durations is not None:
        for a in annotations.annotations:
            duration = durations.get(a.video)
            if duration is None:
                continue
            if a.start >= duration or a.end > duration + tolerance:
                problems.append(at_source(source, f"{a.where or a.video}: {format_seconds(a.start)}-"
                                                 f"{format_seconds(a.end)} runs past the end of {a.video} "
                                                 f"({format_seconds(duration)} s long)"))
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
