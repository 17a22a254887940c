"""Opt-in CPU speed-ups of a scene model: int8 backbones and ``torch.compile``.

Neither is on by default: both change the scores (int8 by up to a few hundredths, compile by
float rounding only) or cost time up front; the figures that decided it are in
``docs/performance.md``. ``scenedet run --speedup int8|compile`` and
``run_scene(speedup=...)`` turn one on.

* ``int8``: static post-training quantisation of every backbone with torch.ao's FX graph mode
  (x86 backend: fbgemm/oneDNN int8 convolutions, per-channel weights, histogram-observed
  activations). Dynamic quantisation would cover only ``Linear`` layers, and the backbones are
  convolution stacks, so the activations are calibrated instead -- on the film itself: the first
  ``calibration_seconds`` are scored in float32 through the observed model (their scores are
  exact), then the backbones are converted and the rest of the film runs in int8. A film no
  longer than the calibration is scored entirely in float32. The head stays float32.
* ``compile``: ``torch.compile`` of the whole model (inductor, static shapes). The last, short
  batch is padded to the batch size so that the film costs one compilation, not two. Where
  compiling fails (inductor needs a C++ compiler on the CPU), one ``RuntimeWarning`` says so and
  the model runs uncompiled.

Imports torch: import lazily.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from scenedet.errors import UsageError

SPEEDUPS = ("none", "int8", "compile")
#: Seconds of the film scored in float32 while the int8 activation ranges are observed.
CALIBRATION_SECONDS = 48
_BACKBONE_ATTRS = ("name", "input", "feature_dim", "weights_id", "preprocess")


def check_speedup(speedup: str | None, device: Any = "cpu") -> str:
    """The speed-up's name, or a one-line :class:`UsageError` (int8 is a CPU-only path)."""
    name = (speedup or "none").strip().lower()
    if name not in SPEEDUPS:
        raise UsageError(f"unknown speed-up {speedup!r}: use {', '.join(SPEEDUPS)}")
    if name == "int8" and torch.device(device).type != "cpu":
        raise UsageError("the int8 speed-up runs on the cpu device only")
    return name


def check_with_precision(speedup: str, precision: str) -> None:
    """Refuse a speed-up with half precision (one-line :class:`UsageError`): both speed-ups run
    the float32 model (int8 quantises a float32 copy; compile wraps the model the fp16 guard
    would need to halve). ``precision`` as resolved for the device (``"auto"`` on the CPU is
    ``"fp32"``)."""
    if speedup not in (None, "none") and precision != "fp32":
        raise UsageError(f"the {speedup} speed-up runs in fp32: it cannot be combined with "
                         f"precision {precision}")


def make_forward(model: Any, speedup: str | None, *, batch_size: int = 16,
                 calibration_seconds: int = CALIBRATION_SECONDS) -> Callable[[Sequence[Any]], Any]:
    """``forward(inputs) -> logits`` for ``model`` with ``speedup`` applied.

    ``model`` (a :class:`~scenedet.inference.model.SceneModel`, prepared for inference) is left
    as it is: the int8 path works on a copy of its backbones, compile wraps it.
    """
    name = check_speedup(speedup)
    if name == "int8":
        return _Int8Forward(model, calibration_seconds)
    if name == "compile":
        return _CompiledForward(model, batch_size)
    return model


# -- int8 ---------------------------------------------------------------------------------------

def quantizable(backbone: Any) -> bool:
    """Whether FX can trace ``backbone`` (what :func:`prepare_int8` needs)."""
    try:
        torch.fx.symbolic_trace(backbone)
    except Exception:  # noqa: BLE001 - any trace failure means: leave it in float32
        return False
    return True


def prepare_int8(backbone: Any, example: Any, backend: str = "x86") -> Any:
    """An observed copy of ``backbone`` (FX ``prepare_fx``); call it on calibration batches."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_fx

    torch.backends.quantized.engine = backend
    float_copy = copy.deepcopy(backbone).eval()
    # Channels-last weights trace and quantise the same; the packed int8 weights pick their own.
    with _quiet():
        return prepare_fx(float_copy, get_default_qconfig_mapping(backend), (example,))


def convert_int8(observed: Any, like: Any) -> Any:
    """The int8 module from an observed one, with ``like``'s backbone attributes."""
    from torch.ao.quantization.quantize_fx import convert_fx

    with _quiet():
        quantized = convert_fx(observed).eval()
    for attr in _BACKBONE_ATTRS:
        if hasattr(like, attr):
            setattr(quantized, attr, getattr(like, attr))
    return quantized


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch.ao's FX quantisation warns that it is deprecated (for torchao's pt2e flow, not a
    dependency here) and that x86's ``reduce_range`` is; both work in the pinned torch."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated")
        warnings.filterwarnings("ignore", message=".*reduce_range will be deprecated")
        yield


class _Int8Forward:
    """Float32 with observers for the first seconds, then int8 backbones + the float head."""

    def __init__(self, model: Any, calibration_seconds: int) -> None:
        self.model = model
        self.calibration_seconds = calibration_seconds
        self.observed: list[Any] | None = None
        self.backbones: list[Any] | None = None  # converted, once calibrated
        self.seen = 0

    def __call__(self, inputs: Sequence[Any]) -> Any:
        if self.backbones is not None:
            return self._run(self.backbones, inputs)
        if self.observed is None:
            self.observed = [prepare_int8(bb, x[:1]) if quantizable(bb) else bb
                             for bb, x in zip(self.model.backbones, inputs)]
        logits = self._run(self.observed, inputs)  # float32 outputs, activations observed
        self.seen += int(inputs[0].shape[0])
        if self.seen >= self.calibration_seconds:
            self.backbones = [convert_int8(obs, bb) if obs is not bb else bb
                              for obs, bb in zip(self.observed, self.model.backbones)]
            self.observed = None
        return logits

    def _run(self, backbones: Sequence[Any], inputs: Sequence[Any]) -> Any:
        features = torch.cat([bb(x) for bb, x in zip(backbones, inputs)], dim=1)
        return self.model.head(features)


# -- torch.compile ------------------------------------------------------------------------------

class _CompiledForward:
    """``torch.compile`` of the model at one static batch size; short batches are padded."""

    def __init__(self, model: Any, batch_size: int) -> None:
        self.model = model
        self.batch_size = batch_size
        self.compiled = torch.compile(model, dynamic=False)

    def __call__(self, inputs: Sequence[Any]) -> Any:
        n = int(inputs[0].shape[0])
        if n != self.batch_size:
            inputs = [pad_batch(x, self.batch_size) for x in inputs]
        try:
            logits = self.compiled(inputs)
        except Exception as exc:  # noqa: BLE001 - e.g. no C++ compiler for inductor
            if self.compiled is self.model:
                raise
            from scenedet.errors import one_line

            warnings.warn(f"torch.compile failed, running the model uncompiled: {one_line(exc)}",
                          RuntimeWarning, stacklevel=2)
            self.compiled = self.model
            logits = self.model(inputs)
        return logits[:n]


def pad_batch(x: Any, size: int) -> Any:
    """``x`` with its last item repeated up to ``size`` items, in ``x``'s memory format."""
    n = int(x.shape[0])
    if n >= size:
        return x
    pad = x[-1:].expand(size - n, *x.shape[1:])
    out = torch.cat([x, pad])
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        out = out.contiguous(memory_format=torch.channels_last)
    return out
