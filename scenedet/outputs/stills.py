"""Thumbnails of each scene: a few stills, evenly spread inside it, as JPEG or PNG.

Frames are found by seeking to the keyframe before each time and decoding forward to the frame
shown at that time (the one PTS at or before it), scaled down with FFmpeg's scaler to at most
``width`` pixels wide, and turned upright (display matrix). Images are encoded with Pillow where
it is installed, else torchvision's encoders (a core dependency); PNG also has a tiny zlib writer
of its own, so stills never need more than the standard library.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import attrs
import numpy as np

from scenedet import files
from scenedet.errors import MediaError, UsageError

FORMATS = ("jpg", "png")


@attrs.frozen
class Still:
    path: Path
    time: float
    scene: int

    def to_dict(self) -> dict[str, object]:
        return {"path": os.fspath(self.path), "time": round(self.time, 3)}


def still_times(start: float, end: float, count: int) -> list[float]:
    """``count`` times evenly inside ``[start, end)``: the middles of ``count`` equal parts."""
    if count < 1:
        raise UsageError(f"stills per scene must be at least 1, got {count}")
    step = (end - start) / count
    return [start + (k + 0.5) * step for k in range(count)]


def grab_frames(video: str | os.PathLike[str], times: Sequence[float], *,
                width: int | None = 320) -> list[np.ndarray]:
    """The upright RGB frame shown at each of ``times`` (film seconds), at most ``width`` wide.

    Times are visited in order; one seek per time that lies past the next keyframe.
    """
    from scenedet.media.probe import check_path, film_start, frame_orientation, open_input

    src = check_path(video)
    order = sorted(range(len(times)), key=lambda i: times[i])
    out: list[np.ndarray | None] = [None] * len(times)
    with open_input(src) as inp:
        if not inp.streams.video:
            raise MediaError(f"{src} has no video stream")
        vin = inp.streams.video[0]
        origin = Fraction(film_start(inp, vin)) * vin.time_base  # film time 0: the first frame
        for i in order:
            target = origin + Fraction(times[i]).limit_denominator(10 ** 6)
            inp.seek(int(target / vin.time_base), stream=vin, backward=True, any_frame=False)
            shown = None
            for frame in inp.decode(vin):
                if frame.pts is None:
                    continue
                if frame.pts * frame.time_base > target and shown is not None:
                    break
                shown = frame
            if shown is None:
                raise MediaError(f"{src}: no frame at {float(times[i]):.3f} s")
            out[i] = _scaled_rgb(shown, width, frame_orientation(shown))
    return [o for o in out if o is not None]


def _scaled_rgb(frame, width: int | None, orientation) -> np.ndarray:
    w, h = frame.width, frame.height
    shown_w = h if orientation.transpose else w
    scale = 1.0 if not width or shown_w <= width else width / shown_w
    sw, sh = max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)
    rgb = frame.reformat(width=sw, height=sh, format="rgb24").to_ndarray()
    return orientation.apply(rgb)


def encode_png(rgb: np.ndarray) -> bytes:
    """A PNG of an ``(H, W, 3)`` uint8 image, with zlib only (filter 0 on every row)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def encode_image(rgb: np.ndarray, fmt: str = "jpg", *, quality: int = 85) -> bytes:
    """``rgb`` as JPEG (``"jpg"``) or PNG bytes."""
    fmt = fmt.lower().lstrip(".")
    fmt = "jpg" if fmt == "jpeg" else fmt
    if fmt not in FORMATS:
        raise UsageError(f"unknown image format {fmt!r}: use jpg or png")
    try:
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(
            buf, format="JPEG" if fmt == "jpg" else "PNG", quality=quality)
        return buf.getvalue()
    except ImportError:
        pass
    if fmt == "png":
        return encode_png(rgb)
    import torch
    from torchvision.io import encode_jpeg

    tensor = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.uint8)).permute(2, 0, 1).contiguous()
    return bytes(encode_jpeg(tensor, quality=quality).numpy().tobytes())


def write_stills(video: str | os.PathLike[str], spans: Iterable[tuple[int, float, float]],
                 folder: str | os.PathLike[str], *, per_scene: int = 3, fmt: str = "jpg",
                 width: int | None = 320,
                 progress: Callable[[int], None] | None = None) -> dict[int, list[Still]]:
    """``per_scene`` stills of each ``(index, start, end)`` span, as ``film-scene-003-1.jpg``."""
    ext = "jpg" if fmt.lower() in ("jpg", "jpeg") else fmt.lower()
    encode_image(np.zeros((2, 2, 3), np.uint8), ext)  # an unknown format fails before decoding
    stem = Path(video).stem
    out: dict[int, list[Still]] = {}
    for index, start, end in spans:
        times = still_times(start, end, per_scene)
        written = []
        for k, (t, rgb) in enumerate(zip(times, grab_frames(video, times, width=width)), start=1):
            path = Path(folder) / f"{stem}-scene-{index:03d}-{k}.{ext}"
            files.write_bytes(path, encode_image(rgb, ext))
            written.append(Still(path=path, time=t, scene=index))
        out[index] = written
        if progress is not None:
            progress(1)
    return out
