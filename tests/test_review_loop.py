"""The issue's "done when": from a folder of films to a trained detector through `review`,
`train` and `run`, offline, without writing a file by hand; the labelling done in the browser.

Generated films (``scenedet synth``) stand for the user's films; their true scenes are put aside
and marked in the page with I and O, as a person would after scrubbing to them; a film with no
scene is marked reviewed with M. The file the page saved must equal the truth, train on it, and
the model it gives must run.
"""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from review_helpers import serving
from scenedet.cli import cli
from scenedet.evaluation.annotations import load_annotations
from scenedet.review.session import open_review
from test_review_browser import _open, _saved, _seek_to, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow  # a browser, a dataset, a training


def test_label_in_the_browser_then_train_then_run(browser, tmp_path):  # noqa: F811
    from scenedet.synth import synthesize

    dataset = synthesize(tmp_path / "films", films=4, seed=2, min_seconds=16, max_seconds=20,
                         min_scene=4, max_scene=6, width=160, height=120)
    truth = load_annotations(dataset.annotations_path)
    shutil.move(dataset.annotations_path, tmp_path / "truth.csv")  # the user has films only
    session = open_review(tmp_path / "films")
    keys = [f.key for f in session.films]
    assert len(keys) == 4 and set(truth.videos) == set(keys)
    with serving(session) as server:
        page, errors = _open(browser, server)
        for i, key in enumerate(keys):
            page.wait_for_function(f"window.scenedetReview.film() === '{key}'", timeout=20_000)
            page.wait_for_function("document.getElementById('player').readyState >= 1",
                                   timeout=20_000)
            for scene in truth.positives(key):
                _seek_to(page, scene.start)
                page.keyboard.press("i")
                _seek_to(page, scene.end)
                page.keyboard.press("o")
            if not truth.positives(key):
                page.keyboard.press("m")
            _saved(page)
            if i + 1 < len(keys):
                page.keyboard.press("PageDown")
        assert errors == []
        page.close()
    labelled = load_annotations(tmp_path / "films" / "annotations.csv")
    assert labelled == truth  # every film, every scene, to the second: nothing written by hand
    model = tmp_path / "mine.pt"
    trained = CliRunner().invoke(cli, ["train", "-p", "kissing", "-a",
                                       str(tmp_path / "films" / "annotations.csv"), "-o", str(model),
                                       "--backbone-weights", "random:0", "--epochs", "2", "-q"])
    assert trained.exit_code == 0, trained.output
    film = tmp_path / "films" / keys[0]
    ran = CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), "-m", str(model),
                                   "-o", str(tmp_path / "again.json"), "-q"])
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / "again.json").read_text().count('"scores"') == 1
