"""The GPU path: half precision with a guard, device batch sizes, preprocessing on the device.

Three things a CUDA run can do that a CPU run does not (measured by ``benchmarks/gpu.sh``;
figures, when a GPU machine has run it, in ``docs/performance.md``):

* **Half precision** (``precision="fp16"``): the backbones run in float16, the features are cast
  back to float32 and the head and the softmax run in float32 (the scores are a difference of
  two logits: fp16 there would cost the most accuracy for the least time). ``"auto"`` uses fp16
  on CUDA only while the scores stay within :data:`FP16_TOLERANCE` of fp32: the first batch of
  every film and then every :data:`FP16_CHECK_EVERY`-th batch are scored both ways (a film whose
  first batch is black titles says little about the rest); at the first check where a score
  moves by more, that batch keeps its fp32 scores and the rest of the film runs in fp32
  (:class:`ModelRunner`; what happened is recorded in the result's settings). On the CPU
  ``"auto"`` is fp32 (float16 convolutions are emulated there: slow).
* **A batch size for the device** (:func:`default_batch_size`): 16 seconds on the CPU (larger
  batches do not run faster there and hold more stills), 64 on CUDA (enough work per launch to
  fill the GPU at 224x224, still small in memory: ~40 MB of inputs).
* **Preprocessing on the device** (``device_preprocess=True``): the decode thread sends the
  stills as uint8 (a quarter of float32's bytes per pixel, in pinned memory) and the resize,
  centre crop and normalisation run on the GPU (:func:`preprocess_on_device`), freeing the
  decode thread for decoding. Only for backbones whose preprocessing is an
  :class:`~scenedet.inference.preprocess.ImagePreprocess`; the others keep theirs. The same code
  runs on the CPU device, which is how it is tested against the CPU preprocessing (within one
  uint8 level before normalisation). Whether it is faster depends on the machine: it is a
  setting, and ``benchmarks/gpu.sh`` measures both.

Imports torch: import it lazily from anything the CLI loads at start-up.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
import torch

from scenedet.errors import UsageError

PRECISIONS = ("fp32", "fp16", "auto")

#: Largest change of any score that half precision may cause for ``precision="auto"`` to use it.
FP16_TOLERANCE = 1e-3

#: For ``precision="auto"``: batches ``0, N, 2N...`` are scored in fp32 as well as fp16. A check
#: costs one fp32 forward on top of the fp16 one, so the extra model time is about
#: (fp32 time / fp16 time) / N: a few per cent at N = 32 (figures in docs/performance.md, GPU
#: path); with CUDA's 64-second batches, one check per ~34 minutes of film after the first.
FP16_CHECK_EVERY = 32

#: Seconds per model batch when none is given, per device type.
DEFAULT_BATCH_SIZE = {"cpu": 16, "cuda": 64}


def default_batch_size(device: Any) -> int:
    """The batch size for ``device`` when none is given (see :data:`DEFAULT_BATCH_SIZE`)."""
    return DEFAULT_BATCH_SIZE.get(torch.device(device).type, 16)


def tune_for(device: Any) -> None:
    """On CUDA, let cuDNN pick the fastest convolution kernels for the batch shapes it sees.

    A film's batches all have one shape (but the last), so the one-off autotuning pays back
    within a few batches. Process-wide, as torch's switch is.
    """
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.benchmark = True


def check_precision(precision: str) -> str:
    """``precision`` lower-cased, or a one-line :class:`UsageError` naming the choices."""
    name = str(precision).strip().lower()
    if name not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}: use {', '.join(PRECISIONS)}")
    return name


def resolve_precision(precision: str, device: Any) -> str:
    """``"fp32"``, ``"fp16"`` or ``"auto"`` (checked by :class:`ModelRunner` as the film runs).

    ``"auto"`` on the CPU is fp32. ``"fp16"`` needs CUDA: a float16 run on the CPU would be
    slower than fp32 and less accurate.
    """
    name = check_precision(precision)
    cuda = torch.device(device).type == "cuda"
    if name == "fp16" and not cuda:
        raise UsageError("precision fp16 needs a CUDA device (on the cpu use fp32 or auto)")
    if name == "auto" and not cuda:
        return "fp32"
    return name


def half_model(model: Any, dtype: torch.dtype = torch.float16) -> Any:
    """A copy of ``model`` (a :class:`~scenedet.inference.model.SceneModel`) whose backbones run
    in ``dtype``; the head (shared, not copied) stays float32.

    The inputs are cast to ``dtype`` on the device and the features back to float32 before the
    head (``SceneModel.compute_dtype``). ``dtype=torch.bfloat16`` or float16 on the CPU is how
    the tests and ``benchmarks/gpu.sh --quick`` exercise this without a GPU.
    """
    from scenedet.inference.model import SceneModel

    backbones = [copy.deepcopy(bb).to(dtype) for bb in model.backbones]
    half = SceneModel(backbones, model.head)
    half.compute_dtype = dtype
    return half


def positive_scores(model: Any, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Probability of the positive class, float32, on the model's device (the head's softmax)."""
    return torch.softmax(model(inputs).float(), dim=1)[:, 1]


@attrs.define
class ModelRunner:
    """Scores batches in the precision asked for; for ``"auto"``, keeps checking fp16 against fp32.

    ``precision``: what :func:`resolve_precision` returned. For ``"auto"``, batch ``i`` is
    scored both ways when ``i % check_every == 0``; a checked batch returns its fp32 scores (they
    were computed anyway), the others their fp16 ones, until a check finds a score that moved by
    more than ``tolerance``: that batch returns fp32 and every later batch runs in fp32 only.

    After the film: ``used`` is the precision the scores are in (``"fp16"``, ``"fp32"``, or
    ``"fp16+fp32"`` when fp32 took over part-way), ``max_diff`` the largest fp16-vs-fp32 score
    difference seen on the checked batches (``None`` when none was checked), ``checked`` how
    many batches were checked, ``fp32_from`` the batch from which fp32 took over (``None`` if it
    never did); :meth:`check_record` is that as JSON for the result's settings.

    ``dtype`` is float16 (bfloat16 or float16 on the CPU in tests: the logic does not depend on
    the device). ``make_half(model, dtype)`` builds the half-precision model
    (:func:`half_model`); the tests pass a stand-in whose drift they control.
    """

    model: Any
    precision: str = "fp32"
    dtype: torch.dtype = torch.float16
    tolerance: float = FP16_TOLERANCE
    check_every: int = FP16_CHECK_EVERY
    make_half: Callable[[Any, torch.dtype], Any] = half_model
    #: What the half-precision scores are called in ``used`` (``"bf16"`` on the CPU).
    half_name: str = "fp16"
    max_diff: float | None = attrs.field(init=False, default=None)
    checked: int = attrs.field(init=False, default=0)
    fp32_from: int | None = attrs.field(init=False, default=None)
    batches: int = attrs.field(init=False, default=0)
    _half_batches: int = attrs.field(init=False, default=0)
    _half: Any = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise UsageError(f"unknown precision {self.precision!r}: use {', '.join(PRECISIONS)}")
        if self.check_every < 1:
            raise ValueError(f"check_every must be at least 1, got {self.check_every}")
        if self.precision != "fp32":
            self._half = self.make_half(self.model, self.dtype)

    @property
    def used(self) -> str:
        """The precision the scores so far are in (see the class docstring)."""
        if self.precision == "fp16":
            return self.half_name
        if self._half_batches == 0:
            return "fp32"
        return self.half_name if self.fp32_from is None else f"{self.half_name}+fp32"

    def check_record(self) -> dict[str, Any] | None:
        """What the ``"auto"`` guard did, for the result's settings (``None`` unless ``"auto"``)."""
        if self.precision != "auto":
            return None
        return {"checked_batches": self.checked, "check_every": self.check_every,
                "tolerance": self.tolerance,
                "max_diff": None if self.max_diff is None else float(f"{self.max_diff:.3g}"),
                "fp32_from_batch": self.fp32_from}

    def __call__(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        index = self.batches
        self.batches += 1
        if self.precision == "fp32" or self.fp32_from is not None:
            return positive_scores(self.model, inputs)
        if self.precision == "fp16" or index % self.check_every:
            self._half_batches += 1
            return positive_scores(self._half, inputs)
        # "auto", a checked batch: fp32 and fp16 side by side; fp16 goes on only if it stays close.
        exact = positive_scores(self.model, inputs)
        diff = float((positive_scores(self._half, inputs) - exact).abs().max()) \
            if exact.numel() else 0.0
        self.checked += 1
        self.max_diff = diff if self.max_diff is None else max(self.max_diff, diff)
        if diff > self.tolerance:
            self.fp32_from = index
        return exact  # a checked batch's scores are the fp32 ones either way


def make_runner(model: Any, precision: str, device: Any) -> ModelRunner:
    """The :class:`ModelRunner` for ``precision`` on ``device``. ``"auto"`` on a CPU with native
    bf16, for a model whose backbones run through :mod:`scenedet.runtime`: the backbones in
    bf16 (the same converted files), guarded as fp16 is on CUDA (scores within 1e-3 of fp32's
    on the checked batches, fp32 from the first that fails); otherwise what
    :func:`resolve_precision` says."""
    from scenedet.runtime.backends import native_bf16

    cpu = torch.device(device).type == "cpu" if not isinstance(device, torch.device) \
        else device.type == "cpu"
    if precision == "auto" and cpu and getattr(model, "runtime", None) is not None \
            and native_bf16():
        return ModelRunner(model, "auto", dtype=torch.bfloat16, make_half=Bf16Backbones,
                           half_name="bf16")
    return ModelRunner(model, resolve_precision(precision, device))


class Bf16Backbones:
    """Built like :func:`half_model` (``Bf16Backbones(model, dtype)``): ``model`` (a
    :class:`~scenedet.inference.model.SceneModel` with a runtime) with its
    backbones' converted networks run in bf16 (:meth:`scenedet.runtime.Network.variant`); a
    backbone without a bf16 variant (torch, ONNX Runtime) runs as it is. The head stays fp32."""

    def __init__(self, model: Any, dtype: Any = None) -> None:
        self.model = model

    def __call__(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        from scenedet import profiling

        model, feats = self.model, []
        for i, (bb, x) in enumerate(zip(model.backbones, inputs)):
            net = model.runtime.networks.get(i)
            fast = net.variant("bf16") if net is not None else None
            with profiling.stage(f"backbone:{getattr(bb, 'name', type(bb).__name__)}"):
                if fast is None:
                    feats.append(_one_backbone(model, i, bb, x))
                else:
                    feats.append(torch.from_numpy(fast(x.contiguous().numpy())))
        with profiling.stage("head"):
            return model.head(torch.cat(feats, dim=1))


def _one_backbone(model: Any, i: int, bb: Any, x: torch.Tensor) -> torch.Tensor:
    name = getattr(bb, "name", type(bb).__name__)
    return model.runtime.run(i, name, bb, x) if model.runtime is not None else bb(x)


# -- preprocessing on the device -----------------------------------------------------------------

@attrs.frozen
class DeviceImages:
    """A batch of uint8 stills for :func:`preprocess_on_device`, still on the host.

    ``images``: ``(N, H, W, 3)`` as decoded, or (a film whose frame size changes inside the
    batch) ``(N, 3, h, w)`` already resized and cropped on the CPU (``cropped=True``).
    """

    images: torch.Tensor
    preprocess: Any
    cropped: bool = False

    def pin_memory(self) -> DeviceImages:
        return attrs.evolve(self, images=self.images.pin_memory())


def uses_device_preprocess(backbone: Any) -> bool:
    """Whether ``backbone``'s preprocessing can run on the device (an ``ImagePreprocess``)."""
    from scenedet.inference.preprocess import ImagePreprocess

    return isinstance(getattr(backbone, "preprocess", None), ImagePreprocess)


def still_tensor(array: np.ndarray) -> torch.Tensor:
    """One RGB uint8 ``(H, W, 3)`` still as a tensor of its own (the decode thread's only work
    on it): a copy, since it waits for the rest of its batch and a decoder may reuse buffers."""
    from scenedet.inference.preprocess import _as_uint8_chw

    return _as_uint8_chw(array).movedim(-3, -1).clone()  # checked like the CPU path, kept HWC


def stack_stills(stills: list[torch.Tensor], preprocess: Any, pin_memory: bool) -> DeviceImages:
    """One :class:`DeviceImages` from the stills of a batch (pinned on CUDA)."""
    if all(s.shape == stills[0].shape for s in stills):
        batch = DeviceImages(torch.stack(stills), preprocess)
    else:  # the frame size changed inside this batch: resize on the CPU, as the CPU path does
        batch = DeviceImages(torch.stack([preprocess.resize_crop(s.numpy()) for s in stills]),
                             preprocess, cropped=True)
    return batch.pin_memory() if pin_memory else batch


def preprocess_on_device(batch: DeviceImages, device: Any, *, non_blocking: bool = False
                         ) -> torch.Tensor:
    """Copy uint8 stills to ``device``, resize, centre crop and normalise there.

    The resize runs in float32 with antialiasing (the kernels CUDA has; uint8 resizing is
    CPU-only) and is rounded back to uint8 levels, so the result is what
    :class:`~scenedet.inference.preprocess.ImagePreprocess` gives on the CPU to within one uint8
    level (tested, running this on the CPU device). Returns float32 ``(N, 3, h, w)``.
    """
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as F

    from scenedet import profiling
    from scenedet.inference.preprocess import _size

    device = torch.device(device)
    sync = device if device.type == "cuda" else None
    prep = batch.preprocess
    with profiling.stage("h2d", sync=sync):
        x = batch.images.to(device, non_blocking=non_blocking)
    with profiling.stage("preprocess", sync=sync):
        if not batch.cropped:
            x = x.permute(0, 3, 1, 2).to(torch.float32)
            x = F.resize(x, _size(prep.resize),
                         interpolation=InterpolationMode(prep.interpolation), antialias=True)
            x = F.center_crop(x.round_().clamp_(0, 255), _size(prep.crop))
        mean = torch.tensor(prep.mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        std = torch.tensor(prep.std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        return (x.to(torch.float32) / 255.0 - mean) / std
