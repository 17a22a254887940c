"""Saliency maps: which pixels of a second's still move the model's positive-class score.

As in the paper (section 6.3.1, after Simonyan et al.): the gradient of the positive class's
score (its logit) with respect to the input pixels, then the maximum of its absolute value over
the colour channels, one value per pixel. For a backbone fed by a still through the SDK's
:class:`~scenedet.inference.preprocess.ImagePreprocess` the preprocessing (antialiased resize,
centre crop, normalisation) is replayed differentiably, so the gradient is with respect to the
*still's own pixels* (pixels the crop drops get 0). For any other input the gradient is taken with
respect to the network input and resized to the still's size for the overlay. Audio inputs are
held fixed. A clip backbone's map (``(T, C, H, W)`` input) is the maximum over its frames too.

:func:`saliency` computes maps; :func:`write_saliency` writes, per requested second, the still
with a heat-map overlay (PNG) and the raw map (``.npy``, network-input resolution, float32).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from scenedet import files
from scenedet.errors import UsageError
from scenedet.inference.preprocess import ImagePreprocess


@attrs.frozen(eq=False)
class SaliencyMap:
    """Second ``second`` of a film: its still, the model's probability, the map per backbone.

    ``maps[name]`` is ``(H, W)`` float32 >= 0 at that backbone's input resolution; ``combined``
    is their maximum after resizing to the still's size.
    """

    second: int
    still: np.ndarray
    probability: float
    maps: dict[str, np.ndarray]
    combined: np.ndarray


def _resize(map2d: np.ndarray, height: int, width: int) -> np.ndarray:
    import torch

    t = torch.from_numpy(np.ascontiguousarray(map2d, dtype=np.float32))[None, None]
    return torch.nn.functional.interpolate(t, size=(height, width), mode="bilinear",
                                           align_corners=False)[0, 0].numpy()


def _replay(pre: ImagePreprocess, still_chw):
    """:class:`ImagePreprocess` on a float ``(3, H, W)`` tensor in [0, 255], differentiably."""
    import torch
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as F

    size = [pre.resize] if isinstance(pre.resize, int) else list(pre.resize)
    crop = [pre.crop, pre.crop] if isinstance(pre.crop, int) else list(pre.crop)
    x = F.resize(still_chw, size, interpolation=InterpolationMode(pre.interpolation), antialias=True)
    x = F.center_crop(x, crop)
    mean = torch.tensor(pre.mean, dtype=torch.float32, device=x.device).view(3, 1, 1)
    std = torch.tensor(pre.std, dtype=torch.float32, device=x.device).view(3, 1, 1)
    return (x / 255.0 - mean) / std


def saliency(model: Any, video: str | os.PathLike[str], seconds: Sequence[int], *,
             device: Any = "cpu", positive: int = 1,
             progress: Callable[[int], None] | None = None) -> list[SaliencyMap]:
    """Saliency of ``model`` (a :class:`~scenedet.inference.model.SceneModel`) at each second.

    ``seconds`` are whole-second indices (second ``k`` covers ``[k, k + 1)``, as in scoring).
    """
    from scenedet.media.probe import probe

    info = probe(video)
    for k in seconds:
        if not 0 <= k < info.n_seconds:
            raise UsageError(f"second {k} is outside the film (0 to {info.n_seconds - 1})")
    backbones = list(model.backbones)
    names = [getattr(b, "name", None) or type(b).__name__ for b in backbones]
    visual = _visual(backbones)
    if not any(visual):
        raise UsageError("this model has no visual backbone: no pixel saliency to show")
    extractors, request = _extractors(backbones)
    model.eval()
    out: list[SaliencyMap] = []
    for k in sorted(set(int(s) for s in seconds)):
        second, arrays = _decoded(video, k, extractors, request)
        probability, grads = _gradients(model, backbones, visual, arrays, device, positive)
        maps, combined = _maps(second.still, [n for n, v in zip(names, visual) if v], grads)
        out.append(SaliencyMap(second=k, still=second.still, probability=probability, maps=maps,
                               combined=combined))
        if progress is not None:
            progress(1)
    return out


def _visual(backbones: Sequence[Any]) -> list[bool]:
    """Which backbones see pixels: by their registered modality, else by their input's name."""
    from scenedet.plugin.registry import get_backbone_spec

    visual = []
    for b in backbones:
        try:
            visual.append(get_backbone_spec(b.name).modality == "visual")
        except Exception:
            visual.append(b.input != "audio-16k" and not b.input.startswith("audio"))
    return visual


def _extractors(backbones: Sequence[Any]) -> tuple[dict[str, Any], Any]:
    """The backbones' extractors by input name, and the media they need, merged."""
    from scenedet.media.types import MediaRequest
    from scenedet.plugin.registry import create_extractor

    extractors = {b.input: create_extractor(b.input) for b in backbones}
    request = MediaRequest(frames=1, audio=False)
    for extractor in extractors.values():
        request = request.merge(extractor.request)
    return extractors, request


def _decoded(video: str | os.PathLike[str], k: int, extractors: dict[str, Any],
             request: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """Second ``k`` and every extractor's array for it."""
    from scenedet.media.seconds.decode import iter_seconds

    for extractor in extractors.values():
        extractor.reset()
    second = None
    # clip extractors need the seconds before: decode from up to 16 s earlier
    for second in iter_seconds(video, request, start_second=max(0, k - 15) if request.frames > 1 else k,
                               stop_second=k + 1):
        arrays = {name: ex(second) for name, ex in extractors.items()}
    assert second is not None
    return second, arrays


def _gradients(model: Any, backbones: Sequence[Any], visual: Sequence[bool],
               arrays: dict[str, np.ndarray], device: Any, positive: int) -> tuple[float, Any]:
    """The positive class's probability, and the gradient of its logit with respect to each
    visual input (the still's own pixels where its preprocessing can be replayed)."""
    import torch

    inputs, leaves = [], []
    with torch.enable_grad():
        for b, is_visual in zip(backbones, visual):
            array = arrays[b.input]
            if is_visual and isinstance(b.preprocess, ImagePreprocess) and array.ndim == 3:
                leaf = torch.from_numpy(np.array(array, dtype=np.float32)).permute(2, 0, 1)
                leaf = leaf.to(device).requires_grad_(True)
                x = _replay(b.preprocess, leaf)[None]
            else:
                x = b.preprocess(array)[None].to(device)
                if is_visual:
                    x = x.detach().clone().requires_grad_(True)
                leaf = x
            if is_visual:
                leaves.append(leaf)
            inputs.append(x)
        logits = model(inputs)
        score = logits[0, positive]
        grads = torch.autograd.grad(score, leaves)
    return float(torch.softmax(logits.detach().float(), dim=1)[0, positive]), grads


def _maps(still: np.ndarray, names: Sequence[str], grads: Sequence[Any]
          ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per visual backbone the maximum absolute gradient over colour channels (and frames);
    their maximum at the still's size."""
    h, w = still.shape[:2]
    maps: dict[str, np.ndarray] = {}
    combined = np.zeros((h, w), np.float32)
    for name, grad in zip(names, grads):
        g = grad.abs().float()
        if g.dim() == 4 and g.shape[0] == 1:  # a batch of one
            g = g[0]
        while g.dim() > 3:  # (T, C, H, W): also the maximum over frames
            g = g.amax(dim=0)
        m = g.amax(dim=0).cpu().numpy().astype(np.float32)
        maps[name] = m
        combined = np.maximum(combined, m if m.shape == (h, w) else _resize(m, h, w))
    return maps, combined


def heat_overlay(still: np.ndarray, heat: np.ndarray, *, alpha: float = 0.55) -> np.ndarray:
    """The still with ``heat`` (any scale, same ``(H, W)``) blended on top as a colour map."""
    import matplotlib

    h = np.asarray(heat, dtype=np.float32)
    top = float(np.percentile(h, 99.5)) if h.size else 0.0
    norm = np.clip(h / top, 0, 1) if top > 0 else np.zeros_like(h)
    colours = matplotlib.colormaps["inferno"](norm)[..., :3].astype(np.float32) * 255
    weight = (alpha * norm)[..., None]
    blended = still.astype(np.float32) * (1 - weight) + colours * weight
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def seconds_in_part(start: float, end: float) -> list[int]:
    """The whole seconds ``k`` with ``[k, k+1)`` inside ``[start, end)``: a part of the film."""
    return list(range(math.ceil(start), math.floor(end)))


def parse_seconds(text: str) -> list[int]:
    """``"12,40,1:05"`` or ``"10-15"`` (inclusive ranges) -> whole seconds."""
    from scenedet.timefmt import parse_time

    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part and not part.startswith("-"):
            a, b = part.split("-", 1)
            first, last = math.floor(parse_time(a)), math.floor(parse_time(b))
            if last < first:
                raise ValueError(f"range {part!r} ends before it starts")
            out.extend(range(first, last + 1))
        else:
            out.append(math.floor(parse_time(part)))
    if not out:
        raise ValueError(f"no time in {text!r}")
    return sorted(set(out))


def write_saliency(maps: Sequence[SaliencyMap], folder: str | os.PathLike[str], *,
                   stem: str = "saliency") -> list[Path]:
    """Per map: ``STEM-second-00012.png`` (overlay) and ``...-00012.npy`` (combined raw map,
    still size) plus one ``.npy`` per backbone at its input size when there are several."""
    from scenedet.outputs.stills import encode_image

    written = []
    for m in maps:
        base = Path(folder) / f"{stem}-second-{m.second:05d}"
        png = base.with_suffix(".png")
        files.write_bytes(png, encode_image(heat_overlay(m.still, m.combined), "png"))
        npy = base.with_suffix(".npy")
        files.write_with(npy, lambda tmp, a=m.combined: np.save(tmp, a), suffix=".npy")
        written += [png, npy]
        if len(m.maps) > 1:
            for name, raw in m.maps.items():
                extra = Path(f"{base}-{name.replace(':', '_')}.npy")
                files.write_with(extra, lambda tmp, a=raw: np.save(tmp, a), suffix=".npy")
                written.append(extra)
    return written
