"""Films with on-screen text and known truth, for the tests and ``benchmarks/text.py``.

A film is a list of :class:`Part` values played one after another; each part says what is on
screen and what the truth is: credit rolls (speed in picture heights a second), static credit
cards, title cards on a plain background, subtitles over moving footage, slates, black, colour
bars, footage, and footage with text-like texture (bricks, barcode stripes) but no text. Text is
drawn with Pillow in DejaVu/Liberation fonts when Debian's are installed, else Pillow's own;
frames are written with PyAV (H.264), nothing copyrighted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf", "LiberationSans-Regular.ttf",
         "LiberationSerif-Italic.ttf", "DejaVuSansMono.ttf")
NAMES = ("Ada Moreau", "Tom Okafor", "Lena Varga", "Ravi Menon", "Ines Duarte", "Kofi Mensah",
         "Mira Holm", "Jonas Weber", "Sara Lindqvist", "Paolo Ricci", "Yuki Tanaka", "Omar Haddad")
ROLES = ("Directed by", "Produced by", "Music", "Editor", "Camera", "Sound", "Costumes",
         "Production Design", "Written by", "Casting")
LINES = ("Where were you last night?", "I told you, I was at home.", "Nobody saw you there.",
         "Then ask the neighbours.", "We did. They said the lights were off.",
         "Maybe I was asleep.", "At eight in the evening?", "It was a long day.")


@attrs.frozen
class Part:
    """``kind``: roll | cards | title | subtitles | slate | black | bars | footage | texture.
    ``seconds``: its length; ``speed``: a roll's, in picture heights a second; ``font``: index
    into :data:`FONTS`; ``seed``: what varies the names and the footage."""

    kind: str
    seconds: float
    speed: float = 0.1
    font: int = 0
    seed: int = 0


@attrs.frozen
class Truth:
    label: str
    start: float
    end: float


def font(index: int, size: int):
    from PIL import ImageFont

    for folder in FONT_DIRS:
        path = Path(folder) / FONTS[index % len(FONTS)]
        if path.exists():
            return ImageFont.truetype(str(path), size)
        for other in sorted(Path(folder).glob("*.ttf")) if Path(folder).is_dir() else ():
            return ImageFont.truetype(str(other), size)
    return ImageFont.load_default(size=size)


def text_layer(lines: list[str], width: int, size: int, font_index: int, spacing: float = 1.8,
               align: str = "center") -> np.ndarray:
    """White text lines on transparent: (h, width) alpha in [0, 1]."""
    from PIL import Image, ImageDraw

    f = font(font_index, size)
    step = int(size * spacing)
    img = Image.new("L", (width, step * len(lines) + size), 0)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        w = draw.textlength(line, font=f)
        x = (width - w) / 2 if align == "center" else width * 0.08
        draw.text((x, i * step), line, font=f, fill=255)
    return np.asarray(img, np.float32) / 255.0


def _blend(frame: np.ndarray, alpha: np.ndarray, y: int, outline: bool = False) -> None:
    h = frame.shape[0]
    a, b = max(0, y), min(h, y + alpha.shape[0])
    if a >= b:
        return
    al = alpha[a - y: b - y, :, None]
    region = frame[a:b].astype(np.float32)
    if outline:  # a dark edge around subtitles, as burned-in subtitles have
        dark = np.maximum.reduce([np.roll(al, s, axis=ax) for s in (-2, 2) for ax in (0, 1)])
        region = region * (1 - 0.8 * dark)
    frame[a:b] = (region * (1 - al) + 255 * al).astype(np.uint8)


class Footage:
    """Moving pictures: a field of random colour blocks twice the width, panned 3 px a frame, grain,
    a new field every 4 s; ``texture``: bricks or barcode stripes over it (text-like, no text)."""

    def __init__(self, width: int, height: int, seed: int, texture: bool = False) -> None:
        self.width, self.height, self.seed, self.texture = width, height, seed, texture
        self.rng = np.random.default_rng(seed)
        self._field: np.ndarray | None = None

    def _new_field(self, k: int) -> np.ndarray:
        rng = np.random.default_rng(self.seed * 1000 + k)
        small = rng.integers(20, 235, size=(6, 12, 3)).astype(np.float32)
        big = np.kron(small, np.ones((self.height // 6 + 1, 2 * self.width // 12 + 1, 1)))
        field = big[: self.height, : 2 * self.width]
        if self.texture:
            field = field * self._pattern(rng)[..., None]
        return field

    def _pattern(self, rng: np.random.Generator) -> np.ndarray:
        h, w = self.height, 2 * self.width
        y, x = np.mgrid[0:h, 0:w]
        if rng.random() < 0.5:  # bricks
            bh = max(6, h // 24)
            row = y // bh
            bw = bh * 3
            mortar = ((y % bh) < 2) | (((x + (row % 2) * bw // 2) % bw) < 2)
            return np.where(mortar, 0.45, 1.0)
        stripes = rng.integers(1, 5, size=w // 2).repeat(2)[:w]  # barcode
        return np.where(np.cumsum(stripes)[None, :w] % 3 == 0, 0.35, 1.0) * np.ones((h, 1))

    def frame(self, i: int, fps: float) -> np.ndarray:
        k = int(i / fps // 4)
        if self._field is None or i == 0 or i % int(4 * fps) == 0:
            self._field = self._new_field(k)
        x = (i * 3) % self.width
        grain = self.rng.integers(-3, 4, size=(self.height, self.width, 1))
        return np.clip(self._field[:, x: x + self.width] + grain, 0, 255).astype(np.uint8)


def bars(width: int, height: int) -> np.ndarray:
    colours = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191),
               (191, 0, 0), (0, 0, 191)]
    img = np.zeros((height, width, 3), np.uint8)
    edges = np.linspace(0, width, 8).round().astype(int)
    for k, c in enumerate(colours):
        img[: height * 2 // 3, edges[k]: edges[k + 1]] = c
    img[height * 2 // 3:] = 16
    return img


def render_part(part: Part, width: int, height: int, fps: float) -> Iterator[np.ndarray]:
    """The part's frames, in order."""
    n = int(round(part.seconds * fps))
    rng = np.random.default_rng(part.seed)
    size = max(10, height // 26)
    if part.kind in ("footage", "texture", "subtitles"):
        footage = Footage(width, height, part.seed, texture=part.kind == "texture")
        subs = _subtitle_plan(part, fps) if part.kind == "subtitles" else []
        layers = {}
        for i in range(n):
            frame = footage.frame(i, fps)
            for a, b, text in subs:
                if a <= i < b:
                    if text not in layers:
                        layers[text] = text_layer(text.split("\n"), width, int(size * 1.3), part.font, 1.4)
                    layer = layers[text]
                    _blend(frame, layer, int(height * 0.93) - layer.shape[0] + int(size * 0.3), True)
            yield frame
    elif part.kind == "roll":
        layer = _roll_layer(part, width, height)
        travel = height + layer.shape[0]
        for i in range(n):
            frame = np.zeros((height, width, 3), np.uint8)
            _blend(frame, layer, int(height - travel * i / n))
            yield frame
    elif part.kind in ("cards", "title", "slate"):
        cards = _cards(part, rng, fps, n)
        background = np.zeros((height, width, 3), np.uint8)
        if part.kind != "cards":
            background[:] = rng.integers(30, 90, size=3) if part.kind == "title" else (110, 110, 110)
        for a, b, lines in cards:
            layer = text_layer(lines, width, int(size * (2.2 if part.kind == "title" else 1.1)), part.font)
            for i in range(a, b):
                frame = background.copy()
                if i < b - (0 if part.kind != "cards" else int(0.5 * fps)):
                    _blend(frame, layer, (height - layer.shape[0]) // 2)
                yield frame
    elif part.kind == "black":
        for _ in range(n):
            yield np.zeros((height, width, 3), np.uint8)
    elif part.kind == "bars":
        img = bars(width, height)
        for _ in range(n):
            yield img
    else:
        raise ValueError(f"unknown part kind {part.kind!r}")


def _roll_layer(part: Part, width: int, height: int) -> np.ndarray:
    size = max(10, height // 26)
    names = [f"{ROLES[k % len(ROLES)]}   {NAMES[(k * 7 + part.seed) % len(NAMES)]}"
             for k in range(200)]
    count = max(2, int(part.seconds * part.speed * height / (size * 1.8)) - int(height / (size * 1.8)))
    return text_layer(names[:count], width, size, part.font)


def _roll_visible(part: Part, fps: float, offset: float, width: int,
                  height: int) -> tuple[float, float]:
    """Film seconds of the first and last frame (+1) on which a roll's glyphs show, from the
    rendered layer (frame i puts the layer's top at ``height - travel * i / n``)."""
    layer = _roll_layer(part, width, height)
    rows = np.flatnonzero(layer.max(axis=1) > 0.5)
    n = int(round(part.seconds * fps))
    travel = height + layer.shape[0]
    shown = [i for i in range(n) if int(height - travel * i / n) + rows[0] < height
             and int(height - travel * i / n) + rows[-1] >= 0]
    return offset + shown[0] / fps, offset + (shown[-1] + 1) / fps


def _cards(part: Part, rng: np.random.Generator, fps: float, n: int) -> list[tuple[int, int, list[str]]]:
    if part.kind == "title":
        return [(0, n, ["THE LONG NIGHT"] + (["A Film in Three Parts"] if part.seed % 2 else []))]
    if part.kind == "slate":
        return [(0, n, [f"PROD  RIVERSIDE", f"SCENE {12 + part.seed}   TAKE {3 + part.seed % 4}",
                        f"ROLL A{7 + part.seed}   CAMERA B", "DATE 06 12 26"])]
    per = int(round(3.0 * fps))
    out = []
    for k, a in enumerate(range(0, n, per)):
        lines = []
        for j in range(int(rng.integers(2, 5))):
            lines += [ROLES[(k + j) % len(ROLES)], NAMES[(k * 3 + j + part.seed) % len(NAMES)]]
        out.append((a, min(n, a + per), lines[:4]))
    return out


def _subtitle_plan(part: Part, fps: float) -> list[tuple[int, int, str]]:
    rng = np.random.default_rng(part.seed)
    t, k, out = 0.6, 0, []
    while True:
        length = float(rng.uniform(1.5, 3.0))
        if t + length > part.seconds - 0.5:
            return out
        text = LINES[(k + part.seed) % len(LINES)]
        if rng.random() < 0.4:
            text += "\n" + LINES[(k + part.seed + 3) % len(LINES)]
        out.append((int(round(t * fps)), int(round((t + length) * fps)), text))
        t += length + float(rng.uniform(0.3, 1.2))
        k += 1


def truth(parts: list[Part], fps: float, width: int = 640, height: int = 360) -> list[Truth]:
    """The text segments of a film of ``width`` x ``height``, as ``text`` should label them (a
    roll: from the first to the last frame on which any of its glyphs shows)."""
    out, t = [], 0.0
    for p in parts:
        n = int(round(p.seconds * fps))
        if p.kind == "roll":
            out.append(Truth("credits", *_roll_visible(p, fps, t, width, height)))
        elif p.kind == "cards":
            out.append(Truth("credits", t, t + (n - int(0.5 * fps)) / fps))
        elif p.kind == "title":
            out.append(Truth("title", t, t + n / fps))
        elif p.kind == "slate":
            out.append(Truth("slate", t, t + n / fps))
        elif p.kind == "subtitles":
            out += [Truth("subtitles", t + a / fps, t + b / fps) for a, b, _ in _subtitle_plan(p, fps)]
        t += n / fps
    return _join_credits(out)


def _join_credits(found: list[Truth]) -> list[Truth]:
    """Credits next to credits (a roll, then cards; gaps up to ``labels.CARD_GAP``) are one
    stretch of credits, as docs/detectors.md defines them."""
    from scenedet_text.labels import CARD_GAP

    out: list[Truth] = []
    for t in found:
        if out and t.label == out[-1].label == "credits" and t.start - out[-1].end <= CARD_GAP:
            out[-1] = Truth("credits", out[-1].start, t.end)
        else:
            out.append(t)
    return out


def write_film(path: str | Path, parts: list[Part], *, width: int = 640, height: int = 360,
               fps: int = 25) -> Path:
    """Encode the parts into ``path`` (H.264, CRF 20, no sound), written once under a temporary name."""
    import av

    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        for p in parts:
            for frame in render_part(p, width, height, fps):
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(path)
    return path
