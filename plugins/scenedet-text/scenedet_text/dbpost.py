"""DB post-processing: PP-OCRv4's text probability map -> axis-aligned text boxes.

PaddleOCR's ``DBPostProcess`` with its defaults (threshold 0.3, a 2x2 dilation, a box kept when
the mean probability inside it is at least ``box_thresh``, then grown by ``unclip_ratio`` x area
/ perimeter), for horizontal boxes only: film text (credits, titles, subtitles) is upright, so
the rotated rectangles and polygon offsetting (pyclipper, shapely) that the reference uses for
scene text are not needed. Connected components come from ``scipy.ndimage.label`` when SciPy is
installed, else from :func:`label_runs` (run-length union-find in NumPy, same labelling up to
numbering; a test checks that).
"""

from __future__ import annotations

import numpy as np

THRESH = 0.3
BOX_THRESH = 0.5
UNCLIP_RATIO = 1.6
MIN_SIZE = 3


def boxes_from_map(prob: np.ndarray, *, thresh: float = THRESH, box_thresh: float = BOX_THRESH,
                   unclip_ratio: float = UNCLIP_RATIO) -> np.ndarray:
    """``(n, 5)`` float32 rows ``x0, y0, x1, y1, score`` in the map's pixels (x1, y1 exclusive),
    top to bottom, for one ``(H, W)`` probability map."""
    h, w = prob.shape
    mask = prob > thresh
    mask[:-1] |= mask[1:]          # 2x2 dilation (the reference's use_dilation)
    mask[:, :-1] |= mask[:, 1:]
    labels, n = label(mask)
    if n == 0:
        return np.zeros((0, 5), np.float32)
    x0, y0, x1, y1 = _bounds(labels, n)
    integral = np.pad(prob.astype(np.float64), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    out = []
    for i in range(n):
        bw, bh = x1[i] - x0[i], y1[i] - y0[i]
        if min(bw, bh) < MIN_SIZE:
            continue
        total = (integral[y1[i], x1[i]] - integral[y0[i], x1[i]] - integral[y1[i], x0[i]]
                 + integral[y0[i], x0[i]])
        score = total / (bw * bh)  # the reference's "fast" score: mean over the box
        if score < box_thresh:
            continue
        d = bw * bh * unclip_ratio / (2 * (bw + bh))
        out.append((max(0.0, x0[i] - d), max(0.0, y0[i] - d), min(float(w), x1[i] + d),
                    min(float(h), y1[i] + d), score))
    if not out:
        return np.zeros((0, 5), np.float32)
    boxes = np.asarray(out, np.float32)
    return boxes[np.argsort(boxes[:, 1], kind="stable")]


def _bounds(labels: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Each component's ``x0, y0, x1, y1`` (ends exclusive): its pixels grouped by label with
    one sort, then reduced per group (``ufunc.at`` took as long as the network)."""
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs]
    order = np.argsort(ids, kind="stable")
    ids, ys, xs = ids[order], ys[order], xs[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])  # every label 1..n has pixels
    return (np.minimum.reduceat(xs, starts), np.minimum.reduceat(ys, starts),
            np.maximum.reduceat(xs, starts) + 1, np.maximum.reduceat(ys, starts) + 1)


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a boolean image: ``(labels, count)``, labels 1..count."""
    try:
        from scipy import ndimage
    except ImportError:
        return label_runs(mask)
    return ndimage.label(mask, structure=np.ones((3, 3), bool))


def label_runs(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`label` without SciPy: each row's runs of ``True``, runs in neighbouring rows that
    touch (8-connected) joined by union-find, components numbered in raster order."""
    h, w = mask.shape
    edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    labels = np.zeros((h, w), np.int32)
    n_runs = len(rows)
    if n_runs == 0:
        return labels, 0
    parent = list(range(n_runs))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first = np.searchsorted(rows, np.arange(h + 1))  # runs of row r: first[r]:first[r+1]
    for r in range(h - 1):
        a, b, c = first[r], first[r + 1], first[r + 2]
        if a == b or b == c:
            continue
        s1, e1 = starts[a:b], ends[a:b]
        # run j below touches run i above when s_j < e_i + 1 and s_i < e_j + 1 (8-connected)
        lo = np.searchsorted(e1, starts[b:c], side="left")       # first i with e_i >= s_j
        hi = np.searchsorted(s1, ends[b:c], side="right")        # i with s_i <= e_j
        for j in np.flatnonzero(hi > lo):
            rj = find(b + j)
            for i in range(a + lo[j], a + hi[j]):
                ri = find(i)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
                    rj = min(ri, rj)
    roots = np.array([find(i) for i in range(n_runs)])
    _, numbered = np.unique(roots, return_inverse=True)
    for k in range(n_runs):
        labels[rows[k], starts[k]:ends[k]] = numbered[k] + 1
    return labels, int(numbered.max()) + 1
