"""The timeline plot: a real PNG, an envelope for long films, annotations drawn."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from scenedet.cli import cli
from scenedet.outputs.plot import ANNOTATED, FOUND, envelope, render_timeline, write_plot


def _rgb(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG"
        return np.asarray(img.convert("RGB"))


def _has_colour(rgb: np.ndarray, hex_colour: str, tol: int = 40) -> bool:
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return bool((np.abs(rgb.astype(int) - target).sum(axis=2) < tol).any())


def test_envelope_bins_a_two_hour_film_and_keeps_its_extremes():
    rng = np.random.default_rng(0)
    scores = rng.random(7200) * 0.3
    scores[4000] = 0.99  # one lone spike must survive the binning
    x, low, high, mean = envelope(scores)
    assert len(x) <= 1800 and len(x) == len(low) == len(high) == len(mean)
    assert high.max() == pytest.approx(0.99) and low.min() == pytest.approx(scores.min())
    assert np.all(low <= mean) and np.all(mean <= high)
    assert x[0] == 2.0 and x[-1] == 7198.0  # bin centres of 4 s bins
    short = envelope(scores[:100])
    assert len(short[0]) == 100 and np.array_equal(short[3], scores[:100])


def test_envelope_of_an_uneven_tail():
    x, low, high, mean = envelope(np.arange(10.0), max_points=4)  # bins of 3: 3 + 3 + 3 + 1
    assert list(x) == [1.5, 4.5, 7.5, 9.5] and list(high) == [2, 5, 8, 9] and mean[-1] == 9


def test_plot_shows_scenes_and_annotations(tmp_path):
    scores = np.r_[np.full(30, 0.1), np.full(20, 0.9), np.full(50, 0.2)]
    path = write_plot(tmp_path / "t.png", scores, [(30, 50)], label_threshold=0.5,
                      annotations=[(60, 80)], title="film.mp4: kissing")
    rgb = _rgb(path.read_bytes())
    assert rgb.shape == (320, 1200, 3)
    assert _has_colour(rgb, ANNOTATED)
    # the found band: the plot's middle third is tinted by the scene colour at low alpha
    tint = (np.abs(rgb.astype(int) - [0xBF, 0xE6, 0xE3]).sum(axis=2) < 30).sum()
    assert tint > 2000
    without = _rgb(render_timeline(scores, [], label_threshold=0.5))
    assert (np.abs(without.astype(int) - [0xBF, 0xE6, 0xE3]).sum(axis=2) < 30).sum() < tint / 10


def test_plot_of_a_two_hour_film_renders(tmp_path):
    scores = np.clip(np.random.default_rng(1).normal(0.2, 0.15, 7200), 0, 1)
    scenes = [(s, s + 60) for s in range(300, 7000, 900)]
    png = render_timeline(scores, scenes, label_threshold=0.5)
    assert _rgb(png).shape == (320, 1200, 3) and _has_colour(_rgb(png), FOUND, tol=120)
    svg = render_timeline(scores, scenes, fmt="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "2:00:00" in svg  # h:mm:ss ticks


def test_plot_suffix_is_checked_before_work(tmp_path):
    from scenedet.errors import UsageError

    with pytest.raises(UsageError, match=r"\.png, \.svg or \.pdf"):
        write_plot(tmp_path / "t.gif", [0.1, 0.2])
    assert list(tmp_path.iterdir()) == []


def test_export_plot_with_annotations(tmp_path):
    saved = tmp_path / "film.json"
    saved.write_text(json.dumps({"video": "film.mp4", "scene": "kissing", "frame_rate": 25,
                                 "segments": [{"start": 2, "end": 5, "score": 0.9}],
                                 "scores": [0.1, 0.1, 0.9, 0.9, 0.9, 0.2]}))
    notes = tmp_path / "notes.csv"
    notes.write_text("video,start,end\nfilm.mp4,2.5,5.5\n")
    out = tmp_path / "plot.png"
    result = CliRunner().invoke(cli, ["export", str(saved), "--plot", str(out), "-a", str(notes)])
    assert result.exit_code == 0, result.output
    assert _has_colour(_rgb(out.read_bytes()), ANNOTATED)
    assert f"timeline plot -> {out}" in result.output
