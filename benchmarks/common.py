"""Helpers shared by the benchmarks: generated films, timing, tables, JSON results."""

from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FILMS = HERE / ".films"  # generated once, git-ignored


def make_film(name: str, *, seconds: int, width: int, height: int, fps: int = 24,
              gop: int | None = None, audio: bool = True, codec: str = "libx264",
              sound: np.ndarray | None = None) -> Path:
    """A film-like test film, encoded once with x264 "veryfast" (CRF 23) and reused
    (``codec="libx265"``: x265 with its own defaults, preset "medium").

    A textured scene twice the frame's width panned 4 px a frame, light grain, a cut to a new
    scene every 10 s, and a tone: about 2.5 Mb/s at 720p, a streaming film's bitrate. (Noise
    that moves unlike the picture, as in ``common.make_film``, makes 30 Mb/s files whose
    entropy decoding dominates everything.) ``sound``: mono float32 samples at 48 kHz to use
    instead of the tone (one second written after each second of pictures).
    """
    from scenedet.media.encode import FilmWriter

    FILMS.mkdir(parents=True, exist_ok=True)
    path = FILMS / f"{name}.mp4"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.mp4")
    rng = np.random.default_rng(0)
    rate = 48_000
    t = np.arange(rate) / rate
    scene = None
    with FilmWriter(tmp, width=width, height=height, fps=fps, gop=gop, preset="veryfast", codec=codec,
                    crf=23, audio_rate=rate if audio else None) as writer:
        for i in range(seconds * fps):
            if i % (10 * fps) == 0:
                scene = _scene(width, height, seed=i // (10 * fps))
            x = (i * 4) % width
            grain = rng.integers(-3, 4, size=(height, width, 1), dtype=np.int16)
            writer.write_frame(np.clip(scene[:, x:x + width] + grain, 0, 255).astype(np.uint8))
            if audio and i % fps == fps - 1 and sound is not None:
                second = i // fps
                writer.write_audio(sound[second * rate:(second + 1) * rate])
            elif audio and i % fps == fps - 1:
                tone = 0.2 * np.sin(2 * np.pi * (220 + 20 * (i // fps % 10)) * t)
                writer.write_audio((tone + 0.02 * rng.standard_normal(rate)).astype(np.float32))
    tmp.rename(path)
    return path


def concat_film(base: Path, times: int, name: str) -> Path:
    """``base`` played ``times`` times in a row, by stream copy (no re-encode), made once.

    A cheap long film: every packet of ``base`` is muxed again with its timestamps shifted by
    the length of the copies before it, so an hour of 1080p costs seconds, not an hour of x264.
    The audio priming packet of every copy after the first is dropped (its timestamps overlap
    the end of the copy before): a 21 ms glitch at each joint, nothing a benchmark notices.
    """
    import av

    path = FILMS / f"{name}.mp4"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(base)) as src, av.open(str(tmp), "w") as dst:
        outs = {s.index: dst.add_stream_from_template(s) for s in src.streams
                if s.type in ("video", "audio")}
        # The length of one copy, per stream, in that stream's time base: last pts + duration.
        span: dict[int, int] = {}
        for packet in src.demux(*[src.streams[i] for i in outs]):
            if packet.pts is not None:
                end = packet.pts + (packet.duration or 0)
                span[packet.stream.index] = max(span.get(packet.stream.index, 0), end)
        length = max(span[j] * src.streams[j].time_base for j in span)  # a Fraction, seconds
        shift = {i: math.ceil(length / src.streams[i].time_base) for i in span}
        last_dts: dict[int, int] = {}
        for k in range(times):
            src.seek(0)
            for packet in src.demux(*[src.streams[i] for i in outs]):
                if packet.dts is None:
                    continue  # the demuxer's flush packet
                index = packet.stream.index
                dts = packet.dts + k * shift[index]
                if dts <= last_dts.get(index, -2**62):
                    continue  # the audio encoder's priming packet overlaps the copy before
                last_dts[index] = dts
                packet.pts = None if packet.pts is None else packet.pts + k * shift[index]
                packet.dts = dts
                packet.stream = outs[index]
                dst.mux(packet)
    tmp.rename(path)
    return path


def _scene(width: int, height: int, seed: int) -> np.ndarray:
    """A (height, 2 * width, 3) int16 picture: gradients, flat blobs and fine texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:2 * width]
    picture = (xx[..., None] * np.array([1, 2, 3]) // 4 + yy[..., None] // 2 + 50 * seed) % 256
    for _ in range(6):
        cx, cy, r = rng.integers(0, 2 * width), rng.integers(0, height), rng.integers(40, 200)
        picture[(xx - cx) ** 2 + (yy - cy) ** 2 < r ** 2] = rng.integers(0, 256, 3)
    texture = rng.integers(0, 40, size=picture.shape)
    return np.clip(picture + texture - 20, 0, 255).astype(np.int16)


def random_kissing_model(path: Path) -> Path:
    """A kissing model file over ``random:0`` ResNet-18 + VGGish with a seeded linear head: the
    speed of the real thing, no weights to download. Written once; reused if ``path`` exists."""
    if path.exists():
        return path
    import torch

    import scenedet
    from scenedet.inference.modelfile import ModelMeta, save_model_file

    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    torch.manual_seed(0)
    head = torch.nn.Linear(640, 2)
    save_model_file(path, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                    backbone_weights=tuple(b.weights_id for b in backbones),
                                    feature_dims=(512, 128)), head.state_dict())
    return path


def timed(fn, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A Markdown table (pasted into docs/performance.md as is)."""
    def cell(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def save(name: str, payload: dict[str, Any]) -> Path:
    from importlib.metadata import version

    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": {"python": platform.python_version(), "torch": version("torch"),
                           "cpu_count": __import__("os").cpu_count(),
                           "processor": platform.processor() or platform.machine()},
               **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path
