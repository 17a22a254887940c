"""The HTML report, from one `scenedet run` on a generated film, opened in headless Chromium.

The browser is Debian's ``chromium`` driven by Playwright (``.ci/run`` installs both; Playwright's
own browser download is never used). Without a browser these tests are skipped, saying why.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import scenedet
from scenedet.cli import cli
from scenedet.inference.modelfile import ModelMeta, save_model_file
from scenedet.media.encode import FilmWriter

pytestmark = pytest.mark.slow  # a model run and a browser: several seconds each

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
SCENES = [(1, 3, 0.9), (4, 6, 0.8), (7, 9, 0.95)]


def _film(path: Path, seconds: int = 10, fps: int = 12) -> Path:
    """H.264 (which Debian's chromium plays), 12 fps, a keyframe per second, a tone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 48_000
    with FilmWriter(path, width=160, height=120, fps=fps, gop=fps, audio_rate=rate) as w:
        for i in range(seconds * fps):
            w.write_frame(np.full((120, 160, 3), (i * 7) % 256, np.uint8))
            if i % fps == fps - 1:
                t = np.arange(rate) / rate
                w.write_audio((0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    return path


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
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright): no browser test")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium): no browser test")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, report: Path):
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=20_000)
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
