"""OpenTimelineIO: one video track with a clip per scene, gaps between, referencing the film.

Written with the ``opentimelineio`` package (its ``otio_json`` adapter), so any OTIO reader
(DaVinci Resolve, Premiere through adapters, Nuke Studio, ``otioview``) opens it. The track
mirrors the film: a scene at 10-20 s sits at 10-20 s on the timeline. Each clip's
``source_range`` is the scene's frames at the film's rate; ``metadata["scenedet"]`` holds the
scene's index and score; a marker on each clip carries the same label for editors that show
markers rather than clip names.
"""

from __future__ import annotations

from pathlib import Path

from scenedet.outputs.document import SceneList


def build_timeline(scenes: SceneList):
    """The :class:`opentimelineio.schema.Timeline` of ``scenes``."""
    import opentimelineio as otio

    rate = float(scenes.frame_rate.value)
    film = Path(scenes.video)
    url = film.resolve().as_uri() if film.is_absolute() or film.exists() else scenes.video
    total = max(scenes.duration, max((s.end for s in scenes.scenes), default=0.0))
    available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                        otio.opentime.RationalTime(round(total * rate), rate))
    timeline = otio.schema.Timeline(name=f"{scenes.name} {scenes.scene} scenes")
    timeline.metadata["scenedet"] = {"video": scenes.video, "scene": scenes.scene,
                                     "frame_rate": scenes.frame_rate.to_dict()}
    track = otio.schema.Track(name=scenes.scene, kind=otio.schema.TrackKind.Video)
    at = 0
    for s in scenes.scenes:
        if s.start_frame > at:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(s.start_frame - at, rate))))
        ref = otio.schema.ExternalReference(target_url=url, available_range=available)
        clip = otio.schema.Clip(name=f"{scenes.scene} {s.index}", media_reference=ref,
                                source_range=otio.opentime.TimeRange(
                                    otio.opentime.RationalTime(s.start_frame, rate),
                                    otio.opentime.RationalTime(s.end_frame - s.start_frame, rate)))
        clip.metadata["scenedet"] = {"index": s.index, "score": s.score,
                                     "start_timecode": s.start_timecode,
                                     "end_timecode": s.end_timecode}
        clip.markers.append(otio.schema.Marker(
            name=clip.name, marked_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(s.start_frame, rate), otio.opentime.RationalTime(0, rate))))
        track.append(clip)
        at = s.end_frame
    timeline.tracks.append(track)
    return timeline


def to_otio(scenes: SceneList) -> str:
    import opentimelineio as otio

    return otio.adapters.write_to_string(build_timeline(scenes), "otio_json")
