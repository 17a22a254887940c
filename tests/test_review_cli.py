"""`scenedet review` and `scenedet suggest` on the command line: one-line errors, Ctrl-C exits
130, a killed server leaves the last autosave whole, and suggest ranks a real model's doubts."""

from __future__ import annotations

import http.client
import json
import re
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from review_helpers import TIMEOUT, start_review, write_film, write_result
from scenedet.cli import cli
from scenedet.evaluation.annotations import load_annotations



@pytest.fixture(scope="module")
def film(tmp_path_factory) -> Path:
    return write_film(tmp_path_factory.mktemp("review-cli") / "films" / "a.mp4", seconds=4)


@pytest.mark.parametrize("args, message", [
    (["review", "missing/"], "film or folder not found: missing"),
    (["review", "{film}", "--annotations", "{tmp}/labels.txt"], "use a .csv or .json name"),
    (["review", "{film}", "{tmp}/nothing.json"], "nothing.json"),
    (["review", "{film}", "--suggested", "{tmp}/nothing.json"], "suggestions file not found"),
    (["review", "{film}", "--port", "99999"], "99999"),
    (["suggest", "{film}"], "Missing option '--model'"),
])
def test_mistakes_are_one_line_and_exit_2(film, tmp_path, args, message):
    args = [a.format(film=film, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.output
    assert "Traceback" not in result.output


def test_a_result_of_another_film_is_refused(film, tmp_path):
    other = write_result(tmp_path / "other.json", tmp_path / "other.mp4", seconds=4)
    result = CliRunner().invoke(cli, ["review", str(film), str(other), "--no-browser"])
    assert result.exit_code == 2
    assert "names none of the films under review" in result.output


def _port(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


def _save(url: str, segments: list, version: int) -> int:
    """Save as the page does: with the write token the page holds, from the page's origin."""
    port, token = _port(url), url.split("token=")[1]
    page = _get(url)
    write = json.loads(re.search(r'type="application/json">(.*?)</script>', page).group(1))["write"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("PUT", f"/api/film/0/annotations?token={token}",
                 body=json.dumps({"version": version, "segments": segments}),
                 headers={"X-Scenedet-Write": write, "Origin": f"http://127.0.0.1:{port}"})
    status = conn.getresponse().status
    conn.close()
    return status


def _get(url: str) -> str:
    port = _port(url)
    rest = url.split(f":{port}", 1)[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", rest)
    body = conn.getresponse().read().decode()
    conn.close()
    return body


@pytest.mark.slow  # a fresh interpreter per server
def test_ctrl_c_stops_the_server_and_exits_130(film, tmp_path):
    proc, url = start_review([str(film), "--annotations", str(tmp_path / "labels.csv")], tmp_path)
    try:
        assert json.loads(_get(url.replace("/?", "/api/overview?")))["films"][0]["key"] == "a.mp4"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "Interrupted."
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_killed_server_keeps_every_save_it_answered(film, tmp_path):
    """Each save is a whole file renamed into place: SIGKILL at any moment leaves the last one.
    (The page saves a second after each edit, so a kill loses at most the last second's edits.)"""
    labels = tmp_path / "labels.csv"
    proc, url = start_review([str(film), "--annotations", str(labels)], tmp_path)
    try:
        assert _save(url, [{"start": 0.5, "end": 1.5, "label": 1}], 0) == 200
        assert _save(url, [{"start": 0.5, "end": 2.5, "label": 1},
                               {"start": 3, "end": 4, "label": 0}], 1) == 200
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [(a.start, a.end, a.label) for a in load_annotations(labels)] == [(0.5, 2.5, 1),
                                                                             (3.0, 4.0, 0)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".labels")]  # no leftovers


@pytest.mark.slow  # two backbones over a film
def test_suggest_writes_a_file_review_walks(film, tmp_path):
    import torch

    import scenedet
    from scenedet.inference.modelfile import ModelMeta, save_model_file

    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    head = torch.nn.Linear(640, 2)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 0.0]))  # p = 0.5 everywhere: all equally unsure
    model = tmp_path / "m.pt"
    save_model_file(model, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                     backbone_weights=tuple(b.weights_id for b in backbones),
                                     feature_dims=(512, 128)), head.state_dict())
    out = tmp_path / "suggested.json"
    result = CliRunner().invoke(cli, ["suggest", "-m", str(model), str(film.parent), "-n", "3",
                                      "--length", "2", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    stretches = json.loads(out.read_text())["stretches"]
    assert [(s["video"], s["start"], s["end"]) for s in stretches] == [("a.mp4", 0, 2), ("a.mp4", 2, 4)]
    assert all(s["score"] == pytest.approx(1.5) for s in stretches)  # unsure, half likely
    from scenedet.review.session import open_review

    session = open_review(film.parent, suggested=out, annotations=tmp_path / "l.csv")
    assert [(s["film"], s["start"]) for s in session.overview()["suggested"]] == [("0", 0), ("0", 2)]
