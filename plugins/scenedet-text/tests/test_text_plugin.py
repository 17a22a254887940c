"""The text detector and the cloud cue set, with the real PP-OCRv4 models, on generated films."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("scenedet_text")
pytest.importorskip("onnxruntime")

from scenedet.inference.framerun import run_detectors  # noqa: E402
from scenedet_text import models  # noqa: E402
from scenedet_text.dbpost import boxes_from_map, label_runs  # noqa: E402
from scenedet_text.ocr import ctc_decode  # noqa: E402
from scenedet_text.synth import Part, truth, write_film  # noqa: E402
from scenedet_text.tracking import relate  # noqa: E402

try:
    models.model_path(models.DETECTION)
except Exception as exc:  # noqa: BLE001
    pytest.skip(f"PP-OCRv4 models not installed: {exc}", allow_module_level=True)

FPS = 12
PARTS = [Part("bars", 1.5), Part("black", 1), Part("slate", 3, seed=1), Part("black", 1),
         Part("title", 3), Part("cards", 9, seed=2), Part("texture", 3, seed=5),
         Part("subtitles", 9, seed=4), Part("roll", 7, speed=0.25, font=1)]


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    return write_film(tmp_path_factory.mktemp("text") / "film.mp4", PARTS, width=640,
                      height=360, fps=FPS)


def _tiou(a, b) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


@pytest.mark.slow
def test_text_segments_match_the_truth(film):
    (result,) = run_detectors(film, ["text"])
    found = [(s.label, s.start, s.end) for s in result.segments]
    for t in truth(PARTS, FPS):
        want = "title" if t.label == "slate" else t.label  # a slate is a card to `text`
        near = [f for f in found if f[0] == want and _tiou((f[1], f[2]), (t.start, t.end)) >= 0.5]
        assert len(near) == 1, (t, found)
        assert abs(near[0][1] - t.start) <= 1.0 and abs(near[0][2] - t.end) <= 1.0, (t, near)
    assert len(found) == len(truth(PARTS, FPS)), found
    texture = (sum(p.seconds for p in PARTS[:6]), sum(p.seconds for p in PARTS[:7]))
    assert not [f for f in found if f[1] < texture[1] - 0.5 and f[2] > texture[0] + 0.5]
    # per frame: the share of the picture under text; per sample: boxes and coverage
    assert len(result.scores) == result.n_frames and max(result.scores) > 0.01
    samples = result.settings["judged"]["samples"]
    assert len(samples["time"]) == pytest.approx(result.duration * 2, abs=2)
    assert 'cv2' not in sys.modules  # the wheel's files are read, its code (and OpenCV) never runs


@pytest.mark.slow
def test_cloud_cues_label_the_whole_film(film):
    (result,) = run_detectors(film, ["cloud-cues"])
    segs = result.segments
    assert segs[0].start == 0 and segs[-1].end == pytest.approx(result.duration)
    assert all(a.end_frame == b.start_frame for a, b in zip(segs, segs[1:]))
    labels = [s.label for s in segs]
    assert labels[:4] == ["ColorBars", "BlackFrames", "Slate", "BlackFrames"], labels
    assert "OpeningCredits" in labels and "Content" in labels
    assert labels[-1] == "EndCredits" or labels[-2:] == ["EndCredits", "BlackFrames"], labels
    slate = segs[2]
    assert abs(slate.start - 2.5) <= 0.2 and abs(slate.end - 5.5) <= 0.2
    assert 'cv2' not in sys.modules


@pytest.mark.slow
def test_read_gives_the_strings_of_a_title(film):
    (result,) = run_detectors(film, ["text"], options={"text": {"read": True, "rate": 1}})
    read = result.settings["judged"]["segments"]
    titles = [" ".join(r["text"]) for r in read if r["label"] == "title"]
    assert any("LONG NIGHT" in t.upper().replace("  ", " ") for t in titles), read


@pytest.mark.slow
def test_cli_run_with_scene_template_and_report(film, tmp_path):
    from scenedet.cli import cli

    out = CliRunner().invoke(cli, ["run", "-p", "text", "-p", "cloud-cues", str(film), "-o",
                                   str(tmp_path / "film.{scene}.json"), "--report",
                                   str(tmp_path / "film.{scene}.html"), "-q"])
    assert out.exit_code == 0, out.output
    doc = json.loads((tmp_path / "film.cloud-cues.json").read_text())
    assert doc["segments"][0]["start_timecode"] == "00:00:00:00"
    assert {"OpeningCredits", "EndCredits", "Slate"} <= {s["label"] for s in doc["segments"]}
    assert (tmp_path / "film.text.json").exists()
    assert (tmp_path / "film.cloud-cues.html").stat().st_size > 0


@pytest.mark.slow
def test_a_damaged_model_is_one_line_naming_the_package(film, tmp_path, monkeypatch):
    from scenedet.cli import cli

    bad = tmp_path / models.DETECTION
    bad.write_bytes(models.model_path(models.DETECTION).read_bytes()[:5000])
    monkeypatch.setattr(models, "model_path", lambda name: bad)
    models.clear()
    try:
        out = CliRunner().invoke(cli, ["run", "-p", "text", str(film)])
    finally:
        models.clear()
    assert out.exit_code == 2, out.output
    line = out.output.strip()
    assert len(line.splitlines()) == 1 and "rapidocr-onnxruntime" in line and "reinstall" in line


def test_the_real_models_find_and_read_a_rendered_card():
    """Fast: one frame, no film. The models are the wheel's, read in place; OpenCV never loads."""
    from PIL import Image, ImageDraw

    from scenedet_text.ocr import Ocr
    from scenedet_text.synth import font

    img = Image.new("RGB", (640, 352), (0, 0, 0))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(["SCENE 12 TAKE 3", "Directed by Ada Moreau"]):
        draw.text((180, 120 + 50 * i), line, font=font(0, 20), fill=(255, 255, 255))
    frame = np.asarray(img)
    ocr = Ocr()
    boxes = ocr.detect(frame)
    assert len(boxes) == 2 and (boxes[:, 4] > 0.6).all()
    assert 0.25 < boxes[0, 0] < 0.3 and 0.3 < boxes[0, 1] < 0.36  # where the first line was drawn
    read = [s.replace(" ", "") for s, _ in ocr.read(frame, boxes)]
    assert read == ["SCENE12TAKE3", "DirectedbyAdaMoreau"]
    assert "cv2" not in sys.modules


def test_a_missing_package_is_one_line(monkeypatch):
    from scenedet.plugin import WeightsError

    monkeypatch.setattr(models, "PACKAGE", "rapidocr-onnxruntime-not-there")
    with pytest.raises(WeightsError, match="not installed; install it: pip install"):
        models.model_path(models.DETECTION)


def test_options_are_checked_before_the_film(tmp_path):
    from scenedet.cli import cli

    film = tmp_path / "not-a-film.mp4"
    film.write_bytes(b"nothing")  # never opened: the option is refused first
    out = CliRunner().invoke(cli, ["run", "-p", "text", str(film), "-O", "rate=0"])
    assert out.exit_code == 2 and out.output.strip().startswith("Error: text: rate must be")


def _flood(mask: np.ndarray) -> list[set[tuple[int, int]]]:
    seen, comps = set(), []
    for p in zip(*np.nonzero(mask)):
        if p in seen:
            continue
        stack, comp = [p], set()
        seen.add(p)
        while stack:
            y, x = stack.pop()
            comp.add((y, x))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    q = (y + dy, x + dx)
                    if (0 <= q[0] < mask.shape[0] and 0 <= q[1] < mask.shape[1] and mask[q]
                            and q not in seen):
                        seen.add(q)
                        stack.append(q)
        comps.append(comp)
    return comps


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1), st.floats(0.1, 0.7))
def test_label_runs_finds_the_8_connected_components(h, w, seed, density):
    mask = np.random.default_rng(seed).random((h, w)) < density
    labels, n = label_runs(mask)
    comps = _flood(mask)
    assert n == len(comps)
    assert {frozenset(zip(*np.nonzero(labels == k))) for k in range(1, n + 1)} == {
        frozenset(c) for c in comps}


def test_boxes_from_map_finds_text_blocks_and_drops_faint_ones():
    prob = np.zeros((64, 128), np.float32)
    prob[10:20, 10:60] = 0.9      # a line of text
    prob[40:48, 70:120] = 0.4     # above the pixel threshold, below the box score
    boxes = boxes_from_map(prob, box_thresh=0.6)
    assert len(boxes) == 1
    x0, y0, x1, y1, score = boxes[0]
    assert x0 < 10 < 60 < x1 and y0 < 10 < 20 < y1 and score > 0.8  # grown by the unclip


@given(st.lists(st.integers(1, 5), max_size=12))
def test_ctc_decode_merges_repeats_and_drops_blanks(ids):
    chars = ["", "a", "b", "c", "d", "e"]
    steps = []
    for i in ids:  # each character twice, a blank after it: what a CTC network emits
        steps += [i, i, 0]
    probs = np.full((max(1, len(steps)), 6), 0.01, np.float32)
    for t, i in enumerate(steps):
        probs[t, i] = 0.95
    text, conf = ctc_decode(probs, chars)
    assert text == "".join(chars[i] for i in ids)
    assert (conf > 0.9) if ids else conf == 0.0


def test_relate_tells_still_rolling_and_new_text():
    lines = np.array([[0.3, y, 0.3 + 0.05 * k, y + 0.04, 0.9] for k, y in
                      zip(range(3, 9), np.arange(0.1, 0.9, 0.13))], np.float32)
    assert relate(lines, lines)[0] == "same"
    up = lines.copy()
    up[:, [1, 3]] -= 0.05
    kind, dy = relate(lines, up)
    assert kind == "up" and dy == pytest.approx(-0.05, abs=1e-4)
    other = np.array([[0.6, 0.85, 0.9, 0.9, 0.9]], np.float32)
    assert relate(lines, other)[0] == "change"


def test_the_cue_set_covers_every_frame_once_and_text_beats_black():
    """``cover``: cues by precedence, Content between; text that is no cue (a mid-film card on
    black) keeps black frames off, and joins the Content around it."""
    from types import SimpleNamespace

    from scenedet.plugin import FrameSegment
    from scenedet_text.cloudcues import TEXT, cover

    info = SimpleNamespace(n_frames=250, duration=10.0, fps=25.0, frame_time=lambda i: i / 25)

    def seg(a, b, score=None):
        return FrameSegment(start=a / 25, end=b / 25, start_frame=a, end_frame=b, score=score)

    found = [("ColorBars", seg(0, 25)), ("BlackFrames", seg(25, 50)), ("BlackFrames", seg(100, 150)),
             (TEXT, seg(110, 140, 0.8)), ("EndCredits", seg(200, 250, 0.7)),
             ("BlackFrames", seg(190, 230))]
    out = cover(found, info)
    assert [(s.label, s.start_frame, s.end_frame) for s in out] == [
        ("ColorBars", 0, 25), ("BlackFrames", 25, 50), ("Content", 50, 100),
        ("BlackFrames", 100, 110), ("Content", 110, 140), ("BlackFrames", 140, 150),
        ("Content", 150, 190), ("BlackFrames", 190, 200), ("EndCredits", 200, 250)]
    assert out[4].score == pytest.approx(0.8) and out[-1].score == pytest.approx(0.7)
