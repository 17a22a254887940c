"""Image backbones (resnet18, densenet121, timm:<model>) created by name through the plugin host."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import scenedet
from scenedet.errors import UsageError, WeightsError
from scenedet.plugin.interfaces import Backbone

# One uint8 level after ImageNet normalisation: torchvision's v1 float resize and PIL round
# differently from the uint8 antialias kernel by at most one level.
ONE_LEVEL = 1 / 255 / 0.224 + 1e-6


@pytest.fixture(scope="module")
def resnet():
    return scenedet.create_backbone("resnet18", weights="random:0")


def still(height: int = 72, width: int = 96, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def features(backbone, *images: np.ndarray) -> torch.Tensor:
    with torch.inference_mode():
        return backbone(torch.stack([backbone.preprocess(i) for i in images]))


def test_plugin_registers_the_backbones():
    assert {"resnet18", "densenet121", "timm"} <= set(scenedet.list_backbones(modality="visual"))
    assert scenedet.get_backbone_spec("resnet18").feature_dim == 512
    assert scenedet.get_backbone_spec("densenet121").feature_dim == 1024
    spec = scenedet.get_backbone_spec("timm:convnext_tiny")
    assert spec.prefix and spec.input == "still"


def test_plugin_modules_import_without_torch():
    code = ("import sys, scenedet_kissing.vision, scenedet_kissing.r3d, scenedet_kissing.vggish; "
            "heavy = {'torch', 'torchvision', 'timm'} & set(sys.modules); assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_resnet18_features(resnet):
    assert isinstance(resnet, Backbone) and isinstance(resnet, torch.nn.Module)
    assert not resnet.training and not any(m.training for m in resnet.modules())
    assert (resnet.name, resnet.input, resnet.feature_dim, resnet.weights_id) == \
        ("resnet18", "still", 512, "random:0")
    out = features(resnet, still(), still(seed=1))
    assert out.shape == (2, 512) and torch.isfinite(out).all()


@pytest.mark.slow
def test_random_weights_are_deterministic(resnet):
    again = scenedet.create_backbone("resnet18", weights="random:0")
    other = scenedet.create_backbone("resnet18", weights="random:1")
    x = resnet.preprocess(still())[None]
    with torch.inference_mode():
        assert torch.equal(resnet(x), again(x))
        assert not torch.equal(resnet(x), other(x))


def test_preprocessing_matches_torchvision_transforms(resnet):
    from torchvision.models import ResNet18_Weights

    image = still(150, 201)
    reference = ResNet18_Weights.IMAGENET1K_V1.transforms()
    ours = resnet.preprocess(image)
    assert ours.shape == (3, 224, 224)
    from_tensor = reference(torch.from_numpy(image).permute(2, 0, 1))
    from_pil = reference(Image.fromarray(image))
    assert torch.allclose(ours, from_tensor, atol=ONE_LEVEL, rtol=0)
    assert torch.allclose(ours, from_pil, atol=ONE_LEVEL, rtol=0)
    assert (ours - from_pil).abs().mean() < 1e-3


def test_pretrained_offline_names_the_file_to_put(monkeypatch):
    with pytest.raises(WeightsError) as err:
        scenedet.create_backbone("resnet18")
    message = str(err.value)
    expected = torch.hub.get_dir() + "/checkpoints/resnet18-f37072fd.pth"
    assert expected in message and "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    assert "--weights PATH" in message and "\n" not in message


def test_cached_file_with_wrong_hash_is_refused():
    cached = torch.hub.get_dir() + "/checkpoints/resnet18-f37072fd.pth"
    torch.save({"fc.weight": torch.zeros(1)}, _mkparent(cached))
    with pytest.raises(WeightsError, match="checksum"):
        scenedet.create_backbone("resnet18", weights="pretrained")


def _mkparent(path: str) -> str:
    import os

    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


@pytest.mark.slow
def test_weights_path_round_trip_and_torchvision_layout(resnet, tmp_path):
    plain = tmp_path / "resnet18.pth"
    torch.save(resnet.state_dict(), plain)
    loaded = scenedet.create_backbone("resnet18", weights=str(plain))
    assert loaded.weights_id.startswith("file:") and len(loaded.weights_id) == 5 + 16
    # A file in torchvision's own layout (with its ImageNet classifier) loads too.
    full = tmp_path / "torchvision-layout.pth"
    torch.save({**resnet.state_dict(), "fc.weight": torch.zeros(1000, 512),
                "fc.bias": torch.zeros(1000)}, full)
    with_fc = scenedet.create_backbone("resnet18", weights=str(full))
    x = resnet.preprocess(still())[None]
    with torch.inference_mode():
        assert torch.equal(loaded(x), resnet(x)) and torch.equal(with_fc(x), resnet(x))


def test_wrong_shapes_are_one_line(resnet, tmp_path):
    state = dict(resnet.state_dict())
    state["layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError) as err:
        scenedet.create_backbone("resnet18", weights=str(path))
    assert "layer1.0.conv1.weight (64, 64, 1, 1) vs (64, 64, 3, 3)" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_densenet121_features_and_old_torchvision_keys(tmp_path):
    densenet = scenedet.create_backbone("densenet121", weights="random:0")
    assert densenet.feature_dim == 1024 and densenet.weights_id == "random:0"
    # torchvision's published DenseNet file uses the old "norm.1" style keys and has a classifier.
    old_style = {k.replace("norm1.", "norm.1.").replace("conv2.", "conv.2."): v
                 for k, v in densenet.state_dict().items()}
    old_style.update({"classifier.weight": torch.zeros(1000, 1024), "classifier.bias": torch.zeros(1000)})
    path = tmp_path / "densenet121-old.pth"
    torch.save(old_style, path)
    loaded = scenedet.create_backbone("densenet121", weights=str(path))
    x = torch.randn(1, 3, 64, 64)  # small input: only the wiring is under test
    with torch.inference_mode():
        out = densenet(x)
        assert out.shape == (1, 1024) and torch.equal(loaded(x), out)
    assert densenet.preprocess(still()).shape == (3, 224, 224)
    with pytest.raises(WeightsError, match="densenet121-a639ec97.pth"):
        scenedet.create_backbone("densenet121")


# -- timm ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_timm_model_by_name():
    import timm

    backbone = scenedet.create_backbone("timm:test_vit", weights="random:0")
    reference = timm.create_model("test_vit", num_classes=0)
    assert backbone.feature_dim == reference.num_features == 64
    assert backbone.name == "timm:test_vit" and backbone.weights_id == "random:0"
    out = features(backbone, still(), still(seed=1))
    assert out.shape == (2, 64)
    again = scenedet.create_backbone("timm:test_vit", weights="random:0")
    assert torch.equal(features(again, still(), still(seed=1)), out)


@pytest.mark.slow
def test_timm_feature_dim_is_the_pooled_output_width():
    """mobilenetv3's num_features (288) is not its pooled output width (1024, after conv_head)."""
    backbone = scenedet.create_backbone("timm:mobilenetv3_small_050", weights="random:0")
    assert backbone.feature_dim == 1024 == features(backbone, still()).shape[1]


def test_timm_preprocessing_follows_its_data_config():
    from timm.data import create_transform, resolve_data_config

    backbone = scenedet.create_backbone("timm:test_vit", weights="random:0")
    transform = create_transform(**resolve_data_config({}, model=backbone))
    image = still(130, 190)
    ours, theirs = backbone.preprocess(image), transform(Image.fromarray(image))
    assert ours.shape == theirs.shape == (3, 160, 160)  # test_vit: 160 px, crop_pct 0.95, mean 0.5
    assert (ours - theirs).abs().max() <= 2 / 255 / 0.5 + 1e-6  # bicubic: PIL vs torch rounding
    assert (ours - theirs).abs().mean() < 1e-3


def test_timm_pretrained_offline_says_where_to_put_the_file():
    with pytest.raises(WeightsError) as err:
        scenedet.create_backbone("timm:test_vit")
    message = str(err.value)
    assert torch.hub.get_dir() + "/checkpoints/timm/test_vit.r160_in1k.safetensors" in message
    assert "huggingface.co/timm/test_vit.r160_in1k" in message and "\n" not in message


@pytest.mark.slow
def test_timm_pretrained_from_the_drop_in_file():
    import timm
    from safetensors.torch import save_file

    source = timm.create_model("test_vit")  # a full checkpoint, classifier included
    path = _mkparent(torch.hub.get_dir() + "/checkpoints/timm/test_vit.r160_in1k.safetensors")
    save_file(source.state_dict(), path)
    backbone = scenedet.create_backbone("timm:test_vit")
    assert backbone.weights_id == "timm:test_vit.r160_in1k"
    x = backbone.preprocess(still())[None]
    with torch.inference_mode():
        assert torch.allclose(backbone(x), source.eval().forward_head(source.forward_features(x),
                                                                       pre_logits=True))


def test_timm_weights_path_with_classifier(tmp_path):
    import timm

    source = timm.create_model("test_vit")
    path = tmp_path / "test_vit.pth"
    torch.save(source.state_dict(), path)
    backbone = scenedet.create_backbone("timm:test_vit", weights=str(path))
    assert backbone.weights_id.startswith("file:")
    assert torch.equal(backbone.state_dict()["patch_embed.proj.weight"],
                       source.state_dict()["patch_embed.proj.weight"])


def test_unknown_timm_model_is_a_usage_error():
    with pytest.raises(UsageError, match="no_such_model"):
        scenedet.create_backbone("timm:no_such_model", weights="random:0")
