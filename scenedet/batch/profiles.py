"""A batch's profile: each film's stage times, measured in the worker that scored it, summed.

A worker (process or Ray actor) has its own :data:`scenedet.profiling.PROFILE`, so the driver
cannot read it: each film's profile travels back with its outcome
(:attr:`~scenedet.batch.jobs.FilmOutcome.profile`), is kept in its ``summary.jsonl`` line, and
:func:`sum_profiles` adds them up for the table ``scenedet batch --profile`` prints. Films run
side by side on several workers, so the sum is of work, not of the batch's wall time: each share
is a stage's seconds over the films' summed wall seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def sum_profiles(profiles: Iterable[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """The films' profiles (:meth:`scenedet.profiling.Profile.to_dict`) added up, stage by
    stage, in the order each stage was first seen; ``None`` when there is none.

    ``{"films": N, "wall_s": summed film wall seconds, "stages": {name: {"seconds", "calls",
    "share"}}}``, the shape of one film's profile plus ``films``.
    """
    films = 0
    wall = 0.0
    stages: dict[str, list[float]] = {}
    for profile in profiles:
        if not profile:
            continue
        films += 1
        wall += float(profile.get("wall_s", 0.0))
        for name, stage in (profile.get("stages") or {}).items():
            total = stages.setdefault(name, [0.0, 0])
            total[0] += float(stage.get("seconds", 0.0))
            total[1] += int(stage.get("calls", 0))
    if films == 0:
        return None
    return {"films": films, "wall_s": round(wall, 6),
            "stages": {name: {"seconds": round(t[0], 6), "calls": int(t[1]),
                              "share": round(t[0] / wall, 4) if wall > 0 else 0.0}
                       for name, t in stages.items()}}


def profile_report(summed: Mapping[str, Any]) -> str:
    """A plain-text table of :func:`sum_profiles`' result, laid out as ``scenedet run
    --profile``'s (:meth:`scenedet.profiling.Profile.report`)."""
    from scenedet.profiling import table

    return table(f"{summed['films']} film(s), {summed['wall_s']:.2f} s of film wall time summed "
                 "(stages on other threads overlap)",
                 [(name, stage["seconds"], stage["calls"], stage["share"])
                  for name, stage in summed["stages"].items()])
