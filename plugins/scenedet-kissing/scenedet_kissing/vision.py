"""Plugin: 2-D image backbones over the last still of each second.

* ``resnet18`` (512-d) and ``densenet121`` (1024-d): torchvision's ImageNet models, the pooled
  vector before the classifier (replaced by ``Identity``). Pretrained weights come through
  torchvision's weights API: its URL, the SHA-256 prefix in its file name and its
  ``transforms()`` values (resize 256, crop 224, ImageNet mean/std, bilinear), read from the
  weights object rather than restated here.
* ``timm:<model>``: any timm image model, ``num_classes=0`` for pooled features, preprocessing from
  timm's resolved data config, pretrained weights through timm's own loading.

Nothing heavy is imported at module import: listing plugins stays fast.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenedet.plugin import (BackboneSpec, build_with_weights, checkpoints_dir, drop_prefixes,
                             hookimpl, ImagePreprocess, is_offline, KnownWeights, make_backbone,
                             OFFLINE_ENV, one_line, parse_weights, StateDict, UsageError,
                             WeightsError)

if TYPE_CHECKING:
    from torch import nn

STILL = "still"


@hookimpl
def register_backbones(register: Callable[[BackboneSpec], None]) -> None:
    register(BackboneSpec(
        name="resnet18", factory=resnet18, input=STILL, modality="visual", feature_dim=512,
        summary="ResNet-18 (torchvision, ImageNet) on the last still of each second, 512-d"))
    register(BackboneSpec(
        name="densenet121", factory=densenet121, input=STILL, modality="visual", feature_dim=1024,
        summary="DenseNet-121 (torchvision, ImageNet) on the last still of each second, 1024-d"))
    register(BackboneSpec(
        name="timm", factory=timm_backbone, input=STILL, modality="visual", feature_dim=None,
        prefix=True,
        summary="any timm image model as timm:<model>, pooled features (num_classes=0)"))
    from scenedet_kissing.efficientnet import register_efficientnet

    register_efficientnet(register)


# -- torchvision ------------------------------------------------------------------------------

def _torchvision_preprocess(weights_enum: Any) -> ImagePreprocess:
    """The inference preprocessing that ``weights_enum.transforms()`` applies, as ours."""
    preset = weights_enum.transforms()
    return ImagePreprocess(resize=preset.resize_size[0], crop=preset.crop_size[0],
                           mean=preset.mean, std=preset.std,
                           interpolation=preset.interpolation.value)


def _torchvision_known(weights_enum: Any) -> KnownWeights:
    return KnownWeights(url=weights_enum.url,
                        weights_id=f"torchvision:{type(weights_enum).__name__}.{weights_enum.name}")


def _torchvision_backbone(name: str, weights: str | None, *, build: Callable[[], nn.Module],
                          weights_enum: Any, adapt: Callable[[StateDict], StateDict],
                          feature_dim: int) -> nn.Module:
    module, weights_id = build_with_weights(build, weights, backbone=name,
                                            known=_torchvision_known(weights_enum), adapt=adapt)
    return make_backbone(module, name=name, input=STILL, feature_dim=feature_dim,
                         weights_id=weights_id, preprocess=_torchvision_preprocess(weights_enum))


def resnet18(*, weights: str | None = "pretrained") -> nn.Module:
    """torchvision ResNet-18, ``fc`` replaced by ``Identity``: ``(B, 3, 224, 224)`` -> ``(B, 512)``.

    ``weights``: ``"pretrained"`` (``ResNet18_Weights.IMAGENET1K_V1``, resnet18-f37072fd.pth),
    ``"random:SEED"`` or a path (torchvision layout; an ``fc.*`` classifier in it is ignored).
    """
    import torch
    import torchvision
    from torchvision.models import ResNet18_Weights

    def build() -> nn.Module:
        model = torchvision.models.resnet18(weights=None)
        model.fc = torch.nn.Identity()
        return model

    return _torchvision_backbone("resnet18", weights, build=build,
                                 weights_enum=ResNet18_Weights.IMAGENET1K_V1,
                                 adapt=drop_prefixes("fc"), feature_dim=512)


# torchvision's DenseNet files predate module names without dots: "denselayer1.norm.1.weight"
# is today's "denselayer1.norm1.weight" (torchvision remaps them the same way when loading).
_OLD_DENSENET_KEY = re.compile(r"(denselayer\d+\.(?:norm|relu|conv))\.([12])\.")


def _adapt_densenet(state: StateDict) -> StateDict:
    return {_OLD_DENSENET_KEY.sub(r"\1\2.", k): v for k, v in state.items()
            if not k.startswith("classifier.")}


def densenet121(*, weights: str | None = "pretrained") -> nn.Module:
    """torchvision DenseNet-121, ``classifier`` replaced by ``Identity``: ``-> (B, 1024)``.

    ``weights``: ``"pretrained"`` (``DenseNet121_Weights.IMAGENET1K_V1``,
    densenet121-a639ec97.pth), ``"random:SEED"`` or a path (old- or new-style DenseNet keys).
    """
    import torch
    import torchvision
    from torchvision.models import DenseNet121_Weights

    def build() -> nn.Module:
        model = torchvision.models.densenet121(weights=None)
        model.classifier = torch.nn.Identity()
        return model

    return _torchvision_backbone("densenet121", weights, build=build,
                                 weights_enum=DenseNet121_Weights.IMAGENET1K_V1,
                                 adapt=_adapt_densenet, feature_dim=1024)


# -- timm ---------------------------------------------------------------------------------------

def timm_preprocess(data_config: dict[str, Any]) -> ImagePreprocess:
    """timm's eval transform (``transforms_imagenet_eval``) for ``data_config``, as ours.

    Resize to ``floor(size / crop_pct)`` (shorter side; both sides in ``"squash"`` mode or for
    non-square inputs), centre crop to ``input_size``, normalise. ``"border"`` mode (letterbox)
    is approximated by a centre crop.
    """
    import math

    _, height, width = data_config["input_size"]
    crop_pct = data_config.get("crop_pct") or 0.875
    crop_mode = data_config.get("crop_mode") or "center"
    if crop_mode == "border":
        warnings.warn("timm crop_mode 'border' is approximated by a centre crop", stacklevel=2)
    scale = (math.floor(height / crop_pct), math.floor(width / crop_pct))
    resize: int | tuple[int, int] = scale if (crop_mode == "squash" or height != width) else scale[0]
    return ImagePreprocess(resize=resize, crop=(height, width), mean=data_config["mean"],
                           std=data_config["std"], interpolation=data_config["interpolation"])


def timm_drop_in_path(pretrained_name: str) -> Path:
    """Where a user may put a timm model's official file by hand for offline use.

    ``$TORCH_HOME/hub/checkpoints/timm/<model>.<tag>.safetensors`` (or ``.pth`` / ``.bin``):
    simpler to fill than the Hugging Face cache layout, and next to the other weight files.
    """
    return checkpoints_dir() / "timm" / f"{pretrained_name}.safetensors"


def _timm_cached_file(cfg: dict[str, Any], pretrained_name: str) -> Path | None:
    """A local copy of the pretrained file: drop-in location, Hugging Face cache, torch-hub cache."""
    drop_in = timm_drop_in_path(pretrained_name)
    for candidate in (drop_in, drop_in.with_suffix(".pth"), drop_in.with_suffix(".bin")):
        if candidate.is_file():
            return candidate
    hub_id = cfg.get("hf_hub_id")
    if hub_id:
        from huggingface_hub import try_to_load_from_cache

        names = [cfg["hf_hub_filename"]] if cfg.get("hf_hub_filename") else \
            ["model.safetensors", "pytorch_model.bin"]
        for filename in names:
            found = try_to_load_from_cache(hub_id, filename)
            if isinstance(found, str):
                return Path(found)
    url = cfg.get("url")
    if url:
        cached = checkpoints_dir() / os.path.basename(url.split("?", 1)[0])
        if cached.is_file():
            return cached
    return None


def _timm_pretrained_cfg(variant: str, name: str) -> dict[str, Any]:
    """The pretrained config timm registers for ``variant`` (``arch`` or ``arch.tag``)."""
    import timm
    from timm.models import get_pretrained_cfg

    if not timm.is_model(variant):
        raise UsageError(f"{name}: timm has no model {variant!r} (see timm.list_models())")
    try:
        cfg = get_pretrained_cfg(variant)
    except RuntimeError as exc:  # an unknown tag, or an architecture without pretrained weights
        raise UsageError(f"{name}: {one_line(exc)}") from exc
    if cfg is None:
        raise UsageError(f"{name}: timm has no pretrained config for {variant!r}")
    return cfg.to_dict()


def _timm_pretrained(variant: str, options: dict[str, Any]) -> tuple[nn.Module, str]:
    """Pretrained weights through timm's own loading: a local copy first, else timm's download.

    A local copy is handed to timm as its ``file`` source, so timm still applies its checkpoint
    filters and drops the classifier for ``num_classes=0``. Offline without a copy, the error
    says where to put the file.
    """
    import timm

    name = f"timm:{variant}"
    cfg = _timm_pretrained_cfg(variant, name)
    pretrained_name = f"{cfg['architecture']}.{cfg['tag']}" if cfg.get("tag") else cfg["architecture"]
    hint = _timm_hint(cfg, pretrained_name)
    local = _timm_cached_file(cfg, pretrained_name)
    if local is None and is_offline():
        raise WeightsError(f"{name}: pretrained weights are not cached and scenedet is offline "
                           f"({OFFLINE_ENV}=1): {hint}")
    if local is None and not _hub_reachable(cfg):  # not a minute of retries, then a cut message
        raise WeightsError(f"{name}: pretrained weights are not cached and their server cannot "
                           f"be reached: {hint}")
    overlay = {"file": str(local)} if local is not None else None
    try:
        model = timm.create_model(variant, pretrained=True, num_classes=0,
                                  pretrained_cfg_overlay=overlay, **options)
    except Exception as exc:  # download and load failures: one line for the user either way
        raise WeightsError(f"{name}: could not load pretrained weights "
                           f"({type(exc).__name__}: {one_line(exc, limit=160)}): {hint}") from exc
    return model.eval(), f"timm:{pretrained_name}"


def _hub_reachable(cfg: dict[str, Any], timeout: float = 3.0) -> bool:
    """Whether the server of ``cfg``'s weights answers a TCP connection within ``timeout``.

    Checked before timm's download, which retries for about a minute when there is no network
    (and honours ``HF_HUB_OFFLINE``, checked here too).
    """
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    host = "huggingface.co" if cfg.get("hf_hub_id") else urlparse(cfg.get("url") or "").hostname
    if not host:
        return True  # nothing to check: let timm say what it needs
    old = socket.getdefaulttimeout()
    try:
        socket.setdefaulttimeout(timeout)
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False
    finally:
        socket.setdefaulttimeout(old)


def _timm_hint(cfg: dict[str, Any], pretrained_name: str) -> str:
    if cfg.get("hf_hub_id"):
        source = f"https://huggingface.co/{cfg['hf_hub_id']}/resolve/main/model.safetensors"
    else:
        source = cfg.get("url") or "the model's published weights"
    return f"put {source} at {timm_drop_in_path(pretrained_name)}, or give its path as the weights"


def _timm_file_weights(variant: str, weights: str | None,
                       options: dict[str, Any]) -> tuple[nn.Module, str]:
    """``random:SEED`` or a path, through the shared loader (strict, one-line errors).

    A full timm checkpoint also holds the classifier that ``num_classes=0`` removed; its keys
    (the pretrained config's ``classifier``) are dropped before the strict check.
    """
    import timm

    name = f"timm:{variant}"
    if not timm.is_model(variant):
        raise UsageError(f"{name}: timm has no model {variant!r} (see timm.list_models())")
    try:
        classifier = timm.models.get_pretrained_cfg_value(variant, "classifier") or ()
    except RuntimeError:  # no pretrained config registered: no known classifier to drop
        classifier = ()
    prefixes = (classifier,) if isinstance(classifier, str) else tuple(classifier)

    def build() -> nn.Module:
        return timm.create_model(variant, pretrained=False, num_classes=0, **options)

    return build_with_weights(build, weights, backbone=name, adapt=drop_prefixes(*prefixes))


def timm_backbone(*, variant: str, weights: str | None = "pretrained", **options: Any) -> nn.Module:
    """timm model ``variant`` (``convnext_tiny``, ``resnet50.a1_in1k``, ...) with pooled features.

    ``feature_dim`` comes from the built model (:func:`timm_feature_dim`); preprocessing follows timm's data config
    resolved for the model (input size, crop_pct, interpolation, mean/std). ``options`` go to
    ``timm.create_model``. ``weights``: ``"pretrained"`` (timm's own loading from the Hugging Face
    hub; offline, a copy in the drop-in location or the Hugging Face cache), ``"random:SEED"`` or
    a path (a timm state dict, classifier keys ignored).
    """
    from timm.data import resolve_data_config

    if parse_weights(weights).kind == "pretrained":
        model, weights_id = _timm_pretrained(variant, options)
    else:
        model, weights_id = _timm_file_weights(variant, weights, options)
    preprocess = timm_preprocess(resolve_data_config({}, model=model))
    return make_backbone(model, name=f"timm:{variant}", input=STILL,
                         feature_dim=timm_feature_dim(model), weights_id=weights_id,
                         preprocess=preprocess)


def timm_feature_dim(model: nn.Module) -> int:
    """Width of the pooled output of a ``num_classes=0`` timm model.

    Usually ``num_features``; models with a pre-logits head (MobileNetV3's 1x1 ``conv_head``,
    some ConvNeXts) output ``head_hidden_size`` instead (288 vs 1024 for mobilenetv3_small_050).
    """
    return int(getattr(model, "head_hidden_size", None) or model.num_features)
