"""Regenerate the picture in docs/review.md: the review page, after the loop's first steps.

    python docs/make_review_screenshots.py [WORKDIR]

1. ``scenedet synth``: six short generated films with known scenes (docs/synthetic-data.md);
2. ``scenedet train`` a kissing-recipe head on them (seeded random backbones, ``random:0``: no
   weights are downloaded), as the README's loop does;
3. ``scenedet run -p kissing -p shots -p cues`` on the last film: per-second scores, scenes,
   shot cuts and cues;
4. ``scenedet review`` of the folder with that result (a server in a process of its own, as a
   user starts it), opened in Debian's headless chromium (Playwright): the first detected scene
   is accepted with Enter, the second rejected with Delete, a scene is marked with I and O, and
   the page is photographed.

Writes docs/img/review.png (committed). WORKDIR (default: a folder under the system's temporary
folder) is reused: a second run skips what is there. A few minutes on two cores, most of it the
features of the films.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
IMG = DOCS / "img"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def scenedet(*args: str, cwd: Path) -> None:
    print("$ scenedet", " ".join(args), file=sys.stderr)
    subprocess.run([sys.executable, "-m", "scenedet", *args], cwd=cwd, check=True)


def prepare(work: Path) -> tuple[Path, Path]:
    """The films, a model and a run of it on the last film (each step skipped when done)."""
    data = work / "data"
    if not (data / "dataset.json").exists():
        scenedet("synth", "-o", "data", "--films", "6", "--seed", "3", "--min-length", "40",
                 "--max-length", "60", "--min-scene", "6", "--max-scene", "15", "--size",
                 "320x180", cwd=work)
    if not (work / "mine.pt").exists():
        scenedet("train", "-p", "kissing", "-a", "data/annotations.csv", "-o", "mine.pt",
                 "--backbone-weights", "random:0", "-q", cwd=work)
    film = sorted(data.glob("film_*.mp4"))[-1]
    result = work / "run.json"
    if not result.exists():
        scenedet("run", "-p", "kissing", "-p", "shots", "-p", "cues", str(film), "-m", "mine.pt",
                 "-o", "run.json", "-q", cwd=work)
    return film, result


def start(work: Path, film: Path, result: Path) -> tuple[subprocess.Popen, str]:
    labels = work / "labels.csv"
    labels.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "scenedet", "review", str(film), str(result),
                             "--annotations", str(labels), "--no-browser"],
                            stdout=subprocess.PIPE, text=True, cwd=work)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"Open (http://\S+)", proc.stdout.readline())
        if found:
            return proc, found.group(1)
    proc.kill()
    raise SystemExit("scenedet review printed no address")


def photograph(url: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        page.goto(url)
        page.wait_for_function("document.getElementById('player').readyState >= 2", timeout=30_000)
        detected = page.locator(".lane.detected").first.locator(".seg")
        if detected.count():
            detected.first.click()
            page.keyboard.press("Enter")
        if detected.count() > 1:
            detected.nth(1).click()
            page.keyboard.press("Delete")
        duration = page.evaluate("document.getElementById('player').duration")
        page.evaluate(f"document.getElementById('player').currentTime = {duration * 0.8:.2f}")
        page.wait_for_timeout(300)
        page.keyboard.press("i")
        page.evaluate(f"document.getElementById('player').currentTime = {duration * 0.9:.2f}")
        page.wait_for_timeout(300)
        page.keyboard.press("o")
        page.wait_for_function("window.scenedetReview.saved()", timeout=10_000)
        page.evaluate(f"document.getElementById('player').currentTime = {duration * 0.85:.2f}")
        page.wait_for_timeout(800)
        page.screenshot(path=str(out), full_page=True)
        browser.close()


def main(argv: list[str]) -> None:
    work = Path(argv[1]) if len(argv) > 1 else Path(tempfile.gettempdir()) / "scenedet-review-shots"
    work.mkdir(parents=True, exist_ok=True)
    film, result = prepare(work)
    proc, url = start(work, film, result)
    try:
        IMG.mkdir(exist_ok=True)
        photograph(url, IMG / "review.png")
    finally:
        proc.kill()
        proc.wait(10)
    print(f"-> {IMG / 'review.png'}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
