"""scenedet.runtime: each runtime gives torch eager's outputs; the conversion cache is reused,
rebuilt when damaged and shared safely by two processes; torch works without the others."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from scenedet.errors import UsageError
from scenedet.runtime import RUNTIMES, TOLERANCE, available_runtimes, compile_network

CONVERTED = "converted toy to"
TOY = """
import torch

class Toy(torch.nn.Module):
    '''uint8 [B, 8, 8, 3] in, two outputs (a tuple with a dict), like TransNetV2's.'''
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 64, 5)

    def forward(self, x):
        h = torch.relu(self.conv(x.permute(0, 3, 1, 2).float() / 255.0))
        y = self.fc(h.reshape(h.shape[0], -1))
        return torch.sigmoid(y), {"raw": y}
"""
_ns: dict = {}
exec(TOY, _ns)
Toy = _ns["Toy"]
CONVERTING = [r for r in ("openvino", "onnxruntime") if r in available_runtimes()]


def example(n: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)


def eager(x: np.ndarray):
    import torch

    with torch.inference_mode():
        sig, raw = Toy().eval()(torch.from_numpy(x))
    return sig.numpy(), raw["raw"].numpy()


def compile_toy(runtime="auto", **kw):
    return compile_network(Toy(), example(), name="toy", weights_id="seed0", runtime=runtime, **kw)


def entries(runtime: str) -> list[Path]:
    root = Path(os.environ["SCENEDET_HOME"]) / "runtimes"
    return sorted(p for p in root.glob(f"toy-*-{runtime}-*") if p.is_dir())


@pytest.mark.parametrize("runtime", ["torch", *CONVERTING])
def test_each_runtime_gives_torch_eagers_outputs_at_any_batch(runtime):
    net = compile_toy(runtime, threads=1)
    assert net.runtime == runtime
    for n in (1, 2, 5):
        x = example(n, seed=n)
        got, want = net(x), eager(x)
        assert isinstance(got, tuple) and len(got) == 2
        for g, w in zip(got, want):
            assert g.shape == w.shape and np.abs(g - w).max() <= TOLERANCE


def test_auto_takes_the_first_installed_runtime():
    expected = (CONVERTING or ["torch"])[0]
    assert compile_toy().runtime == expected


def test_a_second_compile_reuses_the_cached_files(caplog):
    if not CONVERTING:
        pytest.skip("neither openvino nor onnxruntime is installed")
    runtime = CONVERTING[0]
    with caplog.at_level(logging.INFO, logger="scenedet.runtime"):
        compile_toy(runtime)
    assert sum(CONVERTED in r.getMessage() for r in caplog.records) == 1
    (entry,) = entries(runtime)
    stamps = {p.name: p.stat().st_mtime_ns for p in entry.iterdir()}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="scenedet.runtime"):
        assert compile_toy(runtime).runtime == runtime
    assert not caplog.records
    assert {p.name: p.stat().st_mtime_ns for p in entry.iterdir()} == stamps


@pytest.mark.parametrize("runtime", CONVERTING)
def test_a_truncated_cached_file_is_rebuilt_with_one_warning(runtime, caplog):
    compile_toy(runtime)
    (entry,) = entries(runtime)
    biggest = max((p for p in entry.iterdir() if p.name != "manifest.json"),
                  key=lambda p: p.stat().st_size)
    biggest.write_bytes(biggest.read_bytes()[: biggest.stat().st_size // 2])
    with caplog.at_level(logging.INFO, logger="scenedet.runtime"):
        net = compile_toy(runtime)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "damaged" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    assert net.runtime == runtime
    assert np.abs(net(example())[0] - eager(example())[0]).max() <= TOLERANCE


@pytest.mark.slow
def test_two_processes_compiling_at_once_convert_once(tmp_path):
    if not CONVERTING:
        pytest.skip("neither openvino nor onnxruntime is installed")
    script = tmp_path / "compile_toy.py"
    script.write_text(TOY + textwrap.dedent(f"""
        import logging, sys
        import numpy as np
        from scenedet.runtime import compile_network
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        x = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
        net = compile_network(Toy(), x, name="toy", weights_id="seed0", runtime={CONVERTING[0]!r})
        print(net.runtime)
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o[0].strip() for o in outs] == [CONVERTING[0]] * 2
    assert sum(o[1].count(CONVERTED) for o in outs) == 1, outs
    assert len(entries(CONVERTING[0])) == 1


def test_a_runtime_that_differs_falls_back_with_one_warning_each(monkeypatch, caplog):
    from scenedet.runtime import compile as compile_module

    monkeypatch.setattr(compile_module, "TOLERANCE", -1.0)  # nothing is close enough
    with caplog.at_level(logging.INFO, logger="scenedet.runtime"):
        net = compile_toy("auto")
    assert net.runtime == "torch"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(CONVERTING)
    assert all("differ from torch eager" in w and "\n" not in w for w in warnings)


def test_torch_works_without_openvino_or_onnxruntime(monkeypatch):
    for name in ("openvino", "onnxruntime"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    assert available_runtimes() == ["torch"]
    net = compile_toy("torch")
    assert net.runtime == "torch"
    assert np.array_equal(net(example())[0], eager(example())[0])
    assert compile_toy("auto").runtime == "torch"
    with pytest.raises(UsageError, match="openvino.*cannot be imported"):
        compile_toy("openvino")


def test_an_unknown_runtime_is_a_usage_error():
    assert RUNTIMES == ("auto", "openvino", "onnxruntime", "torch")
    with pytest.raises(UsageError, match="unknown runtime 'tensorrt'"):
        compile_toy("tensorrt")


def test_a_cached_conversion_loads_without_building_the_module(caplog):
    if not CONVERTING:
        pytest.skip("neither openvino nor onnxruntime is installed")
    runtime = CONVERTING[0]
    compile_toy(runtime)  # converted and checked once

    def must_not_build():
        raise AssertionError("the module was built although its conversion is cached")

    net = compile_network(must_not_build, example(), name="toy", weights_id="seed0",
                          runtime=runtime)
    assert net.runtime == runtime
    assert np.abs(net(example(3))[0] - eager(example(3))[0]).max() <= TOLERANCE
    (entry,) = entries(runtime)
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest["checked"]["max_diff"] <= TOLERANCE  # the check is kept with the files


def test_a_rejected_runtime_is_remembered_and_not_converted_again(monkeypatch, caplog):
    if not CONVERTING:
        pytest.skip("neither openvino nor onnxruntime is installed")
    from scenedet.runtime import compile as compile_module

    runtime = CONVERTING[0]
    monkeypatch.setattr(compile_module, "TOLERANCE", -1.0)  # this conversion differs
    assert compile_toy(runtime).runtime == "torch"
    monkeypatch.setattr(compile_module, "TOLERANCE", TOLERANCE)
    monkeypatch.setattr(compile_module, "_SAID", set())  # a new process
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="scenedet.runtime"):
        assert compile_toy(runtime).runtime == "torch"
        assert compile_toy(runtime).runtime == "torch"
    messages = [r.getMessage() for r in caplog.records]
    assert not any(CONVERTED in m for m in messages)  # not converted again
    assert len(messages) == 1 and "remembered in" in messages[0]  # said once per process


@pytest.mark.parametrize("runtime", CONVERTING)
def test_bf16_is_a_variant_of_the_same_files_where_native(runtime):
    from scenedet.runtime.backends import native_bf16

    net = compile_toy(runtime)
    assert net.variant("fp32") is net
    fast = net.variant("bf16")
    if runtime != "openvino" or not native_bf16():
        assert fast is None
        return
    assert fast is net.variant("bf16") and fast.precision == "bf16"
    got, want = fast(example())[0], eager(example())[0]
    assert np.abs(got - want).max() < 0.05  # bf16: close, not exact
