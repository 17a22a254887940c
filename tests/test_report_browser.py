"""The HTML report, from one `scenedet run` on a generated film, opened in headless Chromium.

Every kind of result: a per-second scene's, a cue detector's labelled (and overlapping) segments
in label lanes, a shot detector's sub-second shots, one page of several plugins (a section each,
every one seeking the one player), and a film no browser plays (MPEG-4 Part 2 in AVI), whose
page says so and still lists the scenes with their stills.

The browser is Debian's ``chromium`` driven by Playwright (``.ci/run`` installs both; Playwright's
own browser download is never used). Without a browser these tests are skipped, saying why.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from browser_helpers import launch_chromium, tone_film
from click.testing import CliRunner

import scenedet
from scenedet.cli import cli
from scenedet.inference.modelfile import ModelMeta, save_model_file
from scenedet.media.encode import FilmWriter

pytestmark = pytest.mark.slow  # a model run and a browser: several seconds each

SCENES = [(1, 3, 0.9), (4, 6, 0.8), (7, 9, 0.95)]


_film = tone_film


@pytest.fixture(scope="module")
def run_outputs(tmp_path_factory):
    """One `scenedet run` writing JSON, EDL, the plot and the report (a model that finds the
    whole film: random backbones, a head biased to positive)."""
    root = tmp_path_factory.mktemp("report")
    film = _film(root / "film.mp4", seconds=6)
    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    head = torch.nn.Linear(640, 2)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 5.0]))
    model = root / "m.pt"
    save_model_file(model, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                     backbone_weights=tuple(b.weights_id for b in backbones),
                                     feature_dims=(512, 128)), head.state_dict())
    out = root / "out"
    result = CliRunner().invoke(cli, [
        "run", "-p", "kissing", str(film), "-m", str(model), "-l", "3", "-o", str(out / "film.json"),
        "-o", str(out / "film.edl"), "--plot", str(out / "film.png"),
        "--report", str(out / "film.html")])
    assert result.exit_code == 0, result.output
    return film, out, result.output


def test_one_run_writes_every_output_and_says_where(run_outputs):
    film, out, log = run_outputs
    data = json.loads((out / "film.json").read_text())
    assert [(s["start"], s["end"]) for s in data["segments"]] == [(0, 6)]
    assert (out / "film.edl").read_text().startswith("TITLE: film.mp4")
    assert (out / "film.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("film.json", "film.edl", "film.png", "film.html"):
        assert f"-> {out / name}" in log


def test_report_is_self_contained(run_outputs):
    film, out, _ = run_outputs
    page = (out / "film.html").read_text()
    assert '<video id="player"' in page and 'src="../film.mp4"' in page  # relative to the page
    assert "data:image/png;base64," in page and "data:image/jpeg;base64," in page
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert all(u.startswith("data:") or u == "../film.mp4" for u in urls), urls
    assert "http://" not in page and "https://" not in page


def _write_report(tmp_path: Path) -> Path:
    film = _film(tmp_path / "films" / "film.mp4")
    saved = tmp_path / "film.json"
    saved.write_text(json.dumps({
        "video": str(film), "scene": "kissing", "duration": 10.0,
        "segments": [{"start": s, "end": e, "score": p} for s, e, p in SCENES],
        "scores": [0.1, 0.9, 0.9, 0.1, 0.8, 0.8, 0.1, 0.95, 0.95, 0.1]}))
    report = tmp_path / "reports" / "film.html"
    result = CliRunner().invoke(cli, ["export", str(saved), "--report", str(report)])
    assert result.exit_code == 0, result.output
    return report


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium()


def _open(browser, report: Path, *, player: bool = True):
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    if player:
        page.wait_for_function("document.getElementById('player').readyState >= 1",
                               timeout=20_000)
    else:
        page.wait_for_load_state("load")
    return page, errors, requests


def test_report_in_chromium_lists_scenes_and_seeks_on_click(browser, tmp_path):
    report = _write_report(tmp_path)
    page, errors, requests = _open(browser, report)
    rows = page.locator("tr.scene")
    assert rows.count() == len(SCENES)
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(10, abs=0.2)
    for i in (1, 0, 2):
        start, end, _ = SCENES[i]
        rows.nth(i).click()
        page.wait_for_function(
            f"(() => {{ const v = document.getElementById('player');"
            f" return !v.seeking && v.currentTime >= {start - 0.05} && v.currentTime < {end}; }})()",
            timeout=10_000)
    # it plays from there, then pauses at the scene's end
    page.wait_for_function("document.getElementById('player').currentTime > 7.3", timeout=10_000)
    page.wait_for_function("document.getElementById('player').paused", timeout=10_000)
    assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(9, abs=0.5)
    assert page.locator("tr.scene.current").count() <= 1
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    page.close()


def test_clicking_the_timeline_plays_from_that_time(browser, tmp_path):
    report = _write_report(tmp_path)
    page, errors, _ = _open(browser, report)
    img = page.locator(".timeline img")
    box = img.bounding_box()
    d = page.evaluate("Object.assign({}, document.querySelector('.timeline img').dataset)")
    x0, x1, t0, t1 = (float(d[k]) for k in ("x0", "x1", "t0", "t1"))
    assert (t0, t1) == (0.0, 10.0) and 0 < x0 < x1 < 1
    for wanted in (6.5, 2.0):
        x = box["width"] * (x0 + (wanted - t0) / (t1 - t0) * (x1 - x0))
        img.click(position={"x": x, "y": box["height"] / 2})
        page.wait_for_function(
            f"(() => {{ const v = document.getElementById('player');"
            f" return !v.seeking && v.currentTime > {wanted - 0.3}"
            f" && v.currentTime < {wanted + 1.5}; }})()", timeout=10_000)  # it plays on from there
    assert errors == []
    page.close()


def test_report_of_the_run_loads_without_errors(browser, run_outputs):
    _film_path, out, _ = run_outputs
    page, errors, _ = _open(browser, out / "film.html")
    assert page.locator("tr.scene").count() == 1
    assert page.evaluate("document.querySelector('.timeline img').naturalWidth") > 500
    assert errors == []
    page.close()


def _played_to(page, start: float, end: float) -> None:
    page.wait_for_function(
        f"(() => {{ const v = document.getElementById('player');"
        f" return !v.seeking && v.currentTime >= {start - 0.05} && v.currentTime < {end}; }})()",
        timeout=10_000)


# -- a cue detector: labelled, overlapping segments in label lanes ------------------------------
@pytest.fixture(scope="module")
def cue_run(tmp_path_factory):
    """`scenedet run -p cues` on a shot film with colour bars, silences and a black stretch (a
    silence under it): the detector's own labels, overlapping, written as JSON, plot and report."""
    from scenedet.plugin._host import reset_host
    from scenedet.synth.shots import plan_shot_film, render_shot_film

    root = tmp_path_factory.mktemp("cues")
    plan = plan_shot_film(1, 4, shots=5, fps=25, width=160, height=90, min_shot=1.5, max_shot=3)
    film = root / plan.file
    render_shot_film(plan, film)
    out = root / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCENEDET_PLUGINS", "scenedet,scenedet-cues")
        reset_host(None)
        try:
            result = CliRunner().invoke(cli, [
                "run", "-p", "cues", str(film), "-o", str(out / "cues.json"),
                "--plot", str(out / "cues.svg"), "--report", str(out / "cues.html"), "-q"])
        finally:
            reset_host(None)
    assert result.exit_code == 0, result.output
    return plan, json.loads((out / "cues.json").read_text()), out


def test_a_cue_report_has_one_lane_per_label(browser, cue_run):
    from scenedet.outputs.plot import label_colours

    plan, data, out = cue_run
    segments = data["segments"]
    labels = list(dict.fromkeys(s["label"] for s in segments))
    assert sorted(labels) == ["bars", "black", "silence"]  # what the film holds, found
    assert len(segments) == len(plan.cues)
    page, errors, requests = _open(browser, out / "cues.html")
    lanes = page.locator(".lanes .lane")
    assert lanes.count() == 3
    assert [lanes.nth(i).get_attribute("data-label") for i in range(3)] == labels
    assert [lanes.nth(i).locator(".name").inner_text() for i in range(3)] == labels
    colours = label_colours(labels)
    rgb = {k: "rgb({}, {}, {})".format(*(int(c[i:i + 2], 16) for i in (1, 3, 5)))
           for k, c in colours.items()}
    for i, label in enumerate(labels):
        mine = [s for s in segments if s["label"] == label]
        bars = lanes.nth(i).locator(".seg")
        assert bars.count() == len(mine)
        for j, seg in enumerate(mine):
            bar = bars.nth(j)
            assert float(bar.get_attribute("data-start")) == pytest.approx(seg["start"], abs=1e-3)
            assert bar.evaluate("e => getComputedStyle(e).backgroundColor") == rgb[label]
    legend = page.locator("ul.legend li")
    assert [legend.nth(i).inner_text() for i in range(legend.count())] == [
        f"{k} ({sum(1 for s in segments if s['label'] == k)})" for k in labels]
    # each bar lies under its time on the timeline picture's axis
    d = page.evaluate("Object.assign({}, document.querySelector('.timeline img').dataset)")
    x0, x1, t0, t1 = (float(d[k]) for k in ("x0", "x1", "t0", "t1"))
    img = page.locator(".timeline img").bounding_box()
    for i in range(3):
        bar = lanes.nth(i).locator(".seg").first
        want = img["x"] + img["width"] * (x0 + (float(bar.get_attribute("data-start")) - t0)
                                          / (t1 - t0) * (x1 - x0))
        assert bar.bounding_box()["x"] == pytest.approx(want, abs=2.5)
    # the list says which cue is which; a click on a bar plays it
    rows = page.locator("tr.scene")
    assert rows.count() == len(segments)
    assert [rows.nth(i).get_attribute("data-label") for i in range(rows.count())] == \
        [s["label"] for s in segments]
    bar = lanes.nth(labels.index("black")).locator(".seg").first
    bar.click()
    _played_to(page, float(bar.get_attribute("data-start")), float(bar.get_attribute("data-end")))
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    page.close()
    svg = (out / "cues.svg").read_text()  # the plot of the same run: the same lanes
    assert all(f'id="lane:{k}"' in svg for k in labels)


# -- a shot detector: sub-second shots ----------------------------------------------------------
SHOTS = [(0, 10, None), (10, 16, 0.8), (16, 17, 0.6), (17, 100, 0.95)]  # frames at 25 fps


def test_sub_second_shots_read_as_their_length_not_zero(browser, tmp_path):
    """A shot detector's result through the very outputs `scenedet run -p shots` writes."""
    from scenedet.inference.framerun import FrameResult
    from scenedet.media.frames.stream import FrameSegment
    from scenedet.outputs.produce import OutputPlan
    from scenedet.outputs.several import plan_outputs, write_outputs

    film = _film(tmp_path / "shots.mp4", seconds=4, fps=25)
    segments = [FrameSegment(start=a / 25, end=b / 25, start_frame=a, end_frame=b, score=score)
                for a, b, score in SHOTS]
    result = FrameResult(video=str(film), scene="shots", duration=4.0, fps=25.0, n_frames=100,
                         segments=segments)
    report = tmp_path / "shots.html"
    planned = plan_outputs([], ["shots"], OutputPlan(report=report))
    write_outputs([result], planned, film)
    page, errors, _ = _open(browser, report)
    lengths = page.locator("td.length")
    assert [lengths.nth(i).inner_text() for i in range(lengths.count())] == [
        "0.4 s", "0.24 s", "0.04 s", "3.3 s"]
    assert [lengths.nth(i).get_attribute("title") for i in range(lengths.count())] == [
        "10 frames", "6 frames", "1 frame", "83 frames"]
    assert page.locator(".lanes").count() == 0  # shots carry no label: no lanes, no label column
    assert page.locator("th", has_text="label").count() == 0
    d = page.evaluate("Object.assign({}, document.querySelector('.timeline img').dataset)")
    assert (float(d["t0"]), float(d["t1"])) == (0.0, 4.0)  # the detector's span of film
    page.locator("tr.scene").nth(1).click()  # a 0.24 s shot plays and stops
    _played_to(page, 0.4, 0.64 + 0.1)
    page.wait_for_function("document.getElementById('player').paused", timeout=10_000)
    assert errors == []
    page.close()


# -- several plugins, one page: a section each ----------------------------------------------------
@pytest.fixture(scope="module")
def combined_run(tmp_path_factory):
    """`scenedet run -p shots -p cues FILM --report out.html -o 'out.{scene}.json'` (what the
    ``reference_detectors`` fixture makes visible, for the whole module) on a shot film with
    colour bars, silences and a black stretch: one report of both plugins."""
    from plugin_helpers import WITH_DETECTORS

    from scenedet.plugin._host import reset_host
    from scenedet.synth.shots import plan_shot_film, render_shot_film

    root = tmp_path_factory.mktemp("combined")
    plan = plan_shot_film(1, 4, shots=5, fps=25, width=160, height=90, min_shot=1.5, max_shot=3)
    film = root / plan.file
    render_shot_film(plan, film)
    out = root / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCENEDET_PLUGINS", WITH_DETECTORS)
        reset_host(None)
        try:
            result = CliRunner().invoke(cli, [
                "run", "-p", "shots", "-p", "cues", str(film), "--report", str(out / "out.html"),
                "-o", str(out / "out.{scene}.json")])
        finally:
            reset_host(None)
    assert result.exit_code == 0, result.output
    docs = {n: json.loads((out / f"out.{n}.json").read_text()) for n in ("shots", "cues")}
    return result, out, docs, plan


def test_one_report_path_with_several_plugins_writes_one_page_with_a_section_each(combined_run):
    """The CLI: exit 0, one HTML beside the two JSONs, a section per plugin in the order given,
    each listing its own segments; one player."""
    result, out, docs, plan = combined_run
    assert sorted(p.name for p in out.iterdir()) == ["out.cues.json", "out.html",
                                                     "out.shots.json"]
    assert f"HTML report of 2 results -> {out / 'out.html'}" in result.output
    page = (out / "out.html").read_text()
    assert page.count("<video") == 1
    sections = re.findall(r'<section class="result" id="result-\d" data-scene="([^"]+)">'
                          r'<h2>([^<]+)</h2>(.*?)</section>', page, re.DOTALL)
    assert [(name, title) for name, title, _ in sections] == [("shots", "shots"), ("cues", "cues")]
    for name, _, body in sections:
        starts = [float(x) for x in re.findall(r'<tr class="scene"[^>]*data-start="([^"]+)"', body)]
        assert starts == pytest.approx([s["start"] for s in docs[name]["segments"]], abs=1e-3)
        assert body.count('<div class="timeline"><img') == 1
        assert body.count("data:image/jpeg;base64,") == len(starts)  # a thumbnail each
    # what the film holds, found: a shot between each two transitions, each cue
    assert len(docs["shots"]["segments"]) == len(plan.transitions) + 1
    assert len(docs["cues"]["segments"]) == len(plan.cues)
    assert '<div class="lanes"' in sections[1][2] and '<div class="lanes"' not in sections[0][2]


def test_a_combined_report_seeks_from_every_section(browser, combined_run):
    _result, out, docs, _plan = combined_run
    page, errors, requests = _open(browser, out / "out.html")
    sections = page.locator("section.result")
    assert [sections.nth(i).get_attribute("data-scene") for i in range(sections.count())] == [
        "shots", "cues"]
    assert [sections.nth(i).locator("h2").inner_text() for i in range(2)] == ["shots", "cues"]
    assert page.locator("video").count() == 1
    for i, name in enumerate(("shots", "cues")):
        assert sections.nth(i).locator("tr.scene").count() == len(docs[name]["segments"])
        assert sections.nth(i).locator(".timeline img").evaluate("i => i.naturalWidth") > 500
    # a row of the second section plays its segment, and stops at its end
    cues = sections.nth(1)
    black = [s["label"] for s in docs["cues"]["segments"]].index("black")
    row = cues.locator("tr.scene").nth(black)
    row.click()
    start, end = float(row.get_attribute("data-start")), float(row.get_attribute("data-end"))
    _played_to(page, start, end)
    page.wait_for_function("document.getElementById('player').paused", timeout=10_000)
    # the second section's timeline seeks too, to the time under the pointer
    img = cues.locator(".timeline img")
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    d = img.evaluate("i => Object.assign({}, i.dataset)")
    x0, x1, t0, t1 = (float(d[k]) for k in ("x0", "x1", "t0", "t1"))
    for wanted in (6.5, 10.5):
        x = box["width"] * (x0 + (wanted - t0) / (t1 - t0) * (x1 - x0))
        img.click(position={"x": x, "y": box["height"] / 2})
        page.wait_for_function(
            f"(() => {{ const v = document.getElementById('player');"
            f" return !v.seeking && v.currentTime > {wanted - 0.3}"
            f" && v.currentTime < {wanted + 1.5}; }})()", timeout=10_000)
    # playing in the black stretch: the row under the playhead is marked in both sections
    page.wait_for_function("Array.from(document.querySelectorAll('section.result'))"
                           ".every(s => s.querySelector('tr.scene.current'))", timeout=10_000)
    # and the first section's rows still do
    sections.nth(0).locator("tr.scene").nth(2).click()
    shot = docs["shots"]["segments"][2]
    _played_to(page, shot["start"], shot["end"])
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    page.close()


# -- a film no browser plays --------------------------------------------------------------------
def test_an_avi_film_gets_a_notice_and_still_its_stills_and_list(browser, tmp_path):
    film = _film(tmp_path / "films" / "film.avi", codec="mpeg4")
    saved = tmp_path / "film.json"
    saved.write_text(json.dumps({
        "video": str(film), "scene": "kissing", "duration": 10.0,
        "segments": [{"start": s, "end": e, "score": p} for s, e, p in SCENES],
        "scores": [0.1, 0.9, 0.9, 0.1, 0.8, 0.8, 0.1, 0.95, 0.95, 0.1]}))
    report = tmp_path / "film.html"
    result = CliRunner().invoke(cli, ["export", str(saved), "--report", str(report)])
    assert result.exit_code == 0, result.output
    page, errors, requests = _open(browser, report, player=False)
    assert page.locator("video").count() == 0  # no player that would stay black
    notice = page.locator("#unplayable")
    assert notice.is_visible()
    text = notice.inner_text()
    assert "cannot be played in a web browser" in text
    assert "film.avi is MPEG-4 Part 2 video in AVI" in text and "ffmpeg -i film.avi" in text
    rows = page.locator("tr.scene")
    assert rows.count() == len(SCENES)
    assert [float(rows.nth(i).get_attribute("data-start")) for i in range(3)] == [1, 4, 7]
    thumbs = page.locator("tr.scene td.thumb img")
    assert thumbs.count() == len(SCENES)
    assert all(thumbs.nth(i).evaluate("i => i.complete && i.naturalWidth") == 160
               for i in range(thumbs.count()))
    assert page.evaluate("document.querySelector('.timeline img').naturalWidth") > 500
    rows.nth(1).click()  # nothing to seek: and no error either
    page.locator(".timeline img").click()
    assert errors == []
    assert all(u.startswith(("file:", "data:")) and not u.endswith(".avi")
               for u in requests), requests
    page.close()


FORMATS = [("h264.mp4", "libx264"), ("mpeg4.avi", "mpeg4"), ("h264.avi", "libx264"),
           ("h264.mkv", "libx264"), ("mpeg4.mkv", "mpeg4"), ("vp9.webm", "libvpx-vp9"),
           ("mpeg4.mp4", "mpeg4")]


def test_browser_playable_says_what_chromium_does(browser, tmp_path):
    """The report's judgment, film by film, against the browser's own: a ``<video>`` of each
    either loads its metadata or fails with MEDIA_ERR_SRC_NOT_SUPPORTED."""
    import av

    from scenedet.outputs.report import browser_playable

    films = []
    for name, codec in FORMATS:
        try:
            av.Codec(codec, "w")
        except Exception:  # an encoder this FFmpeg lacks: that format is not checked here
            continue
        path = tmp_path / name
        fps = 12
        with FilmWriter(path, width=160, height=120, fps=fps, gop=fps, codec=codec,
                        audio_rate=None,
                        time_base=None if codec == "libx264" else Fraction(1, fps)) as w:
            for i in range(2 * fps):
                w.write_frame(np.full((120, 160, 3), i * 9, np.uint8))
        films.append(name)
    assert {"h264.mp4", "mpeg4.avi", "h264.mkv", "mpeg4.mkv"} <= set(films)
    html = tmp_path / "films.html"
    html.write_text("".join(f'<video preload="metadata" src="{n}"></video>' for n in films))
    page = browser.new_page()
    page.goto(html.as_uri())
    page.wait_for_function("Array.from(document.querySelectorAll('video'))"
                           ".every(v => v.error || v.readyState >= 1)", timeout=20_000)
    plays = page.evaluate("Array.from(document.querySelectorAll('video')).map(v => !v.error)")
    page.close()
    verdict = {n: browser_playable(tmp_path / n).playable for n in films}
    assert verdict == dict(zip(films, plays))
    assert verdict["h264.mp4"] and not verdict["mpeg4.avi"]
