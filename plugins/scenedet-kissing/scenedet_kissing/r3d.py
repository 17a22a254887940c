"""Plugin: ``r3d34``, the 3-D ResNet-34 of Hara et al. over a 16-frame clip ending at each second.

Architecture (Hara, Kataoka & Satoh, "Can Spatiotemporal 3D CNNs Retrace the History of 2D CNNs
and ImageNet?", CVPR 2018; the paper's section 4.2.3): BasicBlocks of 3x3x3 convolutions, layers
[3, 4, 6, 3], a 7x7x7 stem with stride (1, 2, 2), a 3x3x3 max pool with stride 2, shortcut type B
(1x1x1 convolution + batch norm where the shape changes), global average pooling to 512-d. The
state-dict keys are those of kenshohara/3D-ResNets-PyTorch, so its checkpoints load by path.

Decisions, with the reasons:

* **Input size 112 by default** (``size=224`` for the paper's setting). The only public R3D-34
  weights, Hara et al.'s Kinetics checkpoints, were trained on 112x112 crops, and 112 costs a
  quarter of the compute: about 0.8 clips/s against 0.2 on 2 CPU cores, i.e. 2.5 h instead of
  10 h for a 2-hour film. Features differ between sizes: train and run with the same one (model
  files record backbone options).
* **Clip**: ``clip="stills"`` (default, as in the paper): the 16 per-second stills up to and
  including the second, extractor ``stills16``; ``clip="motion"``: 16 consecutive frames,
  extractor ``frames16``.
* **Zero padding after normalisation** (``pad="normalised"``, default). The paper fills the
  missing frames at the start of a film with "zero tensors" of 3x224x224, i.e. zeros of the
  *network input* (the mean colour), not black pixels. The extractors pad with all-zero uint8
  frames at the start of the clip, so the leading run of all-zero frames is taken as padding and
  set to 0 after normalisation. Caveat: a genuinely pure-black (0, 0, 0) frame leading a clip is
  treated the same way (it carries no content either). ``pad="black"`` normalises those frames
  like any other (black pixels), which keeps every black frame identical wherever it appears.
* Per-frame preprocessing is the 2-D backbones' (resize the shorter side to ``size * 256/224``,
  centre crop ``size``, ImageNet mean/std by default; ``mean``/``std`` options for checkpoints
  trained with other statistics, e.g. Kinetics').

Weights: there is no official downloadable file (the Kinetics checkpoints are on Google Drive,
not fetchable by URL + hash), so ``"pretrained"`` explains how to give a weight file's path instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import attrs

from scenedet.plugin import (BackboneSpec, build_with_weights, drop_prefixes, hookimpl,
                             IMAGENET_MEAN, IMAGENET_STD, ImagePreprocess, make_backbone,
                             UsageError)

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

CLIP_LENGTH = 16
FEATURE_DIM = 512
LAYERS = (3, 4, 6, 3)
CLIP_INPUTS = {"stills": "stills16", "motion": "frames16"}
SIZES = (112, 224)
NETWORK_CLASSES = ("BasicBlock3d", "ResNet3d", "ZeroPadShortcut")

NO_PRETRAINED = (
    "r3d34: there is no official downloadable file for R3D-34 (Hara et al.'s Kinetics "
    "checkpoints of kenshohara/3D-ResNets-PyTorch, e.g. r3d34_K_200ep.pth, are on Google "
    "Drive): download one on a machine with network and give its path as the weights, "
    "or use random:SEED")


@hookimpl
def register_backbones(register: Callable[[BackboneSpec], None]) -> None:
    register(BackboneSpec(
        name="r3d34", factory=r3d34, input="stills16", modality="visual", feature_dim=FEATURE_DIM,
        summary="3D ResNet-34 over the 16 stills up to each second (clip='motion': 16 frames), 512-d"))


# -- the network (defined on first use: torch is not imported with the plugin) ------------------

@cache
def _network_classes() -> dict[str, type]:
    """``BasicBlock3d`` and ``ResNet3d``, built once torch is actually needed."""
    import torch
    from torch import nn

    def conv3x3x3(in_planes: int, planes: int, stride: int = 1) -> nn.Conv3d:
        return nn.Conv3d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)

    class ZeroPadShortcut(nn.Module):
        """Shortcut type A: strided identity, new channels zero (no parameters)."""

        def __init__(self, planes: int, stride: int) -> None:
            super().__init__()
            self.planes, self.stride = planes, stride

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x[:, :, ::self.stride, ::self.stride, ::self.stride]
            pad = x.new_zeros(x.shape[0], self.planes - x.shape[1], *x.shape[2:])
            return torch.cat([x, pad], dim=1)

    class BasicBlock3d(nn.Module):
        """Two 3x3x3 convolutions with batch norm and a residual connection."""

        def __init__(self, in_planes: int, planes: int, stride: int = 1,
                     downsample: nn.Module | None = None) -> None:
            super().__init__()
            self.conv1 = conv3x3x3(in_planes, planes, stride)
            self.bn1 = nn.BatchNorm3d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3x3(planes, planes)
            self.bn2 = nn.BatchNorm3d(planes)
            self.downsample = downsample

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet3d(nn.Module):
        """3-D ResNet trunk: ``(B, 3, T, H, W)`` -> ``(B, 512)`` pooled features (no classifier)."""

        def __init__(self, layers: Sequence[int] = LAYERS, shortcut: str = "B") -> None:
            super().__init__()
            self.in_planes = 64
            self.shortcut = shortcut
            self.conv1 = nn.Conv3d(3, 64, kernel_size=7, stride=(1, 2, 2), padding=3, bias=False)
            self.bn1 = nn.BatchNorm3d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(64, layers[0], stride=1)
            self.layer2 = self._make_layer(128, layers[1], stride=2)
            self.layer3 = self._make_layer(256, layers[2], stride=2)
            self.layer4 = self._make_layer(512, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool3d(1)
            self._init_weights()

        def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
            downsample: nn.Module | None = None
            if stride != 1 or self.in_planes != planes:
                if self.shortcut == "A":
                    downsample = ZeroPadShortcut(planes, stride)
                else:
                    downsample = nn.Sequential(
                        nn.Conv3d(self.in_planes, planes, kernel_size=1, stride=stride, bias=False),
                        nn.BatchNorm3d(planes))
            layers = [BasicBlock3d(self.in_planes, planes, stride, downsample)]
            self.in_planes = planes
            layers += [BasicBlock3d(planes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def _init_weights(self) -> None:
            """Hara et al.'s initialisation: He normal (fan out) convolutions, unit batch norms."""
            for module in self.modules():
                if isinstance(module, nn.Conv3d):
                    nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(module, nn.BatchNorm3d):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return torch.flatten(self.avgpool(x), 1)

    classes = {"BasicBlock3d": BasicBlock3d, "ResNet3d": ResNet3d, "ZeroPadShortcut": ZeroPadShortcut}
    for cls_name, cls in classes.items():  # importable and picklable as scenedet_kissing.r3d.<name>
        cls.__module__, cls.__qualname__ = __name__, cls_name
    return classes


def __getattr__(name: str) -> Any:
    """``from scenedet_kissing.r3d import ResNet3d`` works, importing torch only then."""
    if name in NETWORK_CLASSES:  # checked first: other lookups (hasattr, ...) must stay cheap
        return _network_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- preprocessing ------------------------------------------------------------------------------

@attrs.frozen
class ClipPreprocess:
    """``(16, H, W, 3)`` uint8 clip -> ``(3, 16, size, size)`` float tensor (see module docstring)."""

    frame: ImagePreprocess
    pad: Literal["normalised", "black"] = "normalised"
    length: int = CLIP_LENGTH

    def __call__(self, clip: np.ndarray) -> torch.Tensor:
        if clip.ndim != 4 or clip.shape[0] != self.length:
            raise ValueError(f"expected a ({self.length}, H, W, 3) clip, got shape {clip.shape}")
        frames = self.frame(clip)  # (T, 3, S, S)
        if self.pad == "normalised":
            frames[:leading_padding(clip)] = 0.0
        return frames.transpose(0, 1).contiguous()


def leading_padding(clip: np.ndarray) -> int:
    """How many frames at the start of ``clip`` are all zero (the extractors' padding).

    Scans frame by frame and stops at the first with content: usually one frame is read.
    """
    for index, frame in enumerate(clip):
        if frame.any():
            return index
    return len(clip)


# -- the backbone -------------------------------------------------------------------------------

def r3d34(*, weights: str | None = "pretrained", size: int = 112,
          clip: Literal["stills", "motion"] = "stills",
          pad: Literal["normalised", "black"] = "normalised", shortcut: Literal["A", "B"] = "B",
          mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> nn.Module:
    """R3D-34: ``(B, 3, 16, size, size)`` -> ``(B, 512)``.

    ``weights``: ``"random:SEED"`` or a path (3D-ResNets-PyTorch layout: a ``"state_dict"``
    wrapper, ``"module."`` prefixes and the ``fc`` classifier are accepted); ``"pretrained"``
    raises, as no official file can be downloaded. ``shortcut="A"`` (parameter-free) loads the
    2017 ``resnet-34-kinetics.pth``; the 2020 ``r3d34_*`` checkpoints use the default ``"B"``.
    """
    size = int(size) if str(size).isdigit() else size  # options may arrive as text (CLI)
    if size not in SIZES:
        raise UsageError(f"r3d34: size must be one of {SIZES}, got {size!r}")
    if clip not in CLIP_INPUTS:
        raise UsageError(f"r3d34: clip must be one of {sorted(CLIP_INPUTS)}, got {clip!r}")
    if pad not in ("normalised", "black") or shortcut not in ("A", "B"):
        raise UsageError("r3d34: pad must be 'normalised' or 'black' and shortcut 'A' or 'B'")
    resnet3d = _network_classes()["ResNet3d"]
    # Hara et al.'s checkpoints carry their Kinetics classifier "fc": not part of the backbone.
    # (The "state_dict" wrapper and "module." prefixes are removed by the shared loader.)
    model, weights_id = build_with_weights(lambda: resnet3d(LAYERS, shortcut), weights,
                                           backbone="r3d34", adapt=drop_prefixes("fc"),
                                           no_pretrained=NO_PRETRAINED)
    frame = ImagePreprocess(resize=round(size * 256 / 224), crop=size,
                            mean=tuple(mean or IMAGENET_MEAN), std=tuple(std or IMAGENET_STD))
    return make_backbone(model, name="r3d34", input=CLIP_INPUTS[clip], feature_dim=FEATURE_DIM,
                         weights_id=weights_id, preprocess=ClipPreprocess(frame, pad=pad))
