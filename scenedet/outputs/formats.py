"""The core's text formats: JSON, CSV and WebVTT chapters (EDL and OTIO have their own modules).

Each exporter is ``function(scenes: SceneList) -> str`` (see :class:`~scenedet.plugin.ExporterSpec`):
it renders, the host writes atomically.
"""

from __future__ import annotations

import csv
import io
import json

from scenedet.outputs.document import SceneList
from scenedet.timefmt import format_time

CSV_COLUMNS = ("index", "start_seconds", "end_seconds", "start_timecode", "end_timecode",
               "start_frame", "end_frame", "duration_seconds", "score")


def to_json(scenes: SceneList) -> str:
    """The ``scenedet run`` JSON: scenes with frames and timecodes, scores, settings."""
    return json.dumps(scenes.to_dict(), indent=2) + "\n"


def to_csv(scenes: SceneList) -> str:
    """One row per scene (:data:`CSV_COLUMNS`); an empty score cell when the scene has none."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in scenes.scenes:
        writer.writerow([s.index, f"{s.start:.3f}", f"{s.end:.3f}", s.start_timecode,
                         s.end_timecode, s.start_frame, s.end_frame, f"{s.duration:.3f}",
                         "" if s.score is None else f"{s.score:.4f}"])
    return buf.getvalue()


def vtt_time(seconds: float) -> str:
    """WebVTT's ``HH:MM:SS.mmm``: the CLI's own time format, to the millisecond."""
    return format_time(seconds)


def to_vtt(scenes: SceneList) -> str:
    """WebVTT chapters (``<track kind="chapters">``): one cue per scene, titled with its score."""
    lines = ["WEBVTT", f"NOTE {scenes.scene} scenes of {scenes.name}", ""]
    for s in scenes.scenes:
        title = f"{scenes.scene} {s.index}" + ("" if s.score is None else f" (score {s.score:.2f})")
        lines += [str(s.index), f"{vtt_time(s.start)} --> {vtt_time(s.end)}", title, ""]
    return "\n".join(lines)
