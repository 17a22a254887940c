"""The :class:`Network` of each runtime, and how a runtime's files are made from an ONNX file.

Every runtime runs in fp32: OpenVINO is told so (``INFERENCE_PRECISION_HINT=f32``; it would pick
bf16 on CPUs that have it) and saves its model uncompressed (``compress_to_fp16=False``).
:meth:`Network.variant` gives the same files run in bf16 where the runtime and the CPU do it
natively (OpenVINO on a CPU with BF16 among its capabilities): a caller that wants bf16 keeps
both and guards the bf16 outputs itself (what is exact in fp32 is not in bf16).
A network is called from one thread at a time (a lock), as the runtimes' single-request
objects need; each call is timed as the profiling stage ``model:NAME``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from scenedet import profiling

ONNX_FILE = "model.onnx"
OV_XML, OV_BIN = "model.xml", "model.bin"


class Network:
    """A compiled network: ``net(x)`` with ``x`` a batch (first dimension dynamic) as a NumPy
    array gives the module's output as NumPy: one array when the module returns one tensor,
    else a tuple of arrays in the order of the output structure's leaves (``torch.utils.
    _pytree`` order: tuple items, dict values in insertion order). ``runtime``: which runtime
    runs it; ``name``: the network's name as given to :func:`~scenedet.runtime.compile_network`.
    """

    runtime = "?"
    #: ``"fp32"``, or ``"bf16"`` for a :meth:`variant`.
    precision = "fp32"

    def __init__(self, name: str, n_outputs: int) -> None:
        self.name, self.n_outputs = name, n_outputs
        self._lock = threading.Lock()
        self._stage = f"model:{name}"

    def __call__(self, x: np.ndarray) -> Any:
        with self._lock, profiling.stage(self._stage):
            outs = self._run(np.ascontiguousarray(x))
        return outs[0] if len(outs) == 1 else tuple(outs)

    def variant(self, precision: str) -> Network | None:
        """This network in ``precision`` (``"fp32"``: itself; ``"bf16"``: the same files run in
        bf16, or ``None`` where the runtime or the CPU does not do bf16 natively)."""
        return self if precision == "fp32" else None

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Network {self.name} on {self.runtime}>"


class TorchNetwork(Network):
    """torch eager: the module itself (on its own device), under ``inference_mode``."""

    runtime = "torch"

    def __init__(self, name: str, module: Any) -> None:
        import torch
        from torch.utils._pytree import tree_leaves

        self.module = module.eval()
        param = next(iter(module.parameters()), None)
        self.device = param.device if param is not None else torch.device("cpu")
        self._leaves = tree_leaves
        super().__init__(name, 0)

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        import torch

        with torch.inference_mode():
            out = self.module(torch.from_numpy(x).to(self.device))
        return [t.detach().cpu().numpy() for t in self._leaves(out)]


class OnnxRuntimeNetwork(Network):
    runtime = "onnxruntime"

    def __init__(self, name: str, folder: Path, threads: int | None) -> None:
        import onnxruntime as ort

        ort.set_default_logger_severity(4)  # its errors are raised as exceptions: no echo
        opts = ort.SessionOptions()
        opts.log_severity_level = 4
        if threads:
            opts.intra_op_num_threads = int(threads)
        self.session = ort.InferenceSession(str(folder / ONNX_FILE), opts,
                                            providers=["CPUExecutionProvider"])
        self._input = self.session.get_inputs()[0].name
        super().__init__(name, len(self.session.get_outputs()))

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self._input: x})


class OpenVINONetwork(Network):
    runtime = "openvino"

    def __init__(self, name: str, folder: Path, threads: int | None,
                 precision: str = "fp32") -> None:
        import openvino as ov

        hint = {"fp32": "f32", "bf16": "bf16"}[precision]
        config = {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(str(folder / OV_XML)), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.precision = precision
        self._folder, self._threads, self._variants = folder, threads, {precision: self}
        super().__init__(name, len(self.compiled.outputs))

    def variant(self, precision: str) -> Network | None:
        if precision not in self._variants:
            if precision != "bf16" or not native_bf16():
                return None
            self._variants[precision] = OpenVINONetwork(self.name, self._folder, self._threads,
                                                        precision)
        return self._variants[precision]

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        self.request.infer({0: x})
        return [self.request.get_output_tensor(i).data.copy() for i in range(self.n_outputs)]


def native_bf16() -> bool:
    """Whether OpenVINO runs bf16 natively on this machine's CPU (AVX-512 BF16 or AMX)."""
    try:
        import openvino as ov

        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # noqa: BLE001 - no OpenVINO, no bf16
        return False


def convert(runtime: str, onnx_path: Path, folder: Path) -> list[str]:
    """Write ``runtime``'s files for the ONNX model at ``onnx_path`` into ``folder``; their names."""
    if runtime == "onnxruntime":
        if onnx_path != folder / ONNX_FILE:
            onnx_path.replace(folder / ONNX_FILE)
        return [ONNX_FILE]
    if runtime == "openvino":
        import openvino as ov

        model = ov.Core().read_model(str(onnx_path))
        ov.save_model(model, str(folder / OV_XML), compress_to_fp16=False)
        onnx_path.unlink(missing_ok=True)
        return [OV_XML, OV_BIN]
    raise ValueError(f"no files to make for runtime {runtime!r}")


def load(runtime: str, name: str, folder: Path, threads: int | None) -> Network:
    """The :class:`Network` of a cache entry's files."""
    if runtime == "onnxruntime":
        return OnnxRuntimeNetwork(name, folder, threads)
    if runtime == "openvino":
        return OpenVINONetwork(name, folder, threads)
    raise ValueError(f"no files to load for runtime {runtime!r}")
