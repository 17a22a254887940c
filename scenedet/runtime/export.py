"""torch -> ONNX: one input, its first dimension (the batch) dynamic, every output flattened.

torch's TorchScript exporter (``dynamo=False``) is used: it keeps the batch dimension dynamic
through the ``arange``/``repeat`` index arithmetic of networks like TransNetV2, where the
``torch.export`` route specialises it to the example's batch (measured with torch 2.11). The
exporter's own chatter (deprecation and tracer warnings) is silenced: the result is checked
against torch eager's outputs anyway (:mod:`scenedet.runtime.compile`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

#: ONNX opset written (supported by every runtime version this package pins or accepts).
OPSET = 17
INPUT = "input"


def output_count(outputs: Any) -> int:
    """How many tensors a module's output structure holds (tuple/list/dict, nested)."""
    from torch.utils._pytree import tree_leaves

    return len(tree_leaves(outputs))


def export_onnx(module: Any, example: Any, path: Path) -> None:
    """Write ``module`` (in eval mode) traced on ``example`` (a torch tensor) as ONNX at ``path``."""
    import torch

    with torch.inference_mode():
        n = output_count(module(example))
    names = [f"output{i}" for i in range(n)]
    axes = {INPUT: {0: "batch"}, **{name: {0: "batch"} for name in names}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(module, (example,), str(path), dynamo=False, opset_version=OPSET,
                              input_names=[INPUT], output_names=names, dynamic_axes=axes,
                              do_constant_folding=True)
