"""The timeline plot: per-second probability over the film, the threshold, the scenes as bands.

Drawn with matplotlib (Agg, no display). Readable for a two-hour film: past
:data:`MAX_POINTS` seconds the curve is drawn as its envelope (min-max of each bin, shaded) and
its bin means (a line), so a 7200-second film is ~1800 bins of 4 s each instead of 7200
overlapping points; the scenes are drawn at their true extent whatever the binning. The time axis
reads ``H:MM:SS``.

A frame-level detector's result has no per-second curve: its plot (no ``scores``) draws the
segments themselves, in alternating shades so that back-to-back shots stay apart (coloured by
label when they have one: black, silence, bars), and each segment's score as a stem at its start:
for a shot detector, the confidence of the cut that opens the shot. Annotated (ground-truth) scenes, when given, are a hatched strip under the
curve, so found and expected scenes can be compared at a glance.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
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
                    label_threshold: float = 0.5,
                    annotations: Sequence[tuple[float, float]] | None = None,
                    title: str = "", size: tuple[float, float] = (12, 3.2),
                    dpi: int = 100, fmt: str = "png", layout: dict | None = None,
                    segment_scores: Sequence[float | None] | None = None,
                    labels: Sequence[str] | None = None,
                    extent: tuple[float, float] | None = None) -> bytes:
    """The timeline as PNG (or ``fmt="svg"``) bytes.

    ``layout``, when given, receives where the time axis lies in the image: ``x0``/``x1`` (its
    left and right ends as fractions of the image width) and ``t0``/``t1`` (their film times),
    so a page can turn a click on the picture into a time.

    Without ``scores`` (a frame-level detector's result) the segments are drawn as described
    above, ``segment_scores`` as stems and ``labels`` as colours, over ``extent`` (the film
    seconds the detector looked at; default: the segments' span).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    n = len(scores)
    fig = Figure(figsize=size, dpi=dpi)
    ax = fig.add_subplot(1, 1, 1)
    handles = []
    if n == 0 and scenes:
        handles += _segments(ax, scenes, segment_scores, labels)
    else:
        for start, end in scenes:
            ax.axvspan(start, end, color=FOUND, alpha=0.25, lw=0)
        if scenes:
            handles.append(Patch(color=FOUND, alpha=0.35, label=f"found scenes ({len(scenes)})"))
    if annotations is not None:
        for start, end in annotations:
            ax.axvspan(start, end, ymin=0.0, ymax=0.07, facecolor="none", edgecolor=ANNOTATED,
                       hatch="////", lw=0.8)
        handles.append(Patch(facecolor="none", edgecolor=ANNOTATED, hatch="////",
                             label=f"annotated ({len(annotations)})"))
    if n:
        x, low, high, mean = envelope(scores)
        if len(x) < n:
            ax.fill_between(x, low, high, color=CURVE, alpha=0.25, lw=0, step="mid")
            ax.plot(x, mean, color=CURVE, lw=0.9)
            label = f"probability (mean and range per {math.ceil(n / len(x))} s)"
        else:
            ax.step(np.arange(n) + 0.5, scores, where="mid", color=CURVE, lw=0.9)
            label = "probability per second"
        handles.insert(0, matplotlib.lines.Line2D([], [], color=CURVE, label=label))
    if n or not scenes:
        ax.axhline(label_threshold, color="#b00020", ls="--", lw=0.9)
        handles.append(matplotlib.lines.Line2D([], [], color="#b00020", ls="--",
                                               label=f"label threshold {label_threshold:g}"))
        ax.set_xlim(0, max(n, max((e for _, e in scenes), default=0), 1))
        ax.set_ylabel("P(positive)")
    else:  # a detector's segments: the span they cover (a part of a film: that part)
        lo, hi = extent or (min(s for s, _ in scenes), max(e for _, e in scenes))
        ax.set_xlim(lo, max(hi, lo + 1e-3))
        ax.set_ylabel("score")
    ax.set_ylim(-0.02, 1.02)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 3, 5, 6, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(_clock))
    ax.set_xlabel("film time (h:mm:ss)")
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    # above the axes, right-aligned: never over the curve (the title sits on the left)
    ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False, ncol=min(4, len(handles)), borderaxespad=0.2)
    fig.tight_layout()
    if layout is not None:
        pos = ax.get_position()
        t0, t1 = ax.get_xlim()
        layout.update(x0=float(pos.x0), x1=float(pos.x1), t0=float(t0), t1=float(t1))
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    return buf.getvalue()


#: Colours of labelled segments (a cue detector's); unlabelled ones alternate the first two.
SHADES = ("#2a9d8f", "#8ab17d", "#e9c46a", "#f4a261", "#6d597a", "#457b9d")


def _segments(ax, scenes: Sequence[tuple[float, float]],
              scores: Sequence[float | None] | None, labels: Sequence[str] | None) -> list:
    """Draw a detector's segments and their scores on ``ax``; the legend's handles."""
    import matplotlib
    from matplotlib.patches import Patch

    labels = list(labels or [""] * len(scenes))
    kinds = list(dict.fromkeys(x for x in labels if x))
    handles = []
    for k, ((start, end), label) in enumerate(zip(scenes, labels)):
        colour = SHADES[kinds.index(label) % len(SHADES)] if label else SHADES[k % 2]
        ax.axvspan(start, end, color=colour, alpha=0.3 if label else 0.18 + 0.14 * (k % 2), lw=0)
    if kinds:
        handles += [Patch(color=SHADES[i % len(SHADES)], alpha=0.35,
                          label=f"{kind} ({labels.count(kind)})") for i, kind in enumerate(kinds)]
    if len(kinds) < len(set(labels)) or not kinds:
        handles.append(Patch(color=SHADES[0], alpha=0.3, label=f"segments ({len(scenes)})"))
    stems = [(start, float(sc)) for (start, _), sc in zip(scenes, scores or []) if sc is not None]
    if stems:
        ax.vlines([t for t, _ in stems], 0, [v for _, v in stems], color=CURVE, lw=0.9)
        ax.plot([t for t, _ in stems], [v for _, v in stems], "o", color=CURVE, ms=2.5)
        handles.insert(0, matplotlib.lines.Line2D([], [], color=CURVE, marker="o", ms=2.5,
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
