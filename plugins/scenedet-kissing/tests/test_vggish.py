"""vggish: the AudioSet VGGish embedding, created by name through the plugin host."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scenedet
from scenedet.errors import WeightsError
from scenedet.plugin.interfaces import Backbone


# harritaylor/torchvggish's state dict (vggish-10086976.pth): conv stack then embeddings.
OFFICIAL_LAYOUT = {
    "features.0.weight": (64, 1, 3, 3), "features.0.bias": (64,),
    "features.3.weight": (128, 64, 3, 3), "features.3.bias": (128,),
    "features.6.weight": (256, 128, 3, 3), "features.6.bias": (256,),
    "features.8.weight": (256, 256, 3, 3), "features.8.bias": (256,),
    "features.11.weight": (512, 256, 3, 3), "features.11.bias": (512,),
    "features.13.weight": (512, 512, 3, 3), "features.13.bias": (512,),
    "embeddings.0.weight": (4096, 12288), "embeddings.0.bias": (4096,),
    "embeddings.2.weight": (4096, 4096), "embeddings.2.bias": (4096,),
    "embeddings.4.weight": (128, 4096), "embeddings.4.bias": (128,),
}


@pytest.fixture(scope="module")
def vggish():
    return scenedet.create_backbone("vggish", weights="random:0")


def patches(n: int = 2, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(96, 64)).astype(np.float32) for _ in range(n)]


def embed(backbone, items) -> torch.Tensor:
    with torch.inference_mode():
        return backbone(torch.stack([backbone.preprocess(p) for p in items]))


def test_spec_and_instance(vggish):
    spec = scenedet.get_backbone_spec("vggish")
    assert (spec.input, spec.modality, spec.feature_dim) == ("audio-logmel", "audio", 128)
    assert isinstance(vggish, Backbone) and not vggish.training
    assert (vggish.name, vggish.input, vggish.feature_dim, vggish.weights_id) == \
        ("vggish", "audio-logmel", 128, "random:0")


def test_state_dict_is_the_official_layout(vggish):
    assert {k: tuple(v.shape) for k, v in vggish.state_dict().items()} == OFFICIAL_LAYOUT
    assert list(vggish.state_dict()) == list(OFFICIAL_LAYOUT)


def test_embeddings(vggish):
    out = embed(vggish, patches())
    assert out.shape == (2, 128) and (out >= 0).all()  # the port ends with a ReLU


@pytest.mark.slow
def test_flatten_is_in_tensorflow_nhwc_order(vggish):
    x = torch.stack([vggish.preprocess(p) for p in patches()])
    with torch.inference_mode():
        conv = vggish.features(x)
        assert conv.shape == (2, 512, 6, 4)
        by_hand = vggish.embeddings(conv.permute(0, 2, 3, 1).reshape(2, -1))
        assert torch.equal(vggish(x), by_hand)
        assert not torch.allclose(vggish.embeddings(conv.reshape(2, -1)), by_hand)


def test_preprocess_adds_the_channel(vggish):
    assert vggish.preprocess(patches(1)[0]).shape == (1, 96, 64)
    with pytest.raises(ValueError):
        vggish.preprocess(np.zeros((64, 96), np.float32))


@pytest.mark.slow
def test_random_weights_are_deterministic(vggish):
    again = scenedet.create_backbone("vggish", weights="random:0")
    assert torch.equal(embed(again, patches()), embed(vggish, patches()))


def test_pretrained_offline_names_the_official_file():
    with pytest.raises(WeightsError) as err:
        scenedet.create_backbone("vggish")
    message = str(err.value)
    assert torch.hub.get_dir() + "/checkpoints/vggish-10086976.pth" in message
    assert "github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth" in message
    assert "\n" not in message


def test_cached_file_with_wrong_hash_is_refused(tmp_path):
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "vggish-10086976.pth"
    cached.parent.mkdir(parents=True)
    torch.save({"features.0.weight": torch.zeros(1)}, cached)
    with pytest.raises(WeightsError, match="checksum"):
        scenedet.create_backbone("vggish")


@pytest.mark.slow
def test_weights_path_round_trip(vggish, tmp_path):
    path = tmp_path / "vggish.pth"
    torch.save(vggish.state_dict(), path)
    loaded = scenedet.create_backbone("vggish", weights=str(path))
    assert loaded.weights_id.startswith("file:")
    assert torch.equal(embed(loaded, patches(seed=1)), embed(vggish, patches(seed=1)))


@pytest.mark.slow
def test_pca_postprocessing_from_a_file(vggish, tmp_path):
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(128, 128)).astype(np.float32)
    means = rng.normal(size=(128,)).astype(np.float32)
    pca = tmp_path / "vggish_pca_params.pth"
    torch.save({"pca_eigen_vectors": matrix, "pca_means": means}, pca)  # NumPy, as the port's
    post = scenedet.create_backbone("vggish", weights="random:0", postprocess=True, pca=str(pca))
    assert post.weights_id.startswith("random:0+pca:file:")
    raw = embed(vggish, patches()).numpy()
    expected = np.round((np.clip((raw - means) @ matrix.T, -2, 2) + 2) * (255 / 4))
    out = embed(post, patches()).numpy()
    assert out.shape == (2, 128) and out.min() >= 0 and out.max() <= 255
    assert np.abs(out - expected).max() <= 1  # rounding at .5 boundaries may differ by one step
    with pytest.raises(WeightsError, match="vggish_pca_params-970ea276.pth"):
        scenedet.create_backbone("vggish", weights="random:0", postprocess=True)
