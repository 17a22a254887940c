"""The PP-OCRv4 ONNX files, taken from the installed ``rapidocr-onnxruntime`` wheel, and their
ONNX Runtime sessions.

Why not ``import rapidocr_onnxruntime``: its ``__init__`` imports ``cv2`` (opencv-python), which
needs libGL and which this project must not run. The wheel is used for its files only: the
distribution's own file list (``importlib.metadata``) says where the ``.onnx`` files lie, and
they are opened in place, so nothing of the package's code runs. The recognition model carries
its character list in its ONNX metadata (``character``), so no other file is needed.

A missing package or a missing, empty or unreadable model is one :class:`WeightsError` line that
names the package to reinstall. Sessions are built once per process and shared.
"""

from __future__ import annotations

import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from scenedet.plugin import WeightsError, packaged_file

PACKAGE = "rapidocr-onnxruntime"
DETECTION = "ch_PP-OCRv4_det_infer.onnx"
RECOGNITION = "ch_PP-OCRv4_rec_infer.onnx"
REINSTALL = f"reinstall it: pip install --force-reinstall --no-deps {PACKAGE}"

_lock = threading.Lock()
_sessions: dict[tuple[str, int], Any] = {}


def model_path(name: str) -> Path:
    """Where ``name`` lies inside the installed wheel (the package is not imported)."""
    return packaged_file(PACKAGE, name, what=f"text: PP-OCRv4's {name}").path


def session(name: str, threads: int = 0) -> Any:
    """One ONNX Runtime session per model file and thread count (``0``: every core)."""
    key = (name, threads)
    with _lock:
        if key not in _sessions:
            _sessions[key] = _load(model_path(name), threads)
        return _sessions[key]


def _load(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # no spin-waiting between calls: the decoder shares the cores (spinning doubled the CPU per
    # call here and slowed decoding; docs/performance.md)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own types for a bad file
        raise WeightsError(f"text: {path.name} in the {PACKAGE} package cannot be loaded "
                           f"({type(exc).__name__}); {REINSTALL}") from None


def characters(rec_session: Any) -> list[str]:
    """The recognition model's classes: CTC blank, its characters, then a space (PaddleOCR's
    ``use_space_char`` order), from the character list in the model's metadata."""
    meta = rec_session.get_modelmeta().custom_metadata_map
    if "character" not in meta:
        raise WeightsError(f"text: {RECOGNITION} carries no character list; {REINSTALL}")
    return ["", *meta["character"].splitlines(), " "]


def clear() -> None:
    """Forget the loaded sessions (tests that damage a model file)."""
    with _lock:
        _sessions.clear()
