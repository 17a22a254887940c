"""`scenedet review`'s page in a real browser: Debian's chromium driven by Playwright.

Each test serves generated films on a free port (tests/review_helpers.py), drives the page with
the keyboard and the mouse as a person would, and checks what the annotations file then holds.
Without a browser these tests are skipped, saying why (as tests/test_report_browser.py's).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser_helpers import launch_chromium
from review_helpers import (
    CUTS,
    TIMEOUT,
    serving,
    start_review,
    write_film,
    write_result,
    write_shots,
)

from scenedet.evaluation.annotations import load_annotations
from scenedet.review.session import open_review

pytestmark = pytest.mark.slow  # a browser: several seconds each

@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium(("--autoplay-policy=no-user-gesture-required",))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Two films (one the browser plays, one it cannot), a scene result and a shot result."""
    root = tmp_path_factory.mktemp("review-media")
    film = write_film(root / "films" / "a.mp4")
    write_film(root / "films" / "b.avi", codec="mpeg4", seconds=4)
    return root, film, write_result(root / "a.json", film), write_shots(root / "s.json", film)


def _copy_films(media, tmp_path: Path) -> Path:
    """The films in a folder of this test's own, so each test has its own annotations file."""
    root = media[0]
    folder = tmp_path / "films"
    shutil.copytree(root / "films", folder)
    return folder


def _open(browser, server, *, wait_player: bool = True):
    """The page, its Content-Security-Policy lifted for the test's own probes (Playwright
    evaluates strings; :func:`test_the_page_keeps_its_content_security_policy` checks it)."""
    page = browser.new_page(bypass_csp=True)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url)
    page.wait_for_function("window.scenedetReview && window.scenedetReview.film() !== null",
                           timeout=20_000)
    if wait_player:
        page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=20_000)
    return page, errors


def _time(page) -> float:
    return page.evaluate("window.scenedetReview.time()")


def _saved(page) -> None:
    page.wait_for_function("window.scenedetReview.saved()", timeout=10_000)
    page.wait_for_function("document.getElementById('status').textContent === 'Saved'",
                           timeout=10_000)


def _annotations(path: Path) -> list[tuple[str, float, float, int]]:
    return [(a.video, a.start, a.end, a.label) for a in load_annotations(path)]


def _seek_to(page, t: float) -> None:
    page.evaluate(f"document.getElementById('player').currentTime = {t}")
    page.wait_for_function(f"Math.abs(window.scenedetReview.time() - {t}) < 0.01 && "
                           f"!document.getElementById('player').seeking", timeout=10_000)


def test_page_loads_plays_and_seeks_without_console_errors(browser, media, tmp_path):
    folder = _copy_films(media, tmp_path)
    session = open_review(folder, [media[2]])
    with serving(session) as server:
        page, errors = _open(browser, server)
        assert page.locator("#film-list li").count() == 2
        assert page.evaluate("document.getElementById('player').duration") == pytest.approx(10, abs=0.2)
        assert page.locator(".lane.detected .seg").count() == 2
        page.keyboard.press("l")  # play
        page.wait_for_function("window.scenedetReview.time() > 0.5", timeout=10_000)
        page.keyboard.press("k")  # stop
        assert page.evaluate("document.getElementById('player').paused")
        _seek_to(page, 4.0)
        page.keyboard.press("ArrowRight")  # one frame on (12 fps)
        page.wait_for_function("Math.abs(window.scenedetReview.time() - (4 + 1/12)) < 0.01")
        page.keyboard.press("Shift+ArrowLeft")  # one second back
        page.wait_for_function("Math.abs(window.scenedetReview.time() - (3 + 1/12)) < 0.01")
        page.keyboard.press("]")  # the next boundary: the second scene's start, at 5 s
        page.wait_for_function("Math.abs(window.scenedetReview.time() - 5) < 0.01")
        page.keyboard.press("[")
        page.keyboard.press("[")  # back over 3 s (the first scene's end) to 1 s
        page.wait_for_function("Math.abs(window.scenedetReview.time() - 1) < 0.01")
        _seek_to(page, 8.0)
        page.keyboard.press("j")  # shuttle backwards ...
        page.wait_for_function("window.scenedetReview.time() < 7.5", timeout=10_000)
        page.keyboard.press("k")  # ... and stop
        stopped = _time(page)
        page.wait_for_timeout(300)
        assert _time(page) == stopped
        page.keyboard.press("+")  # zoom in around the playhead, twice
        page.keyboard.press("+")
        v0, v1 = page.evaluate("window.scenedetReview.view()")
        assert v1 - v0 == pytest.approx(2.5) and v0 <= stopped <= v1
        assert page.locator(".lane.detected .seg").count() <= 1  # only what is in view
        page.keyboard.press("0")
        assert page.evaluate("window.scenedetReview.view()") == [0, 10]
        assert errors == []
        page.close()


def test_the_page_keeps_its_content_security_policy(browser, media, tmp_path):
    """Under its own policy (no inline script, nothing from elsewhere) the page works, with no
    console error: the script, the style, the API and the film all come from the server."""
    folder = _copy_films(media, tmp_path)
    session = open_review(folder, [media[2]])
    with serving(session) as server:
        page = browser.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        response = page.goto(server.url)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.locator("#film-list li.current").wait_for(timeout=20_000)
        page.locator(".lane.detected .seg").first.wait_for(timeout=20_000)
        assert errors == []
        origin = server.url.split("/?")[0]
        assert requests and all(u.startswith(origin) for u in requests), requests
        page.close()


def test_mark_a_scene_with_i_and_o_then_undo_redo_and_reload(browser, media, tmp_path):
    folder = _copy_films(media, tmp_path)
    session = open_review(folder / "a.mp4", [media[2]])
    with serving(session) as server:
        page, errors = _open(browser, server)
        _seek_to(page, 2.0)
        page.keyboard.press("i")
        _seek_to(page, 4.5)
        page.keyboard.press("o")
        _saved(page)
        assert _annotations(folder / "annotations.csv") == [("a.mp4", 2.0, 4.5, 1)]
        page.keyboard.press("Control+z")
        _saved(page)
        assert _annotations(folder / "annotations.csv") == []
        assert "a.mp4" in load_annotations(folder / "annotations.csv").videos  # reviewed, empty
        page.keyboard.press("Control+Shift+Z")
        _saved(page)
        assert _annotations(folder / "annotations.csv") == [("a.mp4", 2.0, 4.5, 1)]
        page.reload()
        page.wait_for_function("window.scenedetReview.annotations().length === 1", timeout=20_000)
        assert page.evaluate("window.scenedetReview.annotations()") == [
            {"start": 2.0, "end": 4.5, "label": 1}]
        assert page.locator(".lane.annotations .seg.ann.pos").count() == 1
        assert errors == []
        page.close()


def test_accept_and_reject_detected_scenes(browser, media, tmp_path):
    folder = _copy_films(media, tmp_path)
    session = open_review(folder / "a.mp4", [media[2]], annotations=tmp_path / "labels.json")
    with serving(session) as server:
        page, errors = _open(browser, server)
        _seek_to(page, 1.5)
        page.keyboard.press("Enter")  # accept the scene under the playhead: 1-3 s
        page.locator(".lane.detected .seg").nth(1).click()  # select the second: 5-7 s
        page.keyboard.press("Delete")  # reject it: "not a scene"
        _saved(page)
        assert _annotations(tmp_path / "labels.json") == [("a.mp4", 1.0, 3.0, 1),
                                                          ("a.mp4", 5.0, 7.0, 0)]
        # the file is the one `scenedet train` reads: a JSON annotations file
        assert load_annotations(tmp_path / "labels.json").explicit_negatives
        page.locator(".lane.annotations .seg.neg").click()  # select the rejection ...
        page.keyboard.press("t")  # ... and make it a scene after all
        page.locator(".lane.annotations .seg").first.click()
        page.keyboard.press("Delete")  # remove the accepted one
        _saved(page)
        assert _annotations(tmp_path / "labels.json") == [("a.mp4", 5.0, 7.0, 1)]
        assert errors == []
        page.close()


def _x_of(page, t: float) -> float:
    box = page.locator("#timeline").bounding_box()
    v0, v1 = page.evaluate("window.scenedetReview.view()")
    return box["x"] + box["width"] * (t - v0) / (v1 - v0)


def test_drag_a_boundary_snaps_to_shot_cuts(browser, media, tmp_path):
    folder = _copy_films(media, tmp_path)
    session = open_review(folder / "a.mp4", [media[2], media[3]])
    with serving(session) as server:
        page, errors = _open(browser, server)
        assert page.locator("#cuts .cut").count() == len(CUTS)
        _seek_to(page, 1.5)
        page.keyboard.press("Enter")  # 1-3 s
        handle = page.locator(".lane.annotations .seg .handle.right")
        box = handle.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(_x_of(page, 3.6), y, steps=5)
        page.mouse.move(_x_of(page, 3.97), y, steps=3)  # a few pixels short of the cut at 4 s
        page.mouse.up()
        _saved(page)
        assert page.evaluate("window.scenedetReview.annotations()") == [
            {"start": 1.0, "end": 4.0, "label": 1}]
        # far from any cut, a drag lands where it is let go (to the pixel)
        left = page.locator(".lane.annotations .seg .handle.left").bounding_box()
        page.mouse.move(left["x"] + left["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(_x_of(page, 1.8), y, steps=5)
        page.mouse.up()
        _saved(page)
        (start, end, label), = [(a["start"], a["end"], a["label"])
                                for a in page.evaluate("window.scenedetReview.annotations()")]
        assert start == pytest.approx(1.8, abs=0.05) and end == 4.0
        assert _annotations(folder / "annotations.csv")[0][1] == pytest.approx(start, abs=1e-6)
        assert errors == []
        page.close()


def test_a_second_tabs_stale_save_is_refused_with_a_message(browser, media, tmp_path):
    folder = _copy_films(media, tmp_path)
    session = open_review(folder / "a.mp4", [media[2]])
    with serving(session) as server:
        first, errors1 = _open(browser, server)
        second, errors2 = _open(browser, server)
        _seek_to(first, 1.5)
        first.keyboard.press("Enter")
        _saved(first)
        _seek_to(second, 5.5)
        second.keyboard.press("Enter")
        second.wait_for_function("!document.getElementById('message').hidden", timeout=10_000)
        assert "changed elsewhere" in second.locator("#message").inner_text()
        assert second.locator("#status").inner_text().startswith("Not saved")
        assert _annotations(folder / "annotations.csv") == [("a.mp4", 1.0, 3.0, 1)]
        second.reload()  # as the message says: it now shows the first tab's scene
        second.wait_for_function("window.scenedetReview.annotations().length === 1",
                                 timeout=20_000)
        assert errors1 == []
        first.close()
        second.close()


def test_a_film_the_browser_cannot_play_gets_a_still_per_second(browser, media, tmp_path):
    folder = _copy_films(media, tmp_path)
    session = open_review(folder / "b.avi")
    with serving(session) as server:
        page, errors = _open(browser, server, wait_player=False)
        assert page.locator("#player").is_hidden()
        assert "MPEG-4 Part 2" in page.locator("#unplayable-reason").inner_text()
        page.wait_for_function("document.getElementById('still').naturalWidth > 0", timeout=20_000)
        assert page.locator("#strip img").count() == 4  # one per second of the 4 s film
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("Shift+ArrowRight")
        page.wait_for_function("document.getElementById('still').dataset.second === '2'")
        page.keyboard.press("i")
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("o")
        _saved(page)
        assert _annotations(folder / "annotations.csv") == [("b.avi", 2.0, 3.0, 1)]
        assert errors == []
        page.close()


def test_a_folder_lists_films_with_how_much_is_reviewed_and_pages_through_them(browser, media,
                                                                               tmp_path):
    folder = _copy_films(media, tmp_path)
    session = open_review(folder, [media[2]])
    with serving(session) as server:
        page, errors = _open(browser, server)
        items = page.locator("#film-list li")
        assert [items.nth(i).get_attribute("data-reviewed") for i in range(2)] == ["0", "0"]
        _seek_to(page, 1.5)
        page.keyboard.press("Enter")
        _saved(page)
        assert items.nth(0).get_attribute("data-reviewed") == "1"  # declared, no negatives: all
        page.keyboard.press("PageDown")
        page.wait_for_function("window.scenedetReview.film() === 'b.avi'", timeout=20_000)
        assert page.locator("#film-list li.current").inner_text().startswith("b.avi")
        page.keyboard.press("m")  # reviewed, nothing here
        _saved(page)
        saved = load_annotations(folder / "annotations.csv")
        assert set(saved.videos) == {"a.mp4", "b.avi"} and len(saved) == 1
        assert items.nth(1).get_attribute("data-reviewed") == "1"
        page.keyboard.press("PageUp")
        page.wait_for_function("window.scenedetReview.film() === 'a.mp4'", timeout=20_000)
        assert errors == []
        page.close()


class _Process:
    """A `scenedet review` process, as :func:`_open` takes a server: by its address."""

    def __init__(self, url: str) -> None:
        self.url = url


def test_a_killed_server_loses_at_most_the_last_autosave_interval(browser, media, tmp_path):
    """The page saves AUTOSAVE_SECONDS (1 s) after an edit; what it reported saved survives a
    SIGKILL of the server, whole; an edit not yet saved is what may be lost, and the page says so."""
    folder = _copy_films(media, tmp_path)
    labels = tmp_path / "labels.csv"
    proc, url = start_review([str(folder / "a.mp4"), str(media[2]), "--annotations", str(labels)],
                             tmp_path)
    try:
        page, errors = _open(browser, _Process(url))
        _seek_to(page, 1.5)
        page.keyboard.press("Enter")
        _saved(page)
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
        _seek_to(page, 5.5)
        page.keyboard.press("Enter")  # an edit the dead server never gets
        page.wait_for_function("document.getElementById('status').textContent"
                               ".startsWith('Not saved')", timeout=10_000)
        assert "does not answer" in page.locator("#status").inner_text()
        assert _annotations(labels) == [("a.mp4", 1.0, 3.0, 1)]
        assert len(page.evaluate("window.scenedetReview.annotations()")) == 2  # kept in the page
        page.close()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_suggested_stretches_are_walked_in_order(browser, media, tmp_path):
    from scenedet.review.suggest import Stretch, save_suggestions

    folder = _copy_films(media, tmp_path)
    suggested = save_suggestions(tmp_path / "s.json", [Stretch("b.avi", 1, 3, 0.9),
                                                       Stretch("a.mp4", 6, 8, 0.8)])
    session = open_review(folder, [media[2]], suggested=suggested)
    with serving(session) as server:
        page, errors = _open(browser, server, wait_player=False)
        page.wait_for_function("window.scenedetReview.film() === 'b.avi'", timeout=20_000)
        page.wait_for_function("Math.abs(window.scenedetReview.time() - 1) < 0.01")
        assert page.locator("#suggest-list li").count() == 2
        assert page.locator("#suggest-list li.current").inner_text().startswith("1. b.avi")
        page.keyboard.press("PageDown")
        page.wait_for_function("window.scenedetReview.film() === 'a.mp4'", timeout=20_000)
        page.wait_for_function("Math.abs(window.scenedetReview.time() - 6) < 0.01", timeout=20_000)
        v0, v1 = page.evaluate("window.scenedetReview.view()")
        assert v0 <= 6 and v1 >= 8 and v1 - v0 < 10  # zoomed in on the stretch
        assert page.locator(".lane.suggested .seg").count() == 1
        assert errors == []
        page.close()


def test_the_label_menu_and_the_buttons_leave_the_keys_to_the_page(browser, media, tmp_path):
    folder = _copy_films(media, tmp_path)
    session = open_review(folder / "a.mp4", [media[2]])
    with serving(session) as server:
        page, errors = _open(browser, server)
        _seek_to(page, 1.5)
        page.keyboard.press("Enter")
        page.locator("#segments select.label").select_option("0")  # "not a scene"
        _saved(page)
        assert _annotations(folder / "annotations.csv") == [("a.mp4", 1.0, 3.0, 0)]
        page.locator("#undo").click()
        _saved(page)
        assert _annotations(folder / "annotations.csv") == [("a.mp4", 1.0, 3.0, 1)]
        page.keyboard.press("l")  # the keys still reach the page, not the button or the menu
        page.wait_for_function("!document.getElementById('player').paused", timeout=10_000)
        page.keyboard.press("k")
        assert page.evaluate("window.scenedetReview.annotations()") == [
            {"start": 1.0, "end": 3.0, "label": 1}]
        assert errors == []
        page.close()
