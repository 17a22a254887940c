"""Plugin: ``vggish``, the AudioSet VGGish embedding (128-d) of each second's log-mel patch.

The architecture of Hershey et al. (2017) with the module layout and state-dict keys of the
official PyTorch port (harritaylor/torchvggish), so its released file loads unchanged:

* ``features.*``: 3x3 convolutions 64 - pool - 128 - pool - 256, 256 - pool - 512, 512 - pool
  over a ``(1, 96, 64)`` patch (96 frames of 10 ms x 64 mel bands), giving ``(512, 6, 4)``;
* the map is flattened in TensorFlow's NHWC order (channels last), the order the ported
  ``embeddings`` weights expect; flattening NCHW would scramble them;
* ``embeddings.*``: Linear(12288, 4096) - ReLU - Linear(4096, 4096) - ReLU - Linear(4096, 128) - ReLU.

Pretrained weights: ``vggish-10086976.pth`` from the port's v0.1 release, checked by SHA-256.

No PCA post-processing by default: the paper feeds the raw 128-d embedding to its linear head.
The PCA whitening + 8-bit quantisation exist only to reproduce the released AudioSet feature
files (for compatibility with YouTube-8M); they discard precision and add nothing a trained
linear head cannot learn. ``postprocess=True`` applies them (PCA file: the port's
``vggish_pca_params-970ea276.pth``, or ``pca=PATH``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenedet.plugin import (BackboneSpec, build_with_weights, fetch_pretrained, file_sha256,
                             hookimpl, KnownWeights, load_file, make_backbone, parse_weights,
                             WeightsError)

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

FEATURE_DIM = 128
PATCH_SHAPE = (96, 64)
RELEASE = "https://github.com/harritaylor/torchvggish/releases/download/v0.1/"
VGGISH_SHA256 = "10086976245803799d9194e9a73d9b6c1549c71d1b80106f5cade5608a561f4b"
CONV_CHANNELS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M")
# The AudioSet release's quantisation range for post-processed embeddings.
QUANTIZE_MIN, QUANTIZE_MAX = -2.0, 2.0


@hookimpl
def register_backbones(register: Callable[[BackboneSpec], None]) -> None:
    register(BackboneSpec(
        name="vggish", factory=vggish, input="audio-logmel", modality="audio",
        feature_dim=FEATURE_DIM,
        summary="VGGish (AudioSet) embedding of each second's 96x64 log-mel patch, 128-d"))


def vggish_weights() -> KnownWeights:
    """The official port's network weights (sha256 10086976...)."""
    return KnownWeights(url=RELEASE + "vggish-10086976.pth", sha256=VGGISH_SHA256,
                        weights_id="torchvggish:vggish-10086976")


def pca_weights() -> KnownWeights:
    """The official port's PCA parameters (sha256 prefix from its file name)."""
    return KnownWeights(url=RELEASE + "vggish_pca_params-970ea276.pth",
                        weights_id="torchvggish:vggish_pca_params-970ea276")


# -- the network --------------------------------------------------------------------------------

def build_vggish() -> nn.Sequential:
    """VGGish as ``Sequential(features, to_nhwc, flatten, embeddings)``.

    Plain torch modules only: the parameter keys are exactly the port's (``features.0.weight``
    ... ``embeddings.4.bias``); ``to_nhwc`` and ``flatten`` hold no parameters.
    """
    from torch import nn
    from torchvision.ops import Permute

    layers: list[nn.Module] = []
    in_channels = 1
    for item in CONV_CHANNELS:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = int(item)
    embeddings = nn.Sequential(
        nn.Linear(512 * 6 * 4, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, FEATURE_DIM), nn.ReLU(inplace=True))
    return nn.Sequential(OrderedDict(
        features=nn.Sequential(*layers), to_nhwc=Permute([0, 2, 3, 1]), flatten=nn.Flatten(),
        embeddings=embeddings))


@cache
def _postprocessor_class() -> type:
    """``PCAQuantize``, defined once torch is needed."""
    import torch
    from torch import nn

    class PCAQuantize(nn.Module):
        """AudioSet's release post-processing: PCA (with whitening), clip to [-2, 2], 8-bit."""

        def __init__(self, matrix: torch.Tensor, means: torch.Tensor) -> None:
            super().__init__()
            self.register_buffer("pca_matrix", matrix.to(torch.float32))
            self.register_buffer("pca_means", means.reshape(-1).to(torch.float32))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            projected = (x - self.pca_means) @ self.pca_matrix.T
            clipped = projected.clamp(QUANTIZE_MIN, QUANTIZE_MAX)
            return torch.round((clipped - QUANTIZE_MIN) * (255.0 / (QUANTIZE_MAX - QUANTIZE_MIN)))

    PCAQuantize.__module__, PCAQuantize.__qualname__ = __name__, "PCAQuantize"
    return PCAQuantize


def __getattr__(name: str) -> Any:
    """``from scenedet_kissing.vggish import PCAQuantize`` works, importing torch only then."""
    if name == "PCAQuantize":
        return _postprocessor_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _load_pca(pca: str | None) -> tuple[nn.Module, str]:
    """The post-processor from the official PCA file (``pca=None``/``"pretrained"``) or a path."""
    import torch

    known = pca_weights()
    request = parse_weights(pca)
    if request.kind == "random":
        raise WeightsError("vggish: the PCA parameters cannot be random: pass pca=PATH or leave it "
                           "to the official file")
    path = fetch_pretrained(known, backbone="vggish PCA") if request.kind == "pretrained" else request.path
    assert path is not None
    params = load_file(path, backbone="vggish PCA", allow_numpy=True)
    try:
        matrix = torch.as_tensor(params["pca_eigen_vectors"])
        means = torch.as_tensor(params["pca_means"])
    except (KeyError, TypeError) as exc:
        raise WeightsError(f"vggish PCA: {path} lacks 'pca_eigen_vectors' / 'pca_means'") from exc
    if matrix.shape != (FEATURE_DIM, FEATURE_DIM) or means.numel() != FEATURE_DIM:
        raise WeightsError(f"vggish PCA: {path} has shapes {tuple(matrix.shape)} / "
                           f"{tuple(means.shape)}, expected (128, 128) / (128,)")
    digest = file_sha256(path)
    pca_id = known.weights_id if known.matches(digest) else f"file:{digest[:16]}"
    return _postprocessor_class()(matrix, means), pca_id


# -- preprocessing ------------------------------------------------------------------------------

def preprocess_patch(patch: np.ndarray) -> torch.Tensor:
    """``(96, 64)`` float log-mel patch -> ``(1, 96, 64)`` float32 tensor (one input channel)."""
    import numpy as np
    import torch

    if not isinstance(patch, np.ndarray) or patch.shape != PATCH_SHAPE:
        raise ValueError(f"expected a {PATCH_SHAPE} log-mel patch, got "
                         f"{getattr(patch, 'shape', type(patch))}")
    return torch.tensor(patch, dtype=torch.float32).unsqueeze(0)


# -- the backbone -------------------------------------------------------------------------------

def vggish(*, weights: str | None = "pretrained", postprocess: bool = False,
           pca: str | Path | None = None) -> nn.Module:
    """VGGish: ``(B, 1, 96, 64)`` log-mel -> ``(B, 128)`` embedding.

    ``weights``: ``"pretrained"`` (vggish-10086976.pth), ``"random:SEED"`` or a path (the port's
    layout). ``postprocess=True`` appends the AudioSet PCA + quantisation (values 0..255), with
    the official PCA file or ``pca=PATH``.
    """
    model, weights_id = build_with_weights(build_vggish, weights, backbone="vggish",
                                           known=vggish_weights())
    if postprocess:
        postprocessor, pca_id = _load_pca(None if pca is None else str(pca))
        model.add_module("postprocess", postprocessor)
        weights_id = f"{weights_id}+pca:{pca_id}"
    return make_backbone(model, name="vggish", input="audio-logmel", feature_dim=FEATURE_DIM,
                         weights_id=weights_id, preprocess=preprocess_patch)
