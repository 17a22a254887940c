"""Inference preprocessing of stills, shared by every image and clip backbone.

:class:`ImagePreprocess` turns RGB stills into normalised tensors (resize the shorter side,
centre crop, normalise) on the CPU, on the decoding thread. Imports torch lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import numpy as np
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Size = int | tuple[int, int]


def _size(value: Size) -> list[int]:
    return [value] if isinstance(value, int) else [int(value[0]), int(value[1])]


def _as_uint8_chw(images: np.ndarray) -> torch.Tensor:
    """RGB ``(..., H, W, 3)`` uint8 array -> ``(..., 3, H, W)`` uint8 tensor view (no copy if possible)."""
    import numpy as np
    import torch

    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGB array, got {getattr(images, 'dtype', type(images))}")
    if images.ndim not in (3, 4) or images.shape[-1] != 3:
        raise ValueError(f"expected (H, W, 3) or (N, H, W, 3) RGB, got shape {images.shape}")
    if not images.flags.writeable:  # torch.from_numpy warns about read-only arrays
        images = images.copy()
    return torch.from_numpy(images).movedim(-1, -3)


@attrs.frozen(kw_only=True)
class ImagePreprocess:
    """RGB uint8 ``(H, W, 3)`` or ``(N, H, W, 3)`` -> float ``(3, h, w)`` / ``(N, 3, h, w)``.

    Inference preprocessing only (no random augmentation): resize (``int``: the shorter side, the
    aspect ratio kept; ``(h, w)``: exactly, timm's "squash"), centre crop, scale to [0, 1],
    normalise. Resizing runs torchvision's (v2) antialiased kernel on the uint8 tensor, on the CPU
    (decode thread): several times faster than resizing in float (timings in
    ``docs/performance.md``), so the decode thread keeps up. Results match
    torchvision's ``weights.transforms()`` and PIL to within one uint8 level (rounding).
    """

    resize: Size
    crop: Size
    mean: tuple[float, ...] = attrs.field(default=IMAGENET_MEAN, converter=tuple)
    std: tuple[float, ...] = attrs.field(default=IMAGENET_STD, converter=tuple)
    interpolation: str = "bilinear"

    def __call__(self, images: np.ndarray) -> torch.Tensor:
        return self.normalise(self.resize_crop(images))

    def resize_crop(self, images: np.ndarray) -> torch.Tensor:
        """The uint8 ``(..., 3, h, w)`` tensor after resize and centre crop."""
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as F

        x = _as_uint8_chw(images)
        x = F.resize(x, _size(self.resize), interpolation=InterpolationMode(self.interpolation),
                     antialias=True)
        return F.center_crop(x, _size(self.crop))

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``(..., 3, h, w)`` -> float32 normalised with this mean and std, contiguous."""
        import torch

        mean = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1)
        return ((images.to(torch.float32) / 255.0 - mean) / std).contiguous()
