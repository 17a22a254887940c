"""Frame-level detectors and several plugins in ``scenedet run``: every output a per-second scene
gets (clips, stills, plot, report; ``{scene}`` templates with several plugins), a part of the film
(``--start``/``--end``, decoded from the keyframe before it, reported in film time) and
``--no-audio``; refusals before any decode.

The shot films come from :mod:`scenedet.synth.shots` and the fast ``shots-content`` detector
(TransNetV2 is not needed to test the plumbing)."""

from __future__ import annotations

import csv
import json
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner
from films import HEIGHT, WIDTH, media_films, read_index  # noqa: F401
from hypothesis import given, settings
from hypothesis import strategies as st

from scenedet.cli import cli
from scenedet.errors import UsageError
from scenedet.inference.framerun import run_detectors
from scenedet.media.frames.stream import AudioChunk, FrameBatch, MediaStream


pytestmark = pytest.mark.usefixtures("reference_detectors")


@pytest.fixture(scope="module")
def full_run(shot_film):
    from scenedet.plugin._host import reset_host

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCENEDET_PLUGINS", "scenedet,scenedet-shots")
        reset_host(None)
        (result,) = run_detectors(shot_film[1], ["shots-content"])
    reset_host(None)
    return result


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_clips_stills_plot_and_report_per_shot(shot_film, full_run, tmp_path):
    _, film = shot_film
    out = tmp_path / "out"
    result = invoke("run", "-p", "shots-content", film, "--clips", out / "clips", "--stills",
                    out / "stills", "--stills-per-scene", 2, "--report", out / "r.html",
                    "--plot", out / "p.png", "-o", out / "shots.csv", "-o", out / "shots.json",
                    "-q")
    assert result.exit_code == 0, result.output
    n = len(full_run.segments)
    assert n == len(full_run.cuts) + 1 > 3
    clips = sorted((out / "clips").iterdir())
    assert len(clips) == n and all(c.stat().st_size > 0 for c in clips)
    assert len(list((out / "stills").iterdir())) == 2 * n
    data = json.loads((out / "shots.json").read_text())
    assert data["time_grid"] == "frame" and len(data["segments"]) == n
    assert [c["frame"] for c in data["cuts"]] == [c.start_frame for c in full_run.cuts]
    for seg, clip in zip(data["segments"], clips):  # the JSON names each shot's clip and stills
        assert seg["clip"]["path"].endswith(clip.name) and len(seg["stills"]) == 2
    assert len(list(csv.reader((out / "shots.csv").open()))) == n + 1  # a header, a row a shot
    assert (out / "p.png").read_bytes()[:4] == b"\x89PNG"
    page = (out / "r.html").read_text()
    assert page.count('class="scene"') == n


def test_a_detectors_plot_draws_its_segments_not_a_probability(full_run):
    from scenedet.outputs.plot import render_timeline

    spans = [(s.start, s.end) for s in full_run.segments]
    layout: dict = {}
    render_timeline([], spans, segment_scores=[s.score for s in full_run.segments],
                    layout=layout, extent=(0.0, full_run.duration))
    assert layout["t0"] == 0 and layout["t1"] == pytest.approx(full_run.duration)
    per_second: dict = {}
    render_timeline([0.1] * 5, [(1.0, 3.0)], layout=per_second)
    assert per_second["t1"] == 5  # the per-second plot is as before


@settings(max_examples=6, deadline=None)
@given(start=st.integers(0, 14), length=st.integers(4, 10))
def test_a_parts_cuts_are_the_whole_runs_cuts_inside_it(shot_film, full_run, start, length):
    _, film = shot_film
    end = start + length
    fps = full_run.fps
    (part,) = run_detectors(film, ["shots-content"], start=start, end=end)
    first = math.ceil(start * fps - 1e-6)
    assert part.first_frame == first and part.start == pytest.approx(first / fps)
    assert part.segments[0].start_frame == first
    assert part.n_frames == min(full_run.n_frames, math.ceil(end * fps - 1e-6)) - first
    assert part.segments[-1].end_frame == first + part.n_frames
    margin = 2.0  # the detector's neighbourhood starts afresh at the part's edges
    inside = [c.start_frame for c in full_run.cuts if start + margin <= c.start <= end - margin]
    found = [c.start_frame for c in part.cuts if start + margin <= c.start <= end - margin]
    assert found == inside
    for cut in part.cuts:  # film time: seconds and frames agree with the whole run's clock
        assert cut.start == pytest.approx(cut.start_frame / fps, abs=1e-6)


@pytest.mark.parametrize("name", ["cfr24", "cfr25", "longgop", "ntsc", "vfr"])
def test_a_part_holds_exactly_the_films_frames_inside_it(media_films, name):
    film = media_films.get(name)
    times = np.array([float(t) for t in film.times])

    @settings(max_examples=10, deadline=None)
    @given(st.floats(0, film.duration - 0.5), st.floats(0.2, 3))
    def check(start, length):
        end = start + length
        stream = MediaStream(film.path, sizes=[(WIDTH, HEIGHT)], start=start, end=end)
        want = [i for i, t in enumerate(times) if start - 1e-6 <= t < end - 1e-6]
        if not want:  # a gap in a variable-rate film: nothing to hand over, and it says so
            with pytest.raises(UsageError, match="no frame"):
                list(stream)
            return
        got, got_times = [], []
        for item in stream:
            if isinstance(item, FrameBatch):
                got += [read_index(f) for f in item.frames((WIDTH, HEIGHT))]
                got_times += list(item.times)
        assert got == want
        assert stream.info.start == pytest.approx(times[want[0]])
        assert np.allclose(np.array(got_times) + stream.info.start, times[want])
        if name != "vfr":  # the nominal grid is the frame count at a constant rate
            assert stream.info.first_frame == want[0]

    check()


def test_a_parts_sound_lies_inside_it(media_films):
    film = media_films.get("cfr24")  # a tone all through
    stream = MediaStream(film.path, sizes=[(32, 24)], audio=True, start=1.3, end=3.1)
    chunks = [c for c in stream if isinstance(c, AudioChunk)]
    assert chunks[0].start == pytest.approx(0.0, abs=1e-3)
    heard = sum(len(c.samples) for c in chunks) / chunks[0].rate
    span = stream.info.duration
    assert abs(heard - span) < 0.05
    assert all(c.start >= -1e-9 for c in chunks)


def test_no_audio_tells_the_listening_detectors(shot_film):
    _, film = shot_film
    (heard,) = run_detectors(film, ["cues"])
    (deaf,) = run_detectors(film, ["cues"], use_audio=False)
    assert any(s.label == "silence" for s in heard.segments)
    assert not any(s.label == "silence" for s in deaf.segments)
    assert [s for s in heard.segments if s.label != "silence"] == deaf.segments
    assert deaf.settings["use_audio"] is False and "use_audio" not in heard.settings
    with pytest.raises(UsageError, match="nothing to detect"):
        run_detectors(film, ["silence"], use_audio=False)
    # beside a detector that looks, one that only listens is refused too, before the decode
    with pytest.raises(UsageError, match="^silence only listens"):
        run_detectors(film, ["black", "silence"], use_audio=False)


def test_several_plugins_write_one_set_each(shot_film, tmp_path):
    _, film = shot_film
    result = invoke("run", "-p", "shots-content", "-p", "cues", film,
                    "--clips", tmp_path / "clips" / "{scene}", "--stills",
                    tmp_path / "stills" / "{scene}", "--stills-per-scene", 1,
                    "--report", tmp_path / "r.{scene}.html", "--plot", tmp_path / "p.{scene}.svg",
                    "-o", tmp_path / "{scene}.json", "--start", 1, "--end", 15, "-q")
    assert result.exit_code == 0, result.output
    for name in ("shots-content", "cues"):
        data = json.loads((tmp_path / f"{name}.json").read_text())
        n = len(data["segments"])
        assert n > 0 and data["start"] >= 1 and data["duration"] <= 15
        assert len(list((tmp_path / "clips" / name).iterdir())) == n
        assert len(list((tmp_path / "stills" / name).iterdir())) == n
        assert (tmp_path / f"r.{name}.html").is_file() and (tmp_path / f"p.{name}.svg").is_file()
        assert all(1 <= s["start"] < s["end"] <= 15 for s in data["segments"])


def test_one_report_of_several_plugins_is_planned_once_and_the_rest_per_plugin(tmp_path):
    """A plain report path with several plugins is ONE page (``RunOutputs.report``), the
    media of each plugin still go to their ``{scene}`` paths; with ``{scene}`` in the report
    path it is one page per plugin, as before."""
    from scenedet.outputs.produce import OutputPlan
    from scenedet.outputs.several import plan_outputs

    names = ["shots", "cues"]
    one = plan_outputs([tmp_path / "all.json"], names, OutputPlan(report=tmp_path / "r.html"))
    assert one.report == tmp_path / "r.html" and one.media == [None, None]
    mixed = plan_outputs([], names, OutputPlan(report=tmp_path / "r.html",
                                               plot=tmp_path / "p.{scene}.png"))
    assert mixed.report == tmp_path / "r.html"
    assert [(m.plot.name, m.report) for m in mixed.media] == [("p.shots.png", None),
                                                              ("p.cues.png", None)]
    each = plan_outputs([], names, OutputPlan(report=tmp_path / "r.{scene}.html"))
    assert each.report is None
    assert [m.report.name for m in each.media] == ["r.shots.html", "r.cues.html"]
    alone = plan_outputs([], ["shots"], OutputPlan(report=tmp_path / "r.html"))
    assert alone.report is None and alone.media[0].report == tmp_path / "r.html"


@pytest.mark.parametrize("args, words", [
    (["-p", "shots-content", "-p", "cues", "--clips", "{tmp}/clips"], "{scene}"),
    (["-p", "shots-content", "-p", "cues", "--report", "{tmp}/r.html", "--stills",
      "{tmp}/s"], "{scene}"),  # one report of both is fine; one stills folder is not
    (["-p", "shots-content", "-p", "cues", "--report", "{tmp}/r.txt"], ".html"),
    (["-p", "shots-content", "-p", "cues", "--plot", "{tmp}/p.png"], "{scene}"),
    (["-p", "shots-content", "--plot", "{tmp}/p.txt"], ".png"),
    (["-p", "shots-content", "--report", "{tmp}/r.txt"], ".html"),
    (["-p", "shots-content", "--stills", "{tmp}/afile"], "is a file"),
    (["-p", "shots-content", "-p", "cues", "--clips", "{tmp}/c/{scene}", "--stills",
      "{tmp}/c/{scene}"], "twice"),
    (["-p", "shots-content", "--start", "5", "--end", "3"], "after start"),
    (["-p", "shots-content", "--end", "5", "--duration", "3"], "not both"),
    (["-p", "shots-content", "--speedup", "int8"], "--speedup applies to per-second scenes"),
])
def test_refusals_are_one_line_before_any_decode(shot_film, tmp_path, monkeypatch, args, words):
    _, film = shot_film
    (tmp_path / "afile").write_text("x")

    def no_decode(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(MediaStream, "__iter__", no_decode)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = invoke("run", film, *argv)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "clips").exists()


def test_a_part_past_the_film_says_so(shot_film):
    _, film = shot_film
    with pytest.raises(UsageError, match="no frame"):
        run_detectors(film, ["shots-content"], start=500)


def test_nominal_frame_of_the_first_kept_frame():
    from scenedet.media.frames.part import Part

    part = Part(2.0, 4.0, has_video=True, has_audio=True)
    assert part.sound(1.5, 10, np.ones(10, np.float32)) == []  # waits for the first frame
    assert not part.keep_frame(1.96, 25.0) and part.keep_frame(2.0, 25.0)
    assert part.first_frame == 50
    held = part.sound(2.5, 10, np.arange(20, dtype=np.float32))  # 2.5 .. 4.5 s: cut at 4 s
    assert [round(t, 6) for t, _ in held] == [0.0, 0.5]
    assert len(held[0][1]) == 5 and np.array_equal(held[1][1], np.arange(15, dtype=np.float32))
    assert not part.keep_frame(4.0, 25.0) and part.video_done and not part.done
    assert part.sound(Fraction(9, 2), 10, np.ones(3, np.float32)) == [] and part.done


@pytest.mark.slow  # scores a part of a film with a (random) model
def test_a_scene_snapped_to_shots_on_a_part(shot_film, full_run, tmp_path):
    from batch_helpers import make_model

    _, film = shot_film
    model = make_model(tmp_path / "m.pt")
    out = tmp_path / "r.json"
    result = invoke("run", "-p", "kissing", "-p", "shots-content", film, "--model", model,
                    "-l", 1, "-t", "0.01", "--label-threshold", "0", "--snap-to", "shots-content",
                    "--snap-tolerance", 3, "--start", 4.5, "--end", 11.5, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    run = json.loads(out.read_text())
    kissing, shots = run["results"]  # several plugins in one JSON: a run document
    assert kissing["start"] == 4 and shots["start"] == pytest.approx(4.52)
    again = invoke("segment", out)  # a part's run re-cut as recorded: the same, in film time
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == run
    cuts = [c["time"] for c in shots["cuts"]]
    assert cuts and all(4.5 <= t < 11.5 for t in cuts)
    assert kissing["settings"]["snap_to"]["detector"] == "shots-content"
    (seg,) = kissing["segments"]  # every second positive: one scene, its ends moved to cuts
    assert seg["unsnapped"] == [4, 12]
    assert seg["start"] in cuts + [4] and seg["end"] in cuts + [12]
    assert seg["start"] != 4 or seg["end"] != 12


def test_a_part_of_a_plain_audio_file(tmp_path):
    import soundfile as sf

    rate = 16_000
    sound = 0.3 * np.sin(2 * np.pi * 440 * np.arange(6 * rate) / rate)
    sound[2 * rate:4 * rate] = 0  # silent from 2 s to 4 s
    path = tmp_path / "a.wav"
    sf.write(path, sound.astype(np.float32), rate)
    (whole,) = run_detectors(path, ["silence"])
    (part,) = run_detectors(path, ["silence"], start=1, end=3.5)
    (tail,) = run_detectors(path, ["silence"], start=2.5)
    assert [(s.start, s.end) for s in whole.segments] == [(2.0, 4.0)]
    assert [(s.start, s.end) for s in part.segments] == [(2.0, 3.5)]
    assert part.start == 1 and part.duration == 3.5
    assert [(round(s.start, 6), round(s.end, 6)) for s in tail.segments] == [(2.5, 4.0)]


def test_a_late_part_is_reached_by_seeking_not_decoding(media_films, monkeypatch):
    film = media_films.get("long")  # 40 s at 12 fps, a keyframe every second
    from scenedet.media.frames import stream as frames_module

    decoded = []
    original = frames_module._decode

    def counting(packet, damage, origin):
        frames = original(packet, damage, origin)
        decoded.extend(f for f in frames or () if packet.stream.type == "video")
        return frames

    monkeypatch.setattr(frames_module, "_decode", counting)
    stream = MediaStream(film.path, sizes=[(WIDTH, HEIGHT)], audio=True, start=30.5, end=32.5)
    kept = sum(len(b) for b in stream if isinstance(b, FrameBatch))
    assert kept == 24 and stream.info.first_frame == 366
    assert len(decoded) <= kept + 2 * 12 + 2  # at most a keyframe interval before, one after


def test_a_combined_report_holds_one_films_results_in_order(tmp_path):
    """The library call behind a plain ``--report`` with several plugins: a section per result
    in the order given, one player; results of two films, or none, are refused (one page has
    one player). No film on disk: no thumbnails, the page all the same."""
    from scenedet.outputs.document import from_dict
    from scenedet.outputs.report_page import write_combined_report
    from scenedet.outputs.timecode import FrameRate

    def result(scene: str, video: str, spans) -> object:
        return from_dict({"video": video, "scene": scene, "duration": 10.0,
                          "segments": [{"start": a, "end": b, "label": lab}
                                       for a, b, lab in spans]}, rate=FrameRate(25))

    a = result("cues", "film.mp4", [(1, 2, "black"), (1, 3, "silence")])
    b = result("toy", "film.mp4", [(0, 5, ""), (5, 10, "")])
    page = write_combined_report([b, a], tmp_path / "r.html").read_text()
    assert re.findall(r'<section class="result"[^>]*data-scene="(\w+)"', page) == ["toy", "cues"]
    assert page.count("<video") == 1 and page.count('<tr class="scene"') == 4
    assert page.count('<div class="lanes"') == 1  # the labelled result's lanes only
    with pytest.raises(UsageError, match="one film, not of 2"):
        write_combined_report([a, result("toy", "other.mp4", [])], tmp_path / "x.html")
    with pytest.raises(UsageError, match="no result"):
        write_combined_report([], tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
