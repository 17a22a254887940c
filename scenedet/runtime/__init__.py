"""Run a torch network on the CPU through the fastest maintained runtime that keeps its outputs.

One call, :func:`compile_network`, gives a :class:`Network` (``Network(x: np.ndarray)`` ->
``np.ndarray``, or a tuple of them for a module with several outputs) run by OpenVINO, ONNX
Runtime or torch eager (the reference and the fallback); ``Network.runtime`` says which.
``runtime="auto"`` takes the first of those that is installed, converts the module to it once
(torch -> ONNX -> runtime, cached under ``SCENEDET_HOME/runtimes/``) and checks its outputs
against torch eager's on the example (max abs difference <= 1e-5 in fp32, relative to the
outputs' largest magnitude where that is above 1); one that fails to
convert or differs is passed over for the next, with one warning line.

Modules: :mod:`.names` (runtime names, which are installed, versions), :mod:`.export` (torch ->
ONNX), :mod:`.cache` (the cache folder, its lock and manifest), :mod:`.backends` (the
:class:`Network` of each runtime), :mod:`.compile` (:func:`compile_network`: choice, validation,
fallback). torch is imported only when a network is compiled.
"""

from __future__ import annotations

from scenedet.runtime.backends import Network
from scenedet.runtime.compile import TOLERANCE, compile_network
from scenedet.runtime.names import RUNTIMES, available_runtimes, runtime_version

__all__ = ["Network", "compile_network", "RUNTIMES", "TOLERANCE", "available_runtimes",
           "runtime_version"]
