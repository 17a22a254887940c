""":func:`compile_network`: pick a runtime, convert once (cached), check against torch eager.

Messages go to the ``scenedet.runtime`` logger: the first conversion of a network (what and how
long) at INFO, a runtime passed over or a damaged cache entry at WARNING, one line each. When
the program has not configured :mod:`logging`, they are written to stderr as ``scenedet:
...`` lines.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import numpy as np

from scenedet.runtime import backends, cache
from scenedet.runtime.names import AUTO_ORDER, check_runtime, import_runtime, runtime_version

#: Largest difference from torch eager's fp32 outputs a runtime may show on the example, relative
#: to the outputs' largest magnitude when that is above 1 (:func:`_magnitude`).
TOLERANCE = 1e-5

log = logging.getLogger("scenedet.runtime")


def _say(level: int, msg: str, *args: Any) -> None:
    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("scenedet: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    log.log(level, msg, *args)


def compile_network(module: Any, example: Any, *, name: str, weights_id: str,
                    runtime: str = "auto", threads: int | None = None) -> backends.Network:
    """``module`` (a torch module taking one tensor, batch first) as a :class:`Network` run by
    ``runtime``: ``"openvino"``, ``"onnxruntime"``, ``"torch"`` (eager) or ``"auto"`` (the first
    of those installed whose outputs on ``example`` are torch eager's within :data:`TOLERANCE`).

    ``module`` may also be a function of no arguments that builds the module: it is called only
    when the module is needed (a conversion not cached yet, or torch eager), so a network whose
    conversion is cached loads without importing torch. ``example``: an input batch (NumPy or
    torch); its first dimension is made dynamic. ``name`` and ``weights_id`` (anything that
    changes when the weights do, e.g. a hash of the weights file) name the cache entry.
    ``threads``: the runtime's intra-op threads (``None``: its default, every core; torch eager
    keeps the process's setting).

    A conversion is checked against torch eager once, when it is made, and the check is kept
    with the cached files (their SHA-256 is verified at every load); a runtime whose conversion
    failed or differed is remembered too and passed over without converting again (until the
    runtime or torch is upgraded, or the entry is deleted). A module whose parameters are not on
    the CPU stays on torch. A named runtime that is not installed is a
    :class:`~scenedet.errors.UsageError`; one that fails to convert or differs falls back to
    torch eager with one warning line (as ``"auto"`` falls back to the next).
    """
    from scenedet.errors import UsageError

    check_runtime(runtime)
    x = _numpy(example)
    source = _Source(module, name)
    if runtime == "torch" or not source.on_cpu():
        return source.reference()
    order = AUTO_ORDER if runtime == "auto" else (runtime, "torch")
    for candidate in order:
        if candidate == "torch":
            return source.reference()
        try:
            import_runtime(candidate)
        except Exception as exc:  # noqa: BLE001 - not installed, or a broken install
            if runtime == "auto":
                continue
            raise UsageError(f"runtime {runtime!r} asked for, but it cannot be imported here "
                             f"({exc}); pip install {runtime}, or use runtime auto or torch")
        nxt = order[order.index(candidate) + 1]
        try:
            net = _cached(source, x, candidate, name, weights_id, threads)
        except Exception as exc:  # noqa: BLE001 - any failure: the next runtime
            _say(logging.WARNING, "runtime %s not used for %s (%s); using %s",
                 candidate, name, _one_line(exc), nxt)
            continue
        if net is not None:
            return net
    return source.reference()  # not reached: torch is last


class _Source:
    """The torch module, built on first use when given as a function."""

    def __init__(self, module: Any, name: str) -> None:
        self._given, self._module, self._ref = module, None, None
        self.name = name
        if hasattr(module, "state_dict"):  # a module, not a function building one
            self._module = module

    def module(self) -> Any:
        if self._module is None:
            self._module = self._given()
        return self._module

    def on_cpu(self) -> bool:
        """Whether the module (if already built) has its parameters on the CPU."""
        if self._module is None:
            return True
        return self.reference().device.type == "cpu"

    def reference(self) -> backends.TorchNetwork:
        if self._ref is None:
            self._ref = backends.TorchNetwork(self.name, self.module())
        return self._ref


class Rejected(Exception):
    """A runtime's conversion that failed or differed, remembered in the cache."""


#: Rejections already reported in this process (each is said once).
_SAID: set[str] = set()


def _cached(source: _Source, x: np.ndarray, runtime: str, name: str, weights_id: str,
            threads: int | None) -> backends.Network | None:
    """The runtime's network from the cache, converted and checked first if not cached yet;
    ``None`` when this runtime was rejected for this network (said once per process)."""
    version = runtime_version(runtime)
    signature = f"{x.dtype}{list(x.shape[1:])}"
    entry = cache.entry_dir(name, weights_id, runtime, version, signature)
    with cache.locked(entry):
        for attempt in (1, 2):
            try:
                manifest = cache.read_entry(entry)
                if manifest is not None and manifest.get("rejected"):
                    if str(entry) not in _SAID:
                        _SAID.add(str(entry))
                        _say(logging.WARNING, "runtime %s not used for %s (%s, remembered in %s)",
                             runtime, name, manifest["rejected"], entry)
                    return None
                if manifest is not None:
                    return backends.load(runtime, name, entry, threads)
            except Exception as exc:  # noqa: BLE001 - a damaged entry is rebuilt once
                if attempt == 2:
                    raise
                _say(logging.WARNING, "cached %s for %s is damaged (%s); converting again",
                     runtime, name, _one_line(exc))
            _convert_entry(source, x, runtime, version, name, weights_id, signature, entry,
                           threads)
        raise AssertionError("not reached")


def _convert_entry(source: _Source, x: np.ndarray, runtime: str, version: str, name: str,
                   weights_id: str, signature: str, entry: Any, threads: int | None) -> None:
    """Convert, check against torch eager, and write the entry: the files with the check's
    result, or a rejection (then raise it, for the caller's one warning line)."""
    start = time.monotonic()
    info = {"name": name, "runtime": runtime, "version": version, "weights_id": weights_id,
            "signature": signature}
    def build(folder) -> tuple[list[str], dict[str, Any]]:
        names = _convert(source.module(), x, runtime, folder)
        net = backends.load(runtime, name, folder, threads)
        checks = [(b, source.reference()._run(b)) for b in _check_batches(x)]
        diff = max(_max_diff(net._run(b), want) for b, want in checks)
        allowed = TOLERANCE * max(_magnitude(want) for _b, want in checks)
        if not diff <= allowed:
            raise Rejected(f"outputs differ from torch eager's by up to {diff:.2g} "
                           f"(> {allowed:.2g})")
        return names, {"checked": {"max_diff": diff, "tolerance": allowed}}

    try:
        cache.write_entry(entry, build, **info)
    except Exception as exc:  # noqa: BLE001 - remembered, then reported by the caller
        reason = _one_line(exc)
        cache.write_entry(entry, lambda folder: [], rejected=reason, **info)
        _SAID.add(str(entry))
        raise Rejected(reason) from None
    _say(logging.INFO, "converted %s to %s %s in %.1f s (cached in %s)",
         name, runtime, version, time.monotonic() - start, entry)


def _convert(module: Any, x: np.ndarray, runtime: str, folder) -> list[str]:
    import torch

    from scenedet.runtime.export import export_onnx

    onnx_path = folder / backends.ONNX_FILE
    export_onnx(module, torch.from_numpy(_export_batch(x)), onnx_path)
    return backends.convert(runtime, onnx_path, folder)


def _check_batches(x: np.ndarray) -> list[np.ndarray]:
    """The example, and a batch of one more item: both sizes differ from the one exported at
    (:func:`_export_batch`), so a batch size traced into a constant shows. Small on purpose:
    torch eager's run of them sets the process's peak memory."""
    return [x, np.concatenate([x, x[:1]])]


def _export_batch(x: np.ndarray) -> np.ndarray:
    """What the module is traced on: two more items than the example (the size is not checked
    at, see :func:`_check_batches`)."""
    return np.concatenate([x, x, x])[:len(x) + 2]


def _max_diff(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    if len(got) != len(want):
        return float("inf")
    worst = 0.0
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape:
            return float("inf")
        if g.size:
            d = np.abs(g.astype(np.float64) - w.astype(np.float64))
            d[np.isnan(g) & np.isnan(w)] = 0.0
            worst = max(worst, float(np.nan_to_num(d, nan=np.inf).max()))
    return worst


def _magnitude(outputs: list[np.ndarray]) -> float:
    """The scale :data:`TOLERANCE` is relative to: the outputs' largest absolute value, at
    least 1 (probabilities and scores are held to 1e-5 absolute; a backbone whose features
    run to tens, to 1e-5 of its largest feature: fp32 summation order alone moves those more)."""
    finite = [np.abs(o[np.isfinite(o)]).max() for o in map(np.asarray, outputs)
              if o.size and np.isfinite(o).any()]
    return max([1.0, *map(float, finite)])


def _numpy(example: Any) -> np.ndarray:
    if isinstance(example, np.ndarray):
        return np.ascontiguousarray(example)
    return np.ascontiguousarray(example.detach().cpu().numpy())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
