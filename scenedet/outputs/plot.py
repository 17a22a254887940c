"""The timeline plot: per-second probability over the film, the threshold, the scenes as bands.

Drawn with matplotlib (Agg, no display). Readable for a two-hour film: past
:data:`MAX_POINTS` seconds the curve is drawn as its envelope (min-max of each bin, shaded) and
its bin means (a line), so a 7200-second film is ~1800 bins of 4 s each instead of 7200
overlapping points; the scenes are drawn at their true extent whatever the binning. The time axis
reads ``H:MM:SS``.

A frame-level detector's result has no per-second curve: its plot (no ``scores``) draws the
segments themselves, in alternating shades so that back-to-back shots stay apart, and each
segment's score as a stem at its start: for a shot detector, the confidence of the cut that opens
the shot. Labelled segments (a cue detector's ``black``, ``silence``, ``bars``, which may
overlap) go into label lanes under the scores instead: one row of bars per label, one colour per
label (:func:`label_colours`, shared with the HTML report), named in the legend with their count.
Annotated (ground-truth) scenes, when given, are a hatched strip under the curve, so found and
expected scenes can be compared at a glance.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from scenedet import files

#: above this many seconds the curve is binned into an envelope
MAX_POINTS = 1800

FOUND = "#2a9d8f"
ANNOTATED = "#e76f51"
CURVE = "#264653"


def envelope(scores: Sequence[float], max_points: int = MAX_POINTS):
    """``(x, low, high, mean)`` of ``scores`` in bins of ``ceil(n / max_points)`` seconds.

    ``x`` is each bin's centre in seconds; with ``n <= max_points`` every bin is one second.
    """
    values = np.asarray(scores, dtype=np.float64)
    n = len(values)
    size = max(1, math.ceil(n / max_points))
    pad = (-n) % size
    padded = np.concatenate([values, np.full(pad, np.nan)]).reshape(-1, size)
    counts = np.sum(~np.isnan(padded), axis=1)
    low, high = np.nanmin(padded, axis=1), np.nanmax(padded, axis=1)
    mean = np.nansum(padded, axis=1) / counts
    starts = np.arange(len(padded)) * size
    x = starts + np.minimum(size, n - starts) / 2.0
    return x, low, high, mean


def _clock(seconds: float, _pos=None) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def render_timeline(scores: Sequence[float], scenes: Sequence[tuple[float, float]] = (), *,
                    fmt: str = "png", **options) -> bytes:
    """The timeline as PNG (or ``fmt="svg"``/``"pdf"``) bytes: :func:`timeline_figure`, saved."""
    buf = io.BytesIO()
    timeline_figure(scores, scenes, **options).savefig(buf, format=fmt)
    return buf.getvalue()


def timeline_figure(scores: Sequence[float], scenes: Sequence[tuple[float, float]] = (), *,
                    label_threshold: float = 0.5,
                    annotations: Sequence[tuple[float, float]] | None = None,
                    title: str = "", size: tuple[float, float] = (12, 3.2),
                    dpi: int = 100, layout: dict | None = None,
                    segment_scores: Sequence[float | None] | None = None,
                    labels: Sequence[str] | None = None,
                    extent: tuple[float, float] | None = None, lanes: bool = True,
                    min_left: float = 0.0):
    """The timeline as a matplotlib ``Figure`` (Agg; nothing is shown).

    ``layout``, when given, receives where the time axis lies in the image: ``x0``/``x1`` (its
    left and right ends as fractions of the image width) and ``t0``/``t1`` (their film times),
    so a page can turn a click on the picture into a time.

    Without ``scores`` (a frame-level detector's result) the segments are drawn as described
    above, ``segment_scores`` as stems, over ``extent`` (the film seconds the detector looked at;
    default: the segments' span). Segments with a ``labels`` entry go into label lanes under the
    scores, one lane per label in order of first appearance, coloured by :func:`label_colours`
    (the figure grows by a strip per lane; the lanes share the time axis). ``lanes=False`` leaves
    the lanes out, but for the stems in the labels' colours: the HTML report draws its own,
    under the picture, naming each lane in the margin left of the axes (``min_left``: that
    margin's least width, as a fraction of the figure's).
    """
    n = len(scores)
    labels = _padded_labels(labels, len(scenes))
    found = lanes_of(scenes, labels)
    colours = label_colours(labels)
    rows = list(found) if lanes else []
    fig, ax, lane_ax = _figure(size, dpi, rows)
    handles = _scene_bands(ax, n, scenes, segment_scores, labels, colours)
    handles += _lane_handles(lane_ax, n, found, rows, colours)
    if annotations is not None:
        handles += _annotated(ax, annotations)
    if n:
        handles.insert(0, _curve(ax, scores))
    handles += _value_axis(ax, n, scenes, label_threshold, extent)
    _time_axis(ax, lane_ax)
    _finish(fig, ax, lane_ax, handles, title, min_left)
    if layout is not None:
        pos = ax.get_position()
        t0, t1 = ax.get_xlim()
        layout.update(x0=float(pos.x0), x1=float(pos.x1), t0=float(t0), t1=float(t1))
    return fig


def _padded_labels(labels: Sequence[str] | None, count: int) -> list[str]:
    """One label per scene (``""``: none), as text."""
    out = [str(x or "") for x in (() if labels is None else labels)][:count]
    return out + [""] * (count - len(out))


def _figure(size: tuple[float, float], dpi: int, rows: list[str]):
    """The figure, its scores' axes and, with label lanes, the lanes' axes under them (sharing
    the time axis; the figure grows by a strip per lane)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    strip = 0.25 + 0.24 * len(rows) if rows else 0.0  # inches of lanes under the scores
    fig = Figure(figsize=(size[0], size[1] + strip), dpi=dpi)
    if not rows:
        return fig, fig.add_subplot(1, 1, 1), None
    grid = fig.add_gridspec(2, 1, height_ratios=[size[1] - 0.8, strip])
    ax = fig.add_subplot(grid[0])
    return fig, ax, fig.add_subplot(grid[1], sharex=ax)


def _scene_bands(ax, n: int, scenes: Sequence[tuple[float, float]],
                 segment_scores: Sequence[float | None] | None, labels: Sequence[str],
                 colours: dict[str, str]) -> list:
    """The unlabelled scenes as bands (a detector's segments with their score stems when there
    is no curve); the legend's handles."""
    from matplotlib.patches import Patch

    if n == 0 and scenes:
        return _segments(ax, scenes, segment_scores, labels, colours)
    plain = [span for span, label in zip(scenes, labels) if not label]
    for start, end in plain:
        ax.axvspan(start, end, color=FOUND, alpha=0.25, lw=0)
    return [Patch(color=FOUND, alpha=0.35, label=f"found scenes ({len(plain)})")] if plain else []


def _lane_handles(lane_ax, n: int, found: dict[str, list[tuple[float, float]]], rows: list[str],
                  colours: dict[str, str]) -> list:
    """The label lanes drawn on ``lane_ax`` (when there is one); the legend's handles for the
    labels either way (without lanes, in the stems' colours)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if lane_ax is not None:
        _lanes(lane_ax, found, colours)
        return [Patch(color=colours[k], alpha=0.85, label=f"{k} ({len(found[k])})") for k in rows]
    if n == 0 and found:  # no lanes drawn: the stems' colours still say which label
        return [Line2D([], [], color=colours[k], marker="o", ms=2.5,
                       label=f"{k} ({len(found[k])})") for k in found]
    return []


def _annotated(ax, annotations: Sequence[tuple[float, float]]) -> list:
    """The annotated scenes as a hatched strip at the bottom; the legend's handle."""
    from matplotlib.patches import Patch

    for start, end in annotations:
        ax.axvspan(start, end, ymin=0.0, ymax=0.07, facecolor="none", edgecolor=ANNOTATED,
                   hatch="////", lw=0.8)
    return [Patch(facecolor="none", edgecolor=ANNOTATED, hatch="////",
                  label=f"annotated ({len(annotations)})")]


def _curve(ax, scores: Sequence[float]):
    """The per-second probability (its envelope and bin means past :data:`MAX_POINTS`); the
    legend's handle."""
    from matplotlib.lines import Line2D

    n = len(scores)
    x, low, high, mean = envelope(scores)
    if len(x) < n:
        ax.fill_between(x, low, high, color=CURVE, alpha=0.25, lw=0, step="mid")
        ax.plot(x, mean, color=CURVE, lw=0.9)
        label = f"probability (mean and range per {math.ceil(n / len(x))} s)"
    else:
        ax.step(np.arange(n) + 0.5, scores, where="mid", color=CURVE, lw=0.9)
        label = "probability per second"
    return Line2D([], [], color=CURVE, label=label)


def _value_axis(ax, n: int, scenes: Sequence[tuple[float, float]], label_threshold: float,
                extent: tuple[float, float] | None) -> list:
    """The y axis (probability with its threshold line, or a detector's score) and the time
    span shown; the threshold's legend handle."""
    from matplotlib.lines import Line2D

    handles = []
    if n or not scenes:
        ax.axhline(label_threshold, color="#b00020", ls="--", lw=0.9)
        handles.append(Line2D([], [], color="#b00020", ls="--",
                              label=f"label threshold {label_threshold:g}"))
        ax.set_xlim(0, max(n, max((e for _, e in scenes), default=0), 1))
        ax.set_ylabel("P(positive)")
    else:  # a detector's segments: the span they cover (a part of a film: that part)
        lo, hi = extent or (min(s for s, _ in scenes), max(e for _, e in scenes))
        ax.set_xlim(lo, max(hi, lo + 1e-3))
        ax.set_ylabel("score")
    ax.set_ylim(-0.02, 1.02)
    return handles


def _time_axis(ax, lane_ax) -> None:
    """Film time as ``H:MM:SS`` on the bottom axes (the lanes', when drawn)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    bottom = ax if lane_ax is None else lane_ax
    bottom.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 3, 5, 6, 10]))
    bottom.xaxis.set_major_formatter(FuncFormatter(_clock))
    bottom.set_xlabel("film time (h:mm:ss)")
    if lane_ax is not None:
        ax.tick_params(axis="x", labelbottom=False)


def _finish(fig, ax, lane_ax, handles: list, title: str, min_left: float) -> None:
    """Grid, title and legend; the layout tightened (the left margin at least ``min_left``)."""
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    # above the axes, right-aligned: never over the curve (the title sits on the left)
    ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False, ncol=min(4, len(handles)), borderaxespad=0.2)
    fig.tight_layout(h_pad=0.2 if lane_ax is not None else None)
    if ax.get_position().x0 < min_left:
        fig.subplots_adjust(left=min_left)


def scene_list_options(scenes) -> dict:
    """What the timeline of a :class:`~scenedet.outputs.document.SceneList` draws, as keyword
    arguments of :func:`render_timeline`: its per-second ``scores`` and scenes, or a detector's
    segments with their scores and labels over the span of film it looked at; the film's name
    and the scene as the title. The plot and the report both draw from it."""
    return {"scores": scenes.scores, "scenes": [(s.start, s.end) for s in scenes.scenes],
            "segment_scores": [s.score for s in scenes.scenes],
            "labels": [s.label for s in scenes.scenes],
            "extent": (float(scenes.start or 0), float(scenes.duration)),
            "title": f"{scenes.name}: {scenes.title}"}


#: Colours of unlabelled segments (a shot detector's): back-to-back ones alternate the first two.
SHADES = ("#2a9d8f", "#8ab17d", "#e9c46a", "#f4a261", "#6d597a", "#457b9d")

#: The cue detector's labels keep their colours from film to film.
LABEL_COLOURS = {"black": "#3a3a3a", "silence": "#4d8fc9", "bars": "#c2458f",
                 "colour-bars": "#c2458f", "color-bars": "#c2458f"}

#: Colours of any other label, in order of first appearance (then again from the first).
PALETTE = ("#e9a23b", "#2a9d8f", "#8ab17d", "#6d597a", "#d1495b", "#00798c", "#9c6644",
           "#7b2cbf")


def label_colours(labels: Iterable[str]) -> dict[str, str]:
    """One colour per label (``""``, no label, gets none), the same in the plot and the report:
    the cue labels their own (:data:`LABEL_COLOURS`), others :data:`PALETTE` in order."""
    out: dict[str, str] = {}
    for label in labels:
        if label and label not in out:
            others = sum(1 for k in out if k not in LABEL_COLOURS)
            out[label] = LABEL_COLOURS.get(label) or PALETTE[others % len(PALETTE)]
    return out


def lanes_of(scenes: Sequence[tuple[float, float]], labels: Sequence[str]
             ) -> dict[str, list[tuple[float, float]]]:
    """The labelled spans by label, labels in order of first appearance; unlabelled: left out."""
    out: dict[str, list[tuple[float, float]]] = {}
    for (start, end), label in zip(scenes, labels):
        if label:
            out.setdefault(label, []).append((float(start), float(end)))
    return out


def _lanes(ax, lanes: dict[str, list[tuple[float, float]]], colours: dict[str, str]) -> None:
    """One row of bars per label on ``ax``, the first label on top, each row named on the left."""
    names = list(lanes)
    for row, name in enumerate(names):
        ax.broken_barh([(s, e - s) for s, e in lanes[name]], (row - 0.38, 0.76),
                       facecolors=colours[name], alpha=0.85, lw=0, label=name, gid=f"lane:{name}")
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", alpha=0.25)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _segments(ax, scenes: Sequence[tuple[float, float]], scores: Sequence[float | None] | None,
              labels: Sequence[str], colours: dict[str, str]) -> list:
    """Draw a detector's unlabelled segments as bands, and every segment's score as a stem at
    its start (a labelled one's in its label's colour), on ``ax``; the legend's handles."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list = []
    plain = 0
    for k, ((start, end), label) in enumerate(zip(scenes, labels)):
        if not label:
            ax.axvspan(start, end, color=SHADES[k % 2], alpha=0.18 + 0.14 * (k % 2), lw=0)
            plain += 1
    if plain:
        handles.append(Patch(color=SHADES[0], alpha=0.3, label=f"segments ({plain})"))
    stems = [(start, float(sc), colours.get(label, CURVE))
             for (start, _), sc, label in zip(scenes, scores or [], labels) if sc is not None]
    if stems:
        times, values, tints = zip(*stems)
        ax.vlines(times, 0, values, colors=tints, lw=0.9)
        ax.scatter(times, values, c=tints, s=7, zorder=3, lw=0)
        handles.insert(0, Line2D([], [], color=CURVE, marker="o", ms=2.5,
                                 label="score at each segment's start"))
    return handles


def write_plot(path: str | os.PathLike[str], scores: Sequence[float],
               scenes: Sequence[tuple[float, float]] = (), **options) -> Path:
    """:func:`render_timeline` into ``path`` (format from its suffix: ``.png`` or ``.svg``)."""
    fmt = Path(path).suffix.lower().lstrip(".") or "png"
    if fmt not in ("png", "svg", "pdf"):
        from scenedet.errors import UsageError

        raise UsageError(f"{os.fspath(path)}: the plot is written as .png, .svg or .pdf")
    return files.write_bytes(path, render_timeline(scores, scenes, fmt=fmt, **options))
