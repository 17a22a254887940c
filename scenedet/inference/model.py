"""A scene model: backbones whose features are concatenated into a classifier head.

Imports torch: import this module lazily from anything the CLI loads at start-up.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from scenedet import profiling
from scenedet.plugin.registry import create_backbone, create_head
from scenedet.errors import UsageError, one_line
from scenedet.inference.modelfile import ModelFile, check_compatible


def resolve_device(device: str | None) -> Any:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available) -> ``torch.device``."""
    name = (device or "cpu").strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device {device!r}: use cpu, cuda, cuda:N or auto") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {device!r} requested but CUDA is not available here "
                         f"(torch {torch.__version__}); use the cpu device")
    if dev.type not in ("cpu", "cuda"):
        raise UsageError(f"unsupported device {device!r}: use cpu, cuda, cuda:N or auto")
    return dev


def prepare_for_inference(module: Any, device: Any) -> Any:
    """Eval mode, on ``device``, 4-D weights in channels-last layout.

    Channels-last (with channels-last inputs, as :mod:`scenedet.inference.pipeline` feeds them) is
    faster than the default layout on the CPU for both reference backbones (timings in
    ``docs/performance.md``), and it is the layout cuDNN's fastest convolution kernels want. 5-D weights (3-D CNNs) stay as
    they are (``Module.to(memory_format=...)`` would refuse them).
    """
    module = module.eval().to(device)
    for layer in module.modules():
        if isinstance(layer, torch.nn.Conv2d):
            layer.to(memory_format=torch.channels_last)
    return module


class SceneModel(torch.nn.Module):
    """Backbones + head. ``forward(inputs)`` takes one batch per backbone, returns logits."""

    #: The dtype the backbones run in (``None``: the inputs' own, float32); their features are
    #: cast back to float32 for the head. Set by :func:`scenedet.inference.gpu.half_model`.
    compute_dtype: Any = None

    def __init__(self, backbones: Sequence[Any], head: Any) -> None:
        super().__init__()
        self.backbones = torch.nn.ModuleList(backbones)
        self.head = head
        self.runtime: BackboneRuntimes | None = None

    def use_runtime(self, runtime: str, threads: int | None = None) -> None:
        """Run the backbones on the CPU through :mod:`scenedet.runtime` (``runtime``: ``auto``,
        ``openvino``, ``onnxruntime`` or ``torch``); each is compiled on its first batch."""
        self.runtime = BackboneRuntimes(runtime, threads) if runtime != "torch" else None

    def runtimes(self) -> dict[str, str]:
        """What ran each backbone so far (``{}`` before the first batch or without a runtime)."""
        return self.runtime.used() if self.runtime is not None else {}

    def features(self, inputs: Sequence[Any]) -> Any:
        feats = []
        for i, (bb, x) in enumerate(zip(self.backbones, inputs)):
            sync = x.device if x.is_cuda else None
            name = getattr(bb, "name", type(bb).__name__)
            with profiling.stage(f"backbone:{name}", sync=sync):
                if self.compute_dtype is not None:
                    feats.append(bb(x.to(self.compute_dtype)).float())
                elif self.runtime is not None and not x.is_cuda and x.dtype == torch.float32 \
                        and not (torch.is_grad_enabled() and x.requires_grad):  # saliency: torch
                    feats.append(self.runtime.run(i, name, bb, x))
                else:
                    feats.append(bb(x))
        return torch.cat(feats, dim=1)

    def forward(self, inputs: Sequence[Any]) -> Any:
        feats = self.features(inputs)
        with profiling.stage("head", sync=feats.device if feats.is_cuda else None):
            return self.head(feats)


#: Each backbone module's compiled networks, by (runtime, threads, input shape, dtype); gone
#: with the module.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class BackboneRuntimes:
    """The scene's backbones compiled by :func:`scenedet.runtime.compile_network`, each on its
    first batch (the example it is converted and checked on). The cache entry is named by a
    hash of the backbone's own parameters, so a fine-tuned backbone is never confused with the
    pretrained one."""

    def __init__(self, runtime: str, threads: int | None) -> None:
        self.runtime, self.threads = runtime, threads
        self.networks: dict[int, Any] = {}
        self.names: dict[int, str] = {}

    def run(self, i: int, name: str, backbone: Any, x: Any) -> Any:
        if i not in self.networks:
            from scenedet.runtime import compile_network

            # once per backbone object in the process: the feature cache streams film after
            # film through the same backbones, each with a BackboneRuntimes of its own
            compiled = _COMPILED.setdefault(backbone, {})
            key = (self.runtime, self.threads, tuple(x.shape[1:]), x.dtype)
            if key not in compiled:
                with torch.inference_mode(False), profiling.stage(f"compile:{name}"):
                    compiled[key] = compile_network(
                        backbone, x.detach().cpu().contiguous().numpy(), name=name,
                        weights_id=parameters_hash(backbone), runtime=self.runtime,
                        threads=self.threads)
            self.networks[i] = compiled[key]
            self.names[i] = name
        net = self.networks[i]
        if net.runtime == "torch":
            return backbone(x)
        return torch.from_numpy(net(x.contiguous().numpy()))

    def used(self) -> dict[str, str]:
        return {self.names[i]: self.networks[i].runtime for i in sorted(self.networks)}


def parameters_hash(module: Any) -> str:
    """SHA-256 of a module's parameters and buffers (names, shapes, dtypes and values)."""
    import hashlib

    h = hashlib.sha256()
    for key, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{key}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return "sha256:" + h.hexdigest()


def build_backbones(names: Sequence[str], weights: Sequence[str], *,
                    options: Mapping[str, Mapping[str, Any]] | None = None,
                    overrides: Mapping[str, str] | None = None) -> list[Any]:
    """Create each backbone with its weights; ``overrides`` maps a name to a weight file path."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(names)
    if unknown:
        raise UsageError(f"weight files given for {', '.join(sorted(unknown))}, which this model "
                         f"does not use (it uses {', '.join(names)})")
    built = []
    for name, weights_id in zip(names, weights):
        wanted = overrides.get(name)
        if wanted is None:
            wanted = weights_id if weights_id.startswith("random:") else "pretrained"
            if weights_id == "embedded":
                wanted = "random:0"  # replaced by the fine-tuned weights right after
        backbone = create_backbone(name, weights=wanted, **dict((options or {}).get(name, {})))
        if weights_id not in ("embedded", backbone.weights_id):
            warnings.warn(f"the model was trained over {name} weights {weights_id}, "
                          f"running with {backbone.weights_id}", RuntimeWarning, stacklevel=2)
        built.append(backbone)
    return built


def build_scene_model(model_file: ModelFile, scene: str, *, device: Any = "cpu",
                      weights: Mapping[str, str] | None = None) -> SceneModel:
    """Instantiate the model a file describes, refusing one that does not fit (one-line error)."""
    meta = model_file.meta
    backbones = build_backbones(meta.backbones, meta.backbone_weights,
                                options=meta.backbone_options, overrides=weights)
    check_compatible(model_file, scene, {b_name: bb.feature_dim
                                         for b_name, bb in zip(meta.backbones, backbones)})
    for name, backbone in zip(meta.backbones, backbones):
        state = model_file.backbone_states.get(name)
        if state is not None:
            backbone.load_state_dict(state)
    head = create_head(meta.head, in_features=meta.in_features, num_classes=meta.num_classes)
    try:
        head.load_state_dict(model_file.head_state)
    except RuntimeError as exc:
        raise UsageError(f"{model_file.path}: head weights do not fit: {one_line(exc)}") from None
    model = SceneModel(backbones, head)
    return prepare_for_inference(model, resolve_device(device) if isinstance(device, str) else device)
