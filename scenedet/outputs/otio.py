"""OpenTimelineIO: one video track with a clip per scene, gaps between, referencing the film.

Written with the ``opentimelineio`` package (its ``otio_json`` adapter), so any OTIO reader
(DaVinci Resolve, Premiere through adapters, Nuke Studio, ``otioview``) opens it. The track
mirrors the film: a scene at 10-20 s sits at 10-20 s on the timeline. Each clip's
``source_range`` is the scene's frames at the film's rate; ``metadata["scenedet"]`` holds the
scene's index and score; a marker on each clip carries the same label for editors that show
markers rather than clip names.

The same timeline, serialised by OpenTimelineIO's adapter packages, is the editors' XML:
``.fcpxml`` (Final Cut Pro X, adapter ``fcpx_xml`` from ``otio-fcpx-xml-adapter``) and ``.xml``
(FCP 7 XML, "xmeml", which Premiere Pro and DaVinci Resolve import; adapter ``fcp_xml`` from
``otio-fcp-adapter``). What each adapter cannot say by itself is mended here (see
:func:`to_fcpxml` and :func:`to_fcp7_xml`).
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from scenedet.errors import ScenedetError, UsageError, one_line
from scenedet.outputs.document import SceneList
from scenedet.outputs.timecode import seconds_to_frame


def film_url(video: str, *, absolute: bool = False) -> str:
    """The film's ``file:`` URL: a path that is here (or absolute) as an absolute URL.

    A relative path that is not here stays as written, unless ``absolute`` (the editors' XML
    needs a URL): then it is taken relative to the working folder. A URL stays a URL.
    """
    if "://" in video:
        return video
    film = Path(video)
    return film.resolve().as_uri() if absolute or film.is_absolute() or film.exists() else video


def build_timeline(scenes: SceneList, *, absolute_url: bool = False):
    """The :class:`opentimelineio.schema.Timeline` of ``scenes``.

    ``absolute_url``: reference the film by an absolute ``file:`` URL even when it is not here
    (:func:`film_url`).
    """
    import opentimelineio as otio

    rate = float(scenes.frame_rate.value)
    url = film_url(scenes.video, absolute=absolute_url)
    # the film's frames, at least up to the last scene's end (round() of a half would be even)
    total = max([seconds_to_frame(scenes.duration, scenes.frame_rate)]
                + [s.end_frame for s in scenes.scenes])
    available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                        otio.opentime.RationalTime(total, rate))
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


# -- editors' XML, through OpenTimelineIO's adapter packages --------------------------------------
_ADAPTERS = {"fcpx_xml": ("Final Cut Pro X XML", "otio-fcpx-xml-adapter"),
             "fcp_xml": ("FCP 7 XML", "otio-fcp-adapter")}


def _editors_timeline(scenes: SceneList, what: str):
    if not scenes.video:
        raise UsageError(f"{what} references the film, and this result names none: give the "
                         "film (scenedet export --video FILM)")
    return build_timeline(scenes, absolute_url=True)


def _write_with(timeline, adapter: str) -> str:
    """``timeline`` serialised by the OTIO adapter ``adapter``; its failure is one line."""
    import opentimelineio as otio

    what, package = _ADAPTERS[adapter]
    if adapter not in otio.adapters.available_adapter_names():
        raise ScenedetError(f"{what} is written by OpenTimelineIO's {adapter!r} adapter, which is "
                            f"not installed: pip install {package}")
    try:
        return otio.adapters.write_to_string(timeline, adapter_name=adapter)
    except Exception as exc:  # the adapter's bug or limit is a failed export, not a traceback
        raise ScenedetError(one_line(f"{what}: OpenTimelineIO's {package} failed: "
                                     f"{type(exc).__name__}: {exc}")) from exc


_FORMAT = re.compile(r"<format\b[^>]*>")
_FRAME_DURATION = re.compile(r'frameDuration="([^"]*)"')


def _frame_duration(text: str) -> Fraction | None:
    try:
        return Fraction(text.removesuffix("s")) if text else None
    except (ValueError, ZeroDivisionError):
        return None


def to_fcpxml(scenes: SceneList) -> str:
    """Final Cut Pro X XML (FCPXML 1.8) of :func:`build_timeline`, by the ``fcpx_xml`` adapter.

    The adapter knows the frame duration of eight rates by their float value (23.98, 24, 25,
    29.97, 30, 50, 59.94, 60) and looks them up by ``int(rate)`` first, so the film's exact NTSC
    rates (30000/1001 is 29.97002997...) get an empty ``frameDuration`` and a rate such as 24.5
    gets 24's. Every time in the file is a rational number of seconds computed from the exact
    rate, so the format's ``frameDuration`` is set to ``1/rate`` exactly where the adapter's
    differs, and the format's ``name`` (the adapter's guess from that same float rate) is then
    dropped: FCPXML allows a format without a name.
    """
    rate = Fraction(scenes.frame_rate.value)
    exact = f"{rate.denominator}/{rate.numerator}s"
    text = _write_with(_editors_timeline(scenes, "Final Cut Pro X XML"), "fcpx_xml")

    def mend(match: re.Match) -> str:
        element = match[0]
        stated = _FRAME_DURATION.search(element)
        if stated and _frame_duration(stated[1]) == 1 / rate:
            return element
        element = _FRAME_DURATION.sub(f'frameDuration="{exact}"', element) if stated else \
            element.replace("<format", f'<format frameDuration="{exact}"', 1)
        return re.sub(r'\bname="[^"]*"', 'name=""', element)

    return _FORMAT.sub(mend, text)


def to_fcp7_xml(scenes: SceneList) -> str:
    """FCP 7 XML ("xmeml", Premiere Pro and DaVinci Resolve import it) of :func:`build_timeline`,
    by the ``fcp_xml`` adapter.

    xmeml states a rate as a whole ``timebase`` and an ``ntsc`` flag (x 1000/1001), and the
    adapter writes a SMPTE timecode for the film and the sequence, which OpenTimelineIO makes at
    the SMPTE rates only (23.976, 24, 25, 29.97, 30, 47.952, 48, 50, 59.94, 60): a film at any
    other rate (12, 15, 120, a variable-rate film's average such as 29.5) is refused, in one line,
    before the adapter fails on it. At 29.97 and 59.94 the timecodes are drop-frame, as
    scenedet's are.
    """
    import opentimelineio as otio

    rate = Fraction(scenes.frame_rate.value)
    if not otio.opentime.RationalTime.is_valid_timecode_rate(float(rate)):
        raise UsageError(f"FCP 7 XML (OpenTimelineIO's otio-fcp-adapter) takes the SMPTE frame "
                         f"rates only: 23.976, 24, 25, 29.97, 30, 47.952, 48, 50, 59.94, 60; the "
                         f"film's is {rate} ({float(rate):.5g} fps): give the export --fps, or "
                         "write .otio or .fcpxml")
    timeline = _editors_timeline(scenes, "FCP 7 XML")
    timeline.global_start_time = otio.opentime.RationalTime(0, float(rate))
    if scenes.frame_rate.drop_frame:
        timecode = {"fcp_xml": {"timecode": {"displayformat": "DF"}}}
        timeline.metadata.update(timecode)
        for clip in timeline.find_clips():
            clip.media_reference.metadata.update(timecode)
    return _write_with(timeline, "fcp_xml")
