"""r3d34: the 3-D ResNet-34 over 16-frame clips, created by name through the plugin host.

The network is run on small clips (32x32 or 112x112) to keep the suite fast on a CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scenedet
from scenedet.errors import UsageError, WeightsError
from scenedet.plugin.interfaces import Backbone
from scenedet.inference.preprocess import IMAGENET_MEAN, IMAGENET_STD


@pytest.fixture(scope="module")
def r3d():
    return scenedet.create_backbone("r3d34", weights="random:0")


def clip(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 256, (16, height, width, 3), dtype=np.uint8)


SMALL = torch.randn(1, 3, 16, 32, 32, generator=torch.Generator().manual_seed(0))


def run(backbone, x: torch.Tensor = SMALL) -> torch.Tensor:
    with torch.inference_mode():
        return backbone(x)


def test_spec_and_instance(r3d):
    spec = scenedet.get_backbone_spec("r3d34")
    assert (spec.input, spec.feature_dim, spec.modality) == ("stills16", 512, "visual")
    assert isinstance(r3d, Backbone) and not r3d.training
    assert (r3d.name, r3d.input, r3d.feature_dim, r3d.weights_id) == ("r3d34", "stills16", 512, "random:0")


def test_architecture_is_resnet34_with_type_b_shortcuts(r3d):
    state = r3d.state_dict()
    assert state["conv1.weight"].shape == (64, 3, 7, 7, 7)
    assert r3d.conv1.stride == (1, 2, 2) and r3d.conv1.padding == (3, 3, 3)
    blocks = [len(getattr(r3d, f"layer{i}")) for i in range(1, 5)]
    assert blocks == [3, 4, 6, 3]
    assert state["layer1.0.conv1.weight"].shape == (64, 64, 3, 3, 3)
    assert state["layer2.0.downsample.0.weight"].shape == (128, 64, 1, 1, 1)  # type B: 1x1x1 conv
    assert "layer2.0.downsample.1.running_mean" in state and "layer1.0.downsample.0.weight" not in state
    assert not any(k.startswith("fc.") for k in state)


@pytest.mark.slow
def test_features_at_112(r3d):
    x = r3d.preprocess(clip())
    assert x.shape == (3, 16, 112, 112) and x.dtype == torch.float32
    out = run(r3d, x[None])
    assert out.shape == (1, 512) and torch.isfinite(out).all()


@pytest.mark.slow
def test_options_set_input_and_size():
    motion = scenedet.create_backbone("r3d34", weights="random:0", clip="motion", size=224)
    assert motion.input == "frames16"
    assert motion.preprocess(clip(40, 60)).shape == (3, 16, 224, 224)
    with pytest.raises(UsageError):
        scenedet.create_backbone("r3d34", weights="random:0", size=160)
    with pytest.raises(UsageError):
        scenedet.create_backbone("r3d34", weights="random:0", clip="optical-flow")


@pytest.mark.slow
def test_random_weights_are_deterministic(r3d):
    assert torch.equal(run(scenedet.create_backbone("r3d34", weights="random:0")), run(r3d))
    assert not torch.equal(run(scenedet.create_backbone("r3d34", weights="random:1")), run(r3d))


def test_frames_use_the_image_preprocessing(r3d):
    solid = np.empty((16, 30, 50, 3), np.uint8)
    solid[:] = (10, 200, 90)
    x = r3d.preprocess(solid)
    expected = (torch.tensor([10, 200, 90]) / 255 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.equal(x, expected.view(3, 1, 1, 1).expand(3, 16, 112, 112))


@pytest.mark.slow
def test_start_of_film_padding_is_zero_after_normalisation(r3d):
    frames = clip()
    frames[:15] = 0  # first second of a film: 15 padding frames, then the first still
    x = r3d.preprocess(frames)
    assert torch.equal(x[:, :15], torch.zeros(3, 15, 112, 112))
    assert torch.equal(x[:, 15], r3d.preprocess(clip())[:, 15])
    black = scenedet.create_backbone("r3d34", weights="random:0", pad="black").preprocess(frames)
    black_value = (-torch.tensor(IMAGENET_MEAN) / torch.tensor(IMAGENET_STD)).view(3, 1, 1)
    assert torch.allclose(black[:, 0], black_value.expand(3, 112, 112))
    # Only the leading run counts as padding: a black frame later in the clip stays black.
    frames = clip()
    frames[7] = 0
    assert torch.allclose(r3d.preprocess(frames)[:, 7], black_value.expand(3, 112, 112))


def test_pretrained_explains_there_is_no_official_file():
    with pytest.raises(WeightsError) as err:
        scenedet.create_backbone("r3d34")
    assert "--weights PATH" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_loads_a_3d_resnets_pytorch_checkpoint(r3d, tmp_path):
    """Their layout: {"epoch", "arch", "state_dict": {"module.<key>": ...}, "optimizer"}, with fc."""
    # Half precision keeps the file small; the loader casts to the model's float32.
    state = {f"module.{k}": v.half() if v.is_floating_point() else v
             for k, v in r3d.state_dict().items()}
    state["module.fc.weight"] = torch.randn(700, 512).half()
    state["module.fc.bias"] = torch.zeros(700).half()
    path = tmp_path / "r3d34_K_200ep.pth"
    torch.save({"epoch": 200, "arch": "resnet-34", "state_dict": state,
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}}, path)
    loaded = scenedet.create_backbone("r3d34", weights=str(path))
    assert loaded.weights_id.startswith("file:")
    for key, value in loaded.state_dict().items():
        assert value.dtype == r3d.state_dict()[key].dtype
        assert torch.equal(value, state[f"module.{key}"].to(value.dtype)), key
    assert run(loaded).shape == (1, 512)


def test_checkpoint_of_another_depth_is_one_line_error(r3d, tmp_path):
    # An R3D-18-like file (2 blocks per stage; stages 3-4 left out to keep the file small).
    state = {k: v for k, v in r3d.state_dict().items()
             if k.startswith(("conv1.", "bn1.", "layer1.0.", "layer1.1.", "layer2.0.", "layer2.1."))}
    path = tmp_path / "r3d18.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(WeightsError) as err:
        scenedet.create_backbone("r3d34", weights=str(path))
    assert "missing layer1.2.conv1.weight" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_shortcut_a_for_the_2017_checkpoints():
    model = scenedet.create_backbone("r3d34", weights="random:0", shortcut="A")
    assert not any("downsample" in k for k in model.state_dict())
    assert run(model).shape == (1, 512)


def test_network_classes_are_importable():
    from scenedet_kissing.r3d import ResNet3d

    assert ResNet3d.__module__ == "scenedet_kissing.r3d" and ResNet3d.__qualname__ == "ResNet3d"
