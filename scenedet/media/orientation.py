"""Which way up a decoded picture is shown: FFmpeg's display matrix as transpose-and-flips.

A phone film is usually stored sideways with a display matrix (MP4 ``tkhd``, MKV projection)
telling players to turn it. :func:`frame_orientation` reads the matrix FFmpeg attaches to every
decoded frame, :class:`Orientation` turns an RGB array upright. :mod:`scenedet.media.probe` reads
it once from the film's first frame; the decoders apply it to every frame they hand out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs
import numpy as np

if TYPE_CHECKING:
    import av.video.frame


@attrs.frozen(kw_only=True)
class Orientation:
    """How to turn a decoded picture so it displays upright: transpose, then flip rows/columns.

    Derived from FFmpeg's display matrix, which maps a stored pixel ``(x, y)`` (y down) to the
    displayed ``(a*x + c*y, b*x + d*y)``. All eight axis-aligned cases (rotations by multiples of
    90 degrees, with or without a mirror) are exact; other angles are not supported by players
    either and are ignored (identity).
    """

    transpose: bool = False
    flip_rows: bool = False
    flip_cols: bool = False

    @property
    def is_identity(self) -> bool:
        return not (self.transpose or self.flip_rows or self.flip_cols)

    @classmethod
    def from_display_matrix(cls, matrix: tuple[int, ...] | np.ndarray | None) -> Orientation:
        """The orientation of an FFmpeg ``AV_PKT_DATA_DISPLAYMATRIX`` (9 ints, 16.16 fixed point)."""
        if matrix is None:
            return cls()
        a, b, _u, c, d, _v = (float(x) for x in list(matrix)[:6])
        a, b, c, d = (round(x / 65536.0) for x in (a, b, c, d))
        if a == 0 and d == 0 and abs(b) == 1 and abs(c) == 1:  # x' depends on y: axes swap
            return cls(transpose=True, flip_rows=b < 0, flip_cols=c < 0)
        if b == 0 and c == 0 and abs(a) == 1 and abs(d) == 1:
            return cls(flip_rows=d < 0, flip_cols=a < 0)
        return cls()

    @property
    def rotation(self) -> int:
        """Counter-clockwise display rotation in degrees, in ``(-180, 180]``.

        Equal to ``VideoFrame.rotation`` modulo 360 (FFmpeg may say -180 for 180).

        For a mirrored orientation this is the rotation that comes with the mirror (FFmpeg's
        ``av_display_rotation_get`` convention).
        """
        # Image of the x axis (1, 0) in y-down coordinates; rotation is measured counter-clockwise
        # as seen on screen (y up), hence the sign flip on y.
        x, y = ((0, -1 if self.flip_rows else 1) if self.transpose
                else (-1 if self.flip_cols else 1, 0))
        degrees = int(round(math.degrees(math.atan2(-y, x))))
        return 0 if degrees == 0 else degrees  # avoid -0

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """The picture as displayed, ``(H', W', C)``, C-contiguous (a copy unless identity)."""
        if self.is_identity:
            return rgb
        out = rgb.transpose(1, 0, 2) if self.transpose else rgb
        if self.flip_rows:
            out = out[::-1]
        if self.flip_cols:
            out = out[:, ::-1]
        return np.ascontiguousarray(out)


def frame_orientation(frame: av.video.frame.VideoFrame) -> Orientation:
    """The orientation carried by a decoded frame's display-matrix side data (identity if none).

    PyAV 18 writes the matrix with ``VideoStream.set_display_rotation`` and exposes it on decoded
    frames (``frame.side_data``, ``frame.rotation``); FFmpeg copies the stream's matrix (MP4 ``tkhd``,
    MKV projection) onto every frame, so there is no stream-level getter to call.
    """
    from av.sidedata.sidedata import Type

    for side in frame.side_data:
        if side.type == Type.DISPLAYMATRIX:
            return Orientation.from_display_matrix(tuple(np.frombuffer(bytes(side), dtype="<i4")[:9]))
    return Orientation()

