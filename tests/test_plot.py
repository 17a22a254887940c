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


# -- a detector's labelled segments: label lanes ------------------------------------------------
CUES = [(0.0, 1.5, "black"), (0.5, 2.0, "silence"), (3.0, 5.0, "bars"), (6.0, 6.4, "black"),
        (6.2, 7.0, "silence")]  # black and silence overlap, as a cue detector's do


def _lane_bars(ax) -> dict[str, list[tuple[float, float]]]:
    """The bars of each lane (a ``broken_barh`` collection with gid ``lane:NAME``), as spans."""
    out = {}
    for coll in ax.collections:
        gid = coll.get_gid() or ""
        if gid.startswith("lane:"):
            spans = []
            for path in coll.get_paths():
                xs = path.vertices[:, 0]
                spans.append((round(float(xs.min()), 6), round(float(xs.max()), 6)))
            out[gid[5:]] = sorted(spans)
    return out


def test_plot_of_a_labelled_result_draws_one_lane_per_label_with_a_legend():
    from matplotlib.colors import to_hex

    from scenedet.outputs.plot import label_colours, timeline_figure

    layout: dict = {}
    fig = timeline_figure([], [(s, e) for s, e, _ in CUES], segment_scores=[1.0] * len(CUES),
                          labels=[k for _, _, k in CUES], extent=(0.0, 10.0), layout=layout)
    scores_ax, lanes_ax = fig.axes
    assert lanes_ax.get_shared_x_axes().joined(scores_ax, lanes_ax)  # one time axis for both
    assert lanes_ax.get_xlim() == scores_ax.get_xlim() == (0.0, 10.0)
    assert [t.get_text() for t in lanes_ax.get_yticklabels()] == ["black", "silence", "bars"]
    assert _lane_bars(lanes_ax) == {"black": [(0.0, 1.5), (6.0, 6.4)],
                                    "silence": [(0.5, 2.0), (6.2, 7.0)], "bars": [(3.0, 5.0)]}
    colours = label_colours(["black", "silence", "bars"])
    assert len(set(colours.values())) == 3
    for coll in lanes_ax.collections:  # each lane in its label's colour
        name = coll.get_gid()[5:]
        assert to_hex(coll.get_facecolor()[0], keep_alpha=False) == colours[name]
    legend = [t.get_text() for t in scores_ax.get_legend().get_texts()]
    assert {"black (2)", "silence (2)", "bars (1)"} <= set(legend)
    assert "score at each segment's start" in legend
    assert not [t for t in legend if t.startswith("segments")]  # no unlabelled bands
    assert layout["t0"] == 0 and layout["t1"] == 10  # clicks still map to film time


def test_a_shot_plot_and_a_per_second_plot_have_no_lanes():
    from scenedet.outputs.plot import timeline_figure

    shots = timeline_figure([], [(0, 0.4), (0.4, 3.0), (3.0, 3.25)],
                            segment_scores=[None, 0.9, 0.7])
    assert len(shots.axes) == 1
    assert [t.get_text() for t in shots.axes[0].get_legend().get_texts()] == [
        "score at each segment's start", "segments (3)"]
    scenes = timeline_figure([0.1, 0.9, 0.9, 0.1], [(1, 3)])
    assert len(scenes.axes) == 1 and scenes.axes[0].get_ylabel() == "P(positive)"


def test_lanes_false_leaves_the_lanes_to_the_report_but_keeps_the_labels_in_the_legend():
    from scenedet.outputs.plot import timeline_figure

    fig = timeline_figure([], [(s, e) for s, e, _ in CUES], segment_scores=[1.0] * len(CUES),
                          labels=[k for _, _, k in CUES], lanes=False)
    assert len(fig.axes) == 1 and not _lane_bars(fig.axes[0])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"black (2)", "silence (2)", "bars (1)"} <= set(legend)


def test_export_of_a_cue_result_plots_its_lanes(tmp_path):
    saved = tmp_path / "cues.json"
    saved.write_text(json.dumps({
        "video": "film.mp4", "scene": "cues", "time_grid": "frame", "duration": 10.0,
        "frame_rate": 25, "segments": [{"start": s, "end": e, "score": 1.0, "label": k}
                                       for s, e, k in CUES]}))
    from scenedet.outputs.document import load_result

    assert [s.label for s in load_result(saved).scenes] == [k for _, _, k in CUES]
    out = tmp_path / "cues.svg"
    result = CliRunner().invoke(cli, ["export", str(saved), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    for name in ("black", "silence", "bars"):  # matplotlib writes a gid as the element's id
        assert f'id="lane:{name}"' in svg
