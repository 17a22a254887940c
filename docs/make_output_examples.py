"""Regenerate the pictures in docs/outputs.md: real timeline plots and screenshots of reports.

    python docs/make_output_examples.py [WORKDIR]

1. Runs the demo's first steps on a small synthetic dataset (:func:`scenedet.demo.run_demo`:
   render films, train the kissing recipe's head on random-init backbones), in WORKDIR
   (default: a folder under the system's temporary folder, reused if present).
2. ``scenedet run`` on the held-out test film with ``--plot``, ``--report``, ``--annotations``
   and the other outputs, exactly as a user would.
3. Opens the report in Debian's headless chromium (Playwright), clicks the second scene and takes
   a screenshot.

4. Renders a synthetic shot film with colour bars, a black stretch and silences
   (:mod:`scenedet.synth.shots`), runs the ``cues`` detector on it (``scenedet run -p cues``, the
   ``scenedet-cues`` plugin installed) with ``--plot`` and ``--report``, and screenshots that
   report after clicking the black cue's bar in its lane.

Writes docs/img/timeline.png, docs/img/report.png, docs/img/timeline-cues.png and
docs/img/report-cues.png (small PNGs, committed). Takes a few minutes on two cores, most of it
training.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
IMG = DOCS / "img"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def main(argv: list[str]) -> None:
    from scenedet.demo import run_demo

    work = Path(argv[1]) if len(argv) > 1 else Path(tempfile.gettempdir()) / "scenedet-output-examples"
    work.mkdir(parents=True, exist_ok=True)
    model = work / "kissing-demo.pt"
    held_out = work / "test_film.txt"  # the film the demo held out of training
    if model.exists() and held_out.exists() and (work / "data" / "dataset.json").exists():
        test_film = held_out.read_text().strip()
        print(f"reusing {model} and the held-out {test_film}")
    else:
        result = run_demo(work, films=6, seed=3, min_seconds=100, max_seconds=150, progress=False)
        test_film = result.test_films[0]
        held_out.write_text(test_film + "\n")
    film = work / "data" / test_film
    out = work / "out"
    cmd = [sys.executable, "-m", "scenedet", "run", "-p", "kissing", str(film), "-m", str(model),
           "-o", str(out / "film.json"), "-o", str(out / "film.edl"), "-o", str(out / "film.csv"),
           "-o", str(out / "film.otio"), "-o", str(out / "film.vtt"),
           "--stills", str(out / "stills"), "--clips", str(out / "clips"),
           "--plot", str(out / "timeline.png"), "--report", str(out / "report.html"),
           "--annotations", str(work / "data" / "annotations.csv")]
    print("$ scenedet " + " ".join(cmd[3:]))
    subprocess.run(cmd, check=True)
    IMG.mkdir(exist_ok=True)
    shutil.copyfile(out / "timeline.png", IMG / "timeline.png")
    screenshot(out / "report.html", IMG / "report.png")
    cues(work / "cues")
    print(f"wrote {IMG / 'timeline.png'}, {IMG / 'report.png'}, {IMG / 'timeline-cues.png'} "
          f"and {IMG / 'report-cues.png'}")


def cues(work: Path) -> None:
    """A cue detector's plot and report: label lanes (docs/outputs.md)."""
    from scenedet.synth.shots import plan_shot_film, render_shot_film

    work.mkdir(parents=True, exist_ok=True)
    plan = plan_shot_film(1, 4, shots=5, fps=25, width=320, height=180, min_shot=1.5, max_shot=3)
    film = work / plan.file
    render_shot_film(plan, film)
    cmd = [sys.executable, "-m", "scenedet", "run", "-p", "cues", str(film),
           "-o", str(work / "cues.json"), "--plot", str(work / "cues.png"),
           "--report", str(work / "cues.html"), "-q"]
    print("$ scenedet " + " ".join(cmd[3:]))
    subprocess.run(cmd, check=True)
    shutil.copyfile(work / "cues.png", IMG / "timeline-cues.png")
    screenshot(work / "cues.html", IMG / "report-cues.png",
               click=".lane[data-label=black] .seg", height=680)


def screenshot(report: Path, png: Path, click: str = "tr.scene >> nth=1",
               height: int = 640) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": height})
        page.goto(report.as_uri())
        page.wait_for_function("document.getElementById('player').readyState >= 2", timeout=20_000)
        target = page.locator(click)
        if target.count():
            target.first.click()
            page.wait_for_timeout(1500)
            page.evaluate("document.getElementById('player').pause()")
        page.screenshot(path=str(png))
        browser.close()


if __name__ == "__main__":
    main(sys.argv)
