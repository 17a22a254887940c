"""The editors' XML: `.fcpxml` (Final Cut Pro X) and `.xml` (FCP 7 xmeml: Premiere Pro, Resolve).

Both are the `.otio` timeline serialised by OpenTimelineIO's adapter packages, and each file is
read back here by the same adapter. Clips are checked in frames against the scenes, on generated
films at 25 fps and at 29.97 (30000/1001, probed from the film), and from `scenedet export`.

One limit is the reader's, not the file's: otio-fcpx-xml-adapter 1.0.0 reads a format's rate as
``int(1 / frameDuration)`` and truncates every time to those frames (OpenTimelineIO issue #903),
so an FCPXML at 29.97 reads back at 29 fps. The file's own times are rational seconds; they are
checked exactly against the scenes' frames (:func:`fcpx_spine`), and the adapter's reading of
the 29.97 file to within one of its frames.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from click.testing import CliRunner
from hypothesis import given
from scene_strategies import scene_lists

from scenedet.cli import cli
from scenedet.errors import ScenedetError, UsageError
from scenedet.outputs import write_output
from scenedet.outputs.document import SceneList, from_dict
from scenedet.outputs.otio import to_fcp7_xml, to_fcpxml
from scenedet.outputs.timecode import FrameRate, frame_to_seconds


NTSC = Fraction(30000, 1001)
ADAPTER = {".fcpxml": "fcpx_xml", ".xml": "fcp_xml"}
# seconds, end exclusive: at 25 fps frames 0-38, 50-75, 85-125; at 29.97 0-45, 60-90, 102-150
SPANS = [(0, 1.5, 0.81), (2, 3, 0.7), (3.4, 5, 0.9)]
FILMS = [("cfr25", Fraction(25)), ("ntsc", NTSC)]


def _result(film, spans=SPANS, scene="kissing"):
    return {"video": str(film), "scene": scene, "duration": 5.0,
            "segments": [{"start": s, "end": e, "score": p} for s, e, p in spans],
            "scores": [0.9, 0.8, 0.1, 0.95, 0.85], "model": "m.pt",
            "settings": {"aggregator": "runs", "min_length": 1}}


@pytest.fixture(scope="module", params=FILMS, ids=[name for name, _ in FILMS])
def film_scenes(request, media_films) -> tuple[SceneList, Fraction]:
    """A generated film's scene list, at the rate probed from the film."""
    name, rate = request.param
    scenes = from_dict(_result(media_films.get(name).path))
    assert scenes.frame_rate.value == rate
    return scenes, rate


def _seconds(text: str | None) -> Fraction:
    """An FCPXML time (``0s``, ``3s``, ``1001/500s``) as exact seconds."""
    return Fraction((text or "0s").removesuffix("s"))


def fcpx_spine(text: str) -> tuple[Fraction, list[dict]]:
    """The sequence's frame duration and each spine clip in whole frames of it, read exactly.

    A time that is not a whole number of frames fails here (Final Cut refuses those too).
    """
    root = ET.fromstring(text)
    assert root.tag == "fcpxml"
    sequence = root.find("./project/sequence")
    fmt = root.find(f"./resources/format[@id='{sequence.get('format')}']")
    frame = _seconds(fmt.get("frameDuration"))

    def frames(value: str | None) -> int:
        n = _seconds(value) / frame
        assert n.denominator == 1, f"{value} is not on a frame boundary of {frame}s"
        return int(n)

    clips = []
    for clip in sequence.find("spine").findall("clip"):
        video = clip.find("video")
        asset = root.find(f"./resources/asset[@id='{video.get('ref')}']")
        clips.append({"name": clip.get("name"), "offset": frames(clip.get("offset")),
                      "start": frames(clip.get("start")), "duration": frames(clip.get("duration")),
                      "src": asset.get("src"), "asset_duration": frames(asset.get("duration")),
                      "markers": [(m.get("value"), frames(m.get("start"))) for m in clip.findall("marker")]})
    return frame, clips


def _read_back(text: str, suffix: str):
    timeline = otio.adapters.read_from_string(text, adapter_name=ADAPTER[suffix])
    assert isinstance(timeline, otio.schema.Timeline)
    return timeline, list(timeline.find_clips())


def test_both_adapters_are_installed():
    names = otio.adapters.available_adapter_names()
    assert "fcpx_xml" in names and "fcp_xml" in names


# -- FCP 7 XML (Premiere Pro, DaVinci Resolve) ------------------------------------------------------
def test_fcp7_xml_reads_back_to_the_scenes_frames(tmp_path, film_scenes, media_films):
    scenes, rate = film_scenes
    text = write_output(scenes, tmp_path / "film.xml").read_text()
    assert ET.fromstring(text).tag == "xmeml"
    timeline, clips = _read_back(text, ".xml")
    assert [c.name for c in clips] == ["kissing 1", "kissing 2", "kissing 3"]
    url = Path(scenes.video).resolve().as_uri()
    for clip, scene in zip(clips, scenes.scenes, strict=True):
        source = clip.source_range
        assert source.start_time.rate == pytest.approx(float(rate))
        assert source.start_time.value == scene.start_frame
        assert source.duration.value == scene.end_frame - scene.start_frame
        # the clip sits where the scene is in the film, and shows the film's own frames there
        assert clip.range_in_parent().start_time.value == scene.start_frame
        assert clip.media_reference.target_url == url
        assert clip.media_reference.available_range.duration.value >= scenes.scenes[-1].end_frame
        assert [(m.name, m.marked_range.start_time.value) for m in clip.markers] == \
            [(clip.name, scene.start_frame)]


def test_fcp7_xml_states_the_rate_and_drop_frame_timecode(tmp_path, film_scenes):
    scenes, rate = film_scenes
    root = ET.fromstring(write_output(scenes, tmp_path / "film.xml").read_text())
    sequence = root.find("./project/children/sequence")
    assert sequence.findtext("rate/timebase") == str(scenes.frame_rate.nominal)
    assert sequence.findtext("rate/ntsc") == ("TRUE" if rate == NTSC else "FALSE")
    film_tc, sequence_tc = root.find(".//file/timecode"), sequence.find("timecode")
    assert {film_tc.findtext("displayformat"), sequence_tc.findtext("displayformat")} == \
        {"DF" if rate == NTSC else "NDF"}
    assert sequence.findtext("timecode/string") == ("00:00:00;00" if rate == NTSC else "00:00:00:00")
    assert sequence.findtext("duration") == str(scenes.scenes[-1].end_frame)


@pytest.mark.parametrize("rate", [Fraction(59, 2), Fraction(12), Fraction(15), Fraction(120)])
def test_fcp7_xml_refuses_a_rate_it_cannot_state(tmp_path, rate):
    # xmeml has whole and NTSC rates; the adapter's SMPTE timecodes have fewer (not 12 or 120)
    scenes = from_dict(_result("film.mp4"), rate=FrameRate(rate))
    with pytest.raises(UsageError, match=rf"SMPTE frame rates only: .*film's is {rate} .*--fps"):
        write_output(scenes, tmp_path / "film.xml")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("rate", [Fraction(48000, 1001), Fraction(48), Fraction(60000, 1001)])
def test_fcp7_xml_at_the_other_smpte_rates(rate):
    scenes = from_dict(_result("/films/film.mp4"), rate=FrameRate(rate))
    root = ET.fromstring(to_fcp7_xml(scenes))
    assert root.findtext("./project/children/sequence/rate/timebase") == str(scenes.frame_rate.nominal)
    assert root.findtext("./project/children/sequence/timecode/displayformat") == \
        ("DF" if scenes.frame_rate.drop_frame else "NDF")
    _, clips = _read_back(to_fcp7_xml(scenes), ".xml")
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] == \
        [(s.start_frame, s.end_frame - s.start_frame) for s in scenes.scenes]


# -- Final Cut Pro X XML ----------------------------------------------------------------------------
def test_fcpxml_times_are_the_scenes_frames_exactly(tmp_path, film_scenes):
    scenes, rate = film_scenes
    text = write_output(scenes, tmp_path / "film.fcpxml").read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>')
    frame, clips = fcpx_spine(text)
    assert frame == 1 / rate  # "1001/30000s" at 29.97: the adapter leaves NTSC rates empty
    url = Path(scenes.video).resolve().as_uri()
    assert [c["name"] for c in clips] == ["kissing 1", "kissing 2", "kissing 3"]
    for clip, scene in zip(clips, scenes.scenes, strict=True):
        assert (clip["offset"], clip["start"], clip["duration"]) == \
            (scene.start_frame, scene.start_frame, scene.end_frame - scene.start_frame)
        assert clip["src"] == url and clip["asset_duration"] >= scenes.scenes[-1].end_frame
        assert clip["markers"] == [(clip["name"], scene.start_frame)]


def test_fcpxml_reads_back_with_its_adapter(tmp_path, film_scenes):
    scenes, rate = film_scenes
    text = write_output(scenes, tmp_path / "film.fcpxml").read_text()
    timeline, clips = _read_back(text, ".fcpxml")
    assert timeline.name == f"{scenes.name} kissing scenes"
    assert [c.name for c in clips] == ["kissing 1", "kissing 2", "kissing 3"]
    url = Path(scenes.video).resolve().as_uri()
    for clip, scene in zip(clips, scenes.scenes, strict=True):
        assert clip.media_reference.target_url == url
        assert [m.name for m in clip.markers] == [clip.name]
        source = clip.source_range
        if rate == 25:  # a whole rate: the adapter reads the frames back exactly
            assert source.start_time.rate == 25
            assert source.start_time.value == scene.start_frame
            assert source.duration.value == scene.end_frame - scene.start_frame
            assert clip.range_in_parent().start_time.value == scene.start_frame
        else:  # the adapter reads 29.97 as 29 fps, truncating (see the module's docstring)
            assert source.start_time.rate == 29
            start = frame_to_seconds(scene.start_frame, rate)
            duration = frame_to_seconds(scene.end_frame - scene.start_frame, rate)
            read = [source.start_time.value, source.duration.value]
            assert all(float(v).is_integer() for v in read)
            assert 0 <= start - Fraction(int(read[0]), 29) < Fraction(1, 29)
            assert 0 <= duration - Fraction(int(read[1]), 29) < Fraction(1, 29)


def test_fcpxml_at_23_976_and_at_a_rate_the_adapter_does_not_know():
    for rate, stated in ((Fraction(24000, 1001), "1001/24000s"), (Fraction(49, 2), "2/49s"),
                         (Fraction(24), "25/600s")):  # 24: the adapter's own, equal to 1/24
        scenes = from_dict(_result("/films/film.mp4"), rate=FrameRate(rate))
        text = to_fcpxml(scenes)
        assert f'frameDuration="{stated}"' in text
        frame, clips = fcpx_spine(text)
        assert frame == 1 / rate
        assert [(c["start"], c["duration"]) for c in clips] == \
            [(s.start_frame, s.end_frame - s.start_frame) for s in scenes.scenes]
        assert clips[0]["src"] == "file:///films/film.mp4"


def test_an_adapter_failing_is_one_line_and_leaves_no_file(tmp_path, media_films):
    # the FCPX adapter looks clips up by an XPath holding the clip's name: a quote breaks it
    scenes = from_dict(_result(media_films.get("cfr25").path, scene="it's"))
    with pytest.raises(ScenedetError, match=r"^Final Cut Pro X XML: OpenTimelineIO's "
                                            r"otio-fcpx-xml-adapter failed: SyntaxError"):
        write_output(scenes, tmp_path / "x.fcpxml")
    assert list(tmp_path.iterdir()) == []
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps(_result(media_films.get("cfr25").path, scene="it's")))
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(tmp_path / "x.fcpxml")])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "otio-fcpx-xml-adapter failed" in lines[0], result.output
    assert not (tmp_path / "x.fcpxml").exists()


def test_a_missing_adapter_says_which_package_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(otio.adapters, "available_adapter_names", lambda: ["otio_json"])
    scenes = from_dict(_result("/films/film.mp4"), rate=FrameRate(Fraction(25)))
    with pytest.raises(ScenedetError, match="'fcp_xml' adapter, which is not installed: "
                                            "pip install otio-fcp-adapter"):
        to_fcp7_xml(scenes)
    with pytest.raises(ScenedetError, match="pip install otio-fcpx-xml-adapter"):
        to_fcpxml(scenes)


def test_a_result_without_a_film_is_refused():
    scenes = from_dict({"segments": [{"start": 0, "end": 1}]}, rate=FrameRate(Fraction(25)))
    for write in (to_fcpxml, to_fcp7_xml):
        with pytest.raises(UsageError, match="names none: give the film"):
            write(scenes)


# -- scenedet export ----------------------------------------------------------------------------
def test_export_writes_both_formats_by_suffix(tmp_path, media_films):
    film = media_films.get("ntsc").path
    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(_result(film)))
    fcpx, xml = tmp_path / "out" / "out.fcpxml", tmp_path / "out" / "out.xml"
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(fcpx), "-o", str(xml)])
    assert result.exit_code == 0, result.output
    assert f"-> {fcpx}" in result.output and f"-> {xml}" in result.output
    scenes = from_dict(_result(film))
    frames = [(s.start_frame, s.end_frame - s.start_frame) for s in scenes.scenes]
    assert frames == [(0, 45), (60, 30), (102, 48)]
    assert [(c["start"], c["duration"]) for c in fcpx_spine(fcpx.read_text())[1]] == frames
    _, clips = _read_back(xml.read_text(), ".xml")
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] == frames
    _, clips = _read_back(fcpx.read_text(), ".fcpxml")
    assert [c.name for c in clips] == ["kissing 1", "kissing 2", "kissing 3"]


def test_export_at_a_given_rate_to_xml_and_fcpxml(tmp_path):
    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(_result("gone.mp4")))
    out = tmp_path / "film.fcpxml"
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(out), "--fps", "25"])
    assert result.exit_code == 0, result.output
    _, clips = _read_back(out.read_text(), ".fcpxml")
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] == \
        [(0, 38), (50, 25), (85, 40)]
    # a film that is not here is still referenced by an absolute URL (relative to the folder)
    assert clips[0].media_reference.target_url.startswith("file:///")
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(tmp_path / "f.xml"),
                                      "--fps", "59/2"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--fps" in lines[0] and not (tmp_path / "f.xml").exists()


def test_unknown_suffix_lists_the_editors_formats(tmp_path):
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "r.json"), "-o",
                                      str(tmp_path / "x.docx"), "--fps", "25"])
    assert result.exit_code == 2
    assert ".fcpxml" in result.output and ".xml" in result.output


# -- any scenes, any rate ---------------------------------------------------------------------------
@given(scene_lists("/films/film.mp4", min_scenes=1, max_scenes=6))
def test_both_formats_hold_any_scene_list_in_frames(scenes):
    want = [(s.start_frame, s.end_frame - s.start_frame) for s in scenes.scenes]
    frame, clips = fcpx_spine(to_fcpxml(scenes))
    assert frame == 1 / scenes.frame_rate.value
    assert [(c["offset"], c["duration"]) for c in clips] == want
    assert [(c["start"], c["duration"]) for c in clips] == want
    if scenes.frame_rate.value == 12:  # not a SMPTE rate: FCP 7 XML refuses it (tested above)
        return
    _, clips = _read_back(to_fcp7_xml(scenes), ".xml")
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] == want
    assert [c.range_in_parent().start_time.value for c in clips] == [s for s, _ in want]
