"""Every output format parsed back against a known generated film; `-o` by suffix; `export`."""

from __future__ import annotations

import csv
import io
import json
import re
import types
from fractions import Fraction

import pytest
from click.testing import CliRunner

from scenedet.cli import cli
from scenedet.outputs import write_output, write_outputs
from scenedet.outputs.document import SceneList, film_frame_rate, from_dict, load_result
from scenedet.outputs.timecode import FrameRate, frames_to_timecode, timecode_to_frames

NTSC = Fraction(30000, 1001)
SPANS = [(0, 2, 0.81), (3, 5, 0.9)]  # seconds, end exclusive


def _result(film, spans=SPANS, **extra):
    data = {"video": str(film), "scene": "kissing", "duration": 5.0,
            "segments": [{"start": s, "end": e, "score": p} for s, e, p in spans],
            "scores": [0.9, 0.8, 0.1, 0.95, 0.85], "model": "m.pt",
            "settings": {"aggregator": "runs", "min_length": 2, "threshold": "0.7",
                         "label_threshold": 0.5}}
    data.update(extra)
    return data


@pytest.fixture(scope="module")
def ntsc_scenes(media_films) -> SceneList:
    """The 29.97 fps film (drop-frame timecodes): its rate is probed, not given."""
    return from_dict(_result(media_films.get("ntsc").path))


@pytest.fixture(scope="module")
def film24_scenes(media_films) -> SceneList:
    return from_dict(_result(media_films.get("cfr24").path))


def test_frame_rates_are_probed_exactly(media_films):
    assert film_frame_rate(media_films.get("ntsc").path) == FrameRate(NTSC)
    assert film_frame_rate(media_films.get("cfr24").path).value == 24
    vfr = film_frame_rate(media_films.get("vfr").path)
    assert vfr.variable and vfr.mapping == "nominal average rate"


def test_scenes_carry_frames_and_timecodes_at_the_films_rate(ntsc_scenes, film24_scenes):
    a, b = ntsc_scenes.scenes
    assert (a.start_frame, a.end_frame, b.start_frame, b.end_frame) == (0, 60, 90, 150)
    assert (a.start_timecode, b.end_timecode) == ("00:00:00;00", "00:00:05;00")
    assert [s.start_timecode for s in film24_scenes.scenes] == ["00:00:00:00", "00:00:03:00"]
    assert film24_scenes.scenes[1].end_frame == 120


# -- JSON ---------------------------------------------------------------------------------------
def test_json_round_trips(tmp_path, ntsc_scenes):
    path = write_output(ntsc_scenes, tmp_path / "film.json")
    data = json.loads(path.read_text())
    assert data["frame_rate"]["fraction"] == "30000/1001" and data["frame_rate"]["drop_frame"]
    seg = data["segments"][1]
    assert (seg["start"], seg["end"], seg["score"]) == (3, 5, 0.9)  # today's keys, unchanged
    assert (seg["start_frame"], seg["end_frame"], seg["start_timecode"]) == (90, 150, "00:00:03;00")
    again = load_result(path)
    assert again.scenes == ntsc_scenes.scenes and again.frame_rate == ntsc_scenes.frame_rate
    assert again.scores == ntsc_scenes.scores


def test_scenedet_segment_still_reads_the_extended_json(tmp_path, ntsc_scenes):
    path = write_output(ntsc_scenes, tmp_path / "film.json")
    result = CliRunner().invoke(cli, ["segment", str(path)])
    assert result.exit_code == 0, result.output
    assert [(s["start"], s["end"]) for s in json.loads(result.output)["segments"]] == [(0, 2), (3, 5)]


# -- CSV ----------------------------------------------------------------------------------------
def test_csv_rows_match_the_scenes(tmp_path, ntsc_scenes):
    text = write_output(ntsc_scenes, tmp_path / "film.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["index", "start_seconds", "end_seconds", "start_timecode",
                             "end_timecode", "start_frame", "end_frame", "duration_seconds", "score"]
    assert len(rows) == 2
    for row, scene in zip(rows, ntsc_scenes.scenes):
        assert int(row["index"]) == scene.index
        assert float(row["start_seconds"]) == scene.start and float(row["end_seconds"]) == scene.end
        assert timecode_to_frames(row["start_timecode"], NTSC) == int(row["start_frame"])
        assert timecode_to_frames(row["end_timecode"], NTSC) == int(row["end_frame"])
        assert float(row["duration_seconds"]) == scene.end - scene.start
        assert float(row["score"]) == pytest.approx(scene.score)


# -- EDL (CMX 3600) -----------------------------------------------------------------------------
_TC = r"(\d{2}:\d{2}:\d{2}[:;]\d{2})"
_EVENT = re.compile(rf"^(\d{{3}})  (\S{{1,8}})\s+(V|A|A2|AA|B)\s+(C|D|W\d{{3}})\s+{_TC} {_TC} {_TC} {_TC}$")


def parse_edl(text: str) -> dict:
    """A strict CMX 3600 reader: title, FCM, numbered events with four timecodes, comments."""
    lines = text.splitlines()
    title = re.fullmatch(r"TITLE: (.{1,70})", lines[0])
    fcm = re.fullmatch(r"FCM: (DROP FRAME|NON-DROP FRAME)", lines[1])
    assert title and fcm, lines[:2]
    events, last = [], 0
    for line in lines[2:]:
        if not line.strip():
            continue
        if line.startswith("* "):
            assert events, f"comment before any event: {line!r}"
            key, _, value = line[2:].partition(": ")
            events[-1]["notes"][key] = value
            continue
        m = _EVENT.match(line)
        assert m, f"not a CMX 3600 event line: {line!r}"
        number = int(m[1])
        assert number == last + 1, "events are numbered in order"
        last = number
        src_in, src_out, rec_in, rec_out = m[5], m[6], m[7], m[8]
        drop = fcm[1] == "DROP FRAME"
        for tc in (src_in, src_out, rec_in, rec_out):
            assert (";" in tc) == drop, f"{tc} in a {fcm[1]} list"
        events.append({"reel": m[2], "src": (src_in, src_out), "rec": (rec_in, rec_out), "notes": {}})
    return {"title": title[1], "fcm": fcm[1], "events": events}


@pytest.mark.parametrize("fixture,rate,fcm", [("ntsc_scenes", NTSC, "DROP FRAME"),
                                              ("film24_scenes", Fraction(24), "NON-DROP FRAME")])
def test_edl_parses_back_to_the_scenes(request, tmp_path, fixture, rate, fcm):
    scenes = request.getfixturevalue(fixture)
    edl = parse_edl(write_output(scenes, tmp_path / "film.edl").read_text())
    assert edl["fcm"] == fcm
    assert len(edl["events"]) == len(scenes.scenes)
    for event, scene in zip(edl["events"], scenes.scenes):
        first, stop = (timecode_to_frames(tc, rate) for tc in event["src"])
        assert (first, stop) == (scene.start_frame, scene.end_frame)
        assert float(first / rate) == pytest.approx(scene.start, abs=0.5 / rate)
        assert event["rec"] == event["src"]
        assert event["notes"]["FROM CLIP NAME"] == scenes.name


def test_edl_drop_frame_timecodes_past_a_minute():
    scenes = from_dict(_result("film.mp4", spans=[(59, 61, 0.9), (600, 660, 0.8)]),
                       rate=FrameRate(NTSC))
    from scenedet.outputs.edl import to_edl

    edl = parse_edl(to_edl(scenes))
    # 59 s is frame 1768, labelled 58;28 (29.97 fps runs slower than the label's 30); from
    # minute 1 the labels ;00 and ;01 are skipped, so 61 s (frame 1828) is 01:01;00, not 01:00;28
    assert edl["events"][0]["src"] == ("00:00:58;28", "00:01:01;00")
    # minute 10 keeps all 1800 labels: 600 s is frame 17982, labelled 10:00;00, and 660 s is
    # 1798 frames later (19780), two labels short of the next minute
    assert edl["events"][1]["src"] == ("00:10:00;00", "00:10:59;28")
    assert frames_to_timecode(17982, NTSC) == "00:10:00;00"


# -- OTIO ---------------------------------------------------------------------------------------
def test_otio_reads_back_with_opentimelineio(tmp_path, ntsc_scenes, media_films):
    import opentimelineio as otio

    path = write_output(ntsc_scenes, tmp_path / "film.otio")
    timeline = otio.adapters.read_from_file(str(path))
    clips = list(timeline.find_clips())
    assert [c.name for c in clips] == ["kissing 1", "kissing 2"]
    for clip, scene in zip(clips, ntsc_scenes.scenes):
        r = clip.source_range
        assert r.start_time.rate == pytest.approx(float(NTSC))
        assert round(r.start_time.value) == scene.start_frame
        assert round(r.duration.value) == scene.end_frame - scene.start_frame
        assert clip.media_reference.target_url == media_films.get("ntsc").path.resolve().as_uri()
        assert clip.metadata["scenedet"]["score"] == pytest.approx(scene.score)
        # the clip sits where the scene is in the film
        assert timeline.tracks[0].range_of_child(clip).start_time.value == scene.start_frame
        assert [m.name for m in clip.markers] == [clip.name]


# -- WebVTT -------------------------------------------------------------------------------------
_CUE_TIME = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$")


def parse_vtt(text: str) -> list[tuple[str, float, float, str]]:
    """A strict WebVTT reader: the header, NOTE blocks, cues (id, timing, one text line)."""
    assert text.startswith("WEBVTT\n"), "a WebVTT file starts with WEBVTT"
    blocks = [b for b in text.split("\n\n")[1:] if b.strip()]
    cues, last_end = [], 0.0
    for block in text.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if not lines or lines[0].startswith(("WEBVTT", "NOTE")):
            continue
        assert len(lines) == 3, f"cue must be id, timing, text: {lines}"
        m = _CUE_TIME.match(lines[1])
        assert m, f"bad cue timing {lines[1]!r}"
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        assert last_end <= start < end, "chapters in order, not overlapping"
        assert "-->" not in lines[0] and "-->" not in lines[2]
        last_end = end
        cues.append((lines[0], start, end, lines[2]))
    assert blocks
    return cues


def test_vtt_chapters_parse_back(tmp_path, ntsc_scenes):
    cues = parse_vtt(write_output(ntsc_scenes, tmp_path / "film.vtt").read_text())
    assert [(c[1], c[2]) for c in cues] == [(0.0, 2.0), (3.0, 5.0)]
    assert cues[0][0] == "1" and cues[0][3] == "kissing 1 (score 0.81)"


# -- choosing the format; `scenedet export` -----------------------------------------------------
def test_suffix_picks_the_format_case_insensitively(tmp_path, film24_scenes):
    written = write_outputs(film24_scenes, [tmp_path / "A.EDL", tmp_path / "b.Csv"])
    assert written[0].read_text().startswith("TITLE:") and written[1].read_text().startswith("index,")


def test_unknown_suffix_is_refused_before_anything_is_written(tmp_path, film24_scenes):
    from scenedet.errors import UsageError

    with pytest.raises(UsageError, match=r"\.xyz.*known: .*\.csv.*\.edl.*\.json.*\.otio.*\.vtt"):
        write_outputs(film24_scenes, [tmp_path / "ok.json", tmp_path / "bad.xyz"])
    assert not (tmp_path / "ok.json").exists()


def test_export_converts_a_saved_result_without_models(tmp_path, media_films):
    saved = tmp_path / "film.json"
    saved.write_text(json.dumps(_result(media_films.get("ntsc").path)))  # an old-schema result
    edl, table = tmp_path / "out" / "film.edl", tmp_path / "out" / "film.csv"
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(edl), "-o", str(table)])
    assert result.exit_code == 0, result.output
    assert parse_edl(edl.read_text())["fcm"] == "DROP FRAME"
    assert len(list(csv.DictReader(io.StringIO(table.read_text())))) == 2
    assert f"-> {edl}" in result.output  # says what it wrote where (stderr)


def test_export_with_a_given_frame_rate_needs_no_film(tmp_path):
    saved = tmp_path / "film.json"
    saved.write_text(json.dumps(_result("gone.mp4")))
    out = tmp_path / "film.csv"
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(out)])
    assert result.exit_code == 2 and "give the frame rate" in result.output
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(out), "--fps", "25"])
    assert result.exit_code == 0, result.output
    assert "00:00:03:00" in out.read_text()


def test_export_unknown_suffix_is_one_line_exit_2(tmp_path, media_films):
    saved = tmp_path / "film.json"
    saved.write_text(json.dumps(_result(media_films.get("cfr24").path)))
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(tmp_path / "x.docx")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and ".docx" in lines[0] and ".edl" in lines[0] and ".otio" in lines[0]


def test_export_refuses_a_file_that_is_not_a_result(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = CliRunner().invoke(cli, ["export", str(bad), "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "not a `scenedet run` result" in result.output


# -- a third party's format -----------------------------------------------------------------------
def _markdown_plugin():
    from scenedet.plugin import ExporterSpec, hookimpl

    module = types.ModuleType("scenedet_markdown")

    def to_markdown(scenes):
        rows = [f"| {s.index} | {s.start_timecode} | {s.end_timecode} |" for s in scenes.scenes]
        return "\n".join(["| # | in | out |", "|---|---|---|", *rows]) + "\n"

    @hookimpl
    def register_exporters(register):
        register(ExporterSpec(name="markdown", suffixes=("mysuffix", ".MD2"), function=to_markdown,
                              summary="a Markdown table"))

    module.register_exporters = register_exporters
    return module


@pytest.fixture
def private_host():
    from scenedet.plugin._host import PluginHost, reset_host

    host = PluginHost()
    import scenedet.builtin

    host.add_plugin(scenedet.builtin, "scenedet")
    host.add_plugin(_markdown_plugin(), "markdown", version="0.1")
    reset_host(host)
    yield host
    reset_host(None)


def test_register_exporters_adds_a_format_used_by_its_suffix(private_host, tmp_path, media_films):
    from scenedet.plugin import get_exporter_for_suffix, list_exporters

    assert "markdown" in list_exporters() and "edl" in list_exporters()
    assert get_exporter_for_suffix("x.md2").name == "markdown"
    saved = tmp_path / "film.json"
    saved.write_text(json.dumps(_result(media_films.get("cfr24").path)))
    out = tmp_path / "x.mysuffix"
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[2:] == ["| 1 | 00:00:00:00 | 00:00:02:00 |",
                                                 "| 2 | 00:00:03:00 | 00:00:05:00 |"]
    result = CliRunner().invoke(cli, ["plugins"])
    assert "exporters:" in result.output and "markdown" in result.output


def test_a_failing_exporter_is_one_line_and_leaves_no_file(private_host, tmp_path, film24_scenes):
    from scenedet.errors import ScenedetError
    from scenedet.plugin import ExporterSpec

    def broken(scenes):
        raise RuntimeError("disk on fire")

    private_host.registries["exporter"].add(ExporterSpec(name="broken", suffixes=".brk",
                                                         function=broken), "markdown")
    with pytest.raises(ScenedetError, match="exporter 'broken' failed .*disk on fire"):
        write_output(film24_scenes, tmp_path / "x.brk")
    assert list(tmp_path.iterdir()) == []


def test_a_plugin_cannot_take_over_a_core_suffix(private_host):
    from scenedet.plugin import ExporterSpec, get_exporter_for_suffix

    private_host.registries["exporter"].add(
        ExporterSpec(name="aaa-json", suffixes=".json", function=lambda s: "{}"), "markdown")
    assert get_exporter_for_suffix("x.json").name == "json"


def test_run_refuses_an_unknown_suffix_before_loading_anything(tmp_path, media_films):
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", str(media_films.get("cfr24").path),
                                      "-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "b.pdf")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "b.pdf" in lines[0] and "known: " in lines[0]
    assert all(suffix in lines[0] for suffix in (".csv", ".edl", ".json", ".otio", ".vtt"))
    assert not (tmp_path / "a.json").exists()


# -- properties: any scenes, any rate ---------------------------------------------------------------
from hypothesis import given  # noqa: E402
from scene_strategies import scene_lists  # noqa: E402

@given(scene_lists("film.mp4", max_scenes=10))
def test_every_text_format_round_trips_any_scene_list(scenes):
    from scenedet.outputs.edl import to_edl
    from scenedet.outputs.formats import to_csv, to_json, to_vtt

    rate = scenes.frame_rate.value
    edl = parse_edl(to_edl(scenes))
    assert edl["fcm"] == ("DROP FRAME" if scenes.frame_rate.drop_frame else "NON-DROP FRAME")
    assert [tuple(timecode_to_frames(tc, rate) for tc in e["src"]) for e in edl["events"]] == \
        [(s.start_frame, s.end_frame) for s in scenes.scenes]
    rows = list(csv.DictReader(io.StringIO(to_csv(scenes))))
    assert [(float(r["start_seconds"]), float(r["end_seconds"])) for r in rows] == \
        [(s.start, s.end) for s in scenes.scenes]
    assert [r["score"] == "" for r in rows] == [s.score is None for s in scenes.scenes]
    if scenes.scenes:
        assert [(c[1], c[2]) for c in parse_vtt(to_vtt(scenes))] == [(s.start, s.end) for s in scenes.scenes]
    again = from_dict(json.loads(to_json(scenes)))
    assert again.scenes == scenes.scenes and again.frame_rate == scenes.frame_rate


def test_a_variable_frame_rate_film_says_how_it_was_mapped(tmp_path, media_films):
    scenes = from_dict(_result(media_films.get("vfr").path, spans=[(1, 4, 0.9)]))
    data = json.loads(write_output(scenes, tmp_path / "vfr.json").read_text())
    assert data["frame_rate"]["variable"] is True
    assert data["frame_rate"]["mapping"] == "nominal average rate"
    rate = Fraction(data["frame_rate"]["fraction"])
    assert data["segments"][0]["start_frame"] == round(1 * rate)
