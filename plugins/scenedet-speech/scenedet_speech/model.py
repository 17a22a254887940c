"""Silero VAD's network, from the installed ``silero-vad`` wheel, run by ONNX Runtime.

The wheel ships the model several ways (TorchScript, a streaming ONNX graph that takes one 32 ms
window per call, and a "sequence" ONNX graph that takes a block of windows per call and returns
the LSTM state between blocks). All give the same probabilities to the last bit; the sequence
graph spends the least time in Python, so it is the one used here (docs/performance.md,
"Speech (Silero VAD)", has the comparison). The file is found where pip put it, without importing
``silero_vad`` (its ``__init__`` imports torch), and checked against the wheel's own RECORD
hash (``scenedet.plugin.packaged_file``), so a damaged install is one line naming the package to reinstall, not an ONNX traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scenedet.plugin import PackagedFile, WeightsError, packaged_file

PACKAGE = "silero-vad"
MODEL = "silero_vad_16k_sequence.onnx"
RATE = 16_000
WINDOW = 512  # samples of one decision: 32 ms at 16 kHz
CONTEXT = 64  # samples of the window before, which the network sees with each window
REINSTALL = f"reinstall it: pip install --force-reinstall --no-deps {PACKAGE}"


def model_file() -> tuple[Path, str | None]:
    """Where the installed wheel keeps the sequence model, and its sha256 as the wheel's RECORD
    lists it (``None`` when the install records no hash, e.g. an editable one)."""
    found = packaged_file(PACKAGE, f"data/{MODEL}", what="Silero VAD's model file")
    return found.path, found.sha256


def open_session(path: Path, sha256: str | None = None) -> Any:
    """An ONNX Runtime session over ``path`` on one CPU thread (the network is tiny: more
    threads only cost synchronisation). A missing, altered or unreadable file is a one-line
    :class:`WeightsError` naming the package to reinstall."""
    import onnxruntime as ort

    if not path.is_file():
        raise WeightsError(f"Silero VAD's model file is missing from the installed {PACKAGE} "
                           f"({path}): {REINSTALL}")
    data = PackagedFile(PACKAGE, path, sha256, "Silero VAD's model file").read()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(data, sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001  (ONNX Runtime raises its own types)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"Silero VAD's model file in the installed {PACKAGE} cannot be "
                           f"loaded ({path}: {reason[:120]}): {REINSTALL}") from None


class SileroVAD:
    """Speech probabilities of consecutive 32 ms windows of 16 kHz mono sound, streaming.

    ``__call__(windows)`` takes ``(n, 512)`` float32 windows that follow the ones before and
    returns their ``n`` probabilities. All it carries between calls is the LSTM's state (two
    128-float vectors) and the last 64 samples (the next window's context): no sound is kept.
    """

    def __init__(self, session: Any = None) -> None:
        if session is None:
            session = open_session(*model_file())
        self.session = session
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.ascontiguousarray(windows, dtype=np.float32).reshape(-1, WINDOW)
        if not len(windows):
            return np.zeros(0, np.float32)
        contexts = np.empty((len(windows), CONTEXT), np.float32)
        contexts[0] = self._context
        contexts[1:] = windows[:-1, -CONTEXT:]
        block = np.concatenate([contexts, windows], axis=1)
        probs, self._h, self._c = self.session.run(
            ["speech_probs", "hn", "cn"], {"input": block, "h": self._h, "c": self._c})
        self._context = windows[-1, -CONTEXT:].copy()
        return np.asarray(probs, np.float32).reshape(-1)
