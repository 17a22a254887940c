"""The runtimes' names, the order ``"auto"`` tries them in, and which of them are installed."""

from __future__ import annotations

import importlib

#: Every ``runtime`` setting: ``"auto"`` and the runtimes, fastest first.
RUNTIMES = ("auto", "openvino", "onnxruntime", "torch")
#: What ``"auto"`` tries, in order (torch eager last: the reference, always there).
AUTO_ORDER = ("openvino", "onnxruntime", "torch")
#: The package each runtime needs (``pip install`` name and import name are the same).
_MODULES = {"openvino": "openvino", "onnxruntime": "onnxruntime", "torch": "torch"}


def check_runtime(runtime: str) -> str:
    """``runtime`` if it is a known name, else a one-line :class:`UsageError`."""
    from scenedet.errors import UsageError

    if runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
    return runtime


def import_runtime(runtime: str):
    """The runtime's module; ImportError when it is not installed (or cannot be loaded). The
    ONNX route also needs the ``onnx`` package (torch's exporter writes through it)."""
    if runtime != "torch":
        importlib.import_module("onnx")
    return importlib.import_module(_MODULES[runtime])


def available_runtimes() -> list[str]:
    """The runtimes that can be imported here, in ``"auto"``'s order."""
    found = []
    for name in AUTO_ORDER:
        try:
            import_runtime(name)
        except Exception:  # noqa: BLE001 - a broken install is a missing one
            continue
        found.append(name)
    return found


def runtime_version(runtime: str) -> str:
    """The installed version of ``runtime``'s package (``"?"`` when it does not say)."""
    module = import_runtime(runtime)
    version = getattr(module, "__version__", None) or "?"
    if runtime == "openvino":  # "2026.4.1-22982-e213a147257-releases/2026/4"
        version = version.split("-")[0]
    return str(version)
