"""Opt-in CPU speed-ups (inference/speedups.py): int8 backbones calibrated on the film, compile."""

import shutil

import pytest
import torch
from click.testing import CliRunner

from scenedet.cli import cli
from scenedet.errors import UsageError
from scenedet.inference import speedups
from scenedet.inference.model import SceneModel, prepare_for_inference
from scenedet.inference.weights import make_backbone


def _tiny_model(seed: int = 0) -> SceneModel:
    torch.manual_seed(seed)
    convs = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, stride=2),
        torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    backbone = make_backbone(convs, name="tiny", input="still", feature_dim=16,
                             weights_id="random:0", preprocess=lambda a: torch.as_tensor(a))
    return prepare_for_inference(SceneModel([backbone], torch.nn.Linear(16, 2)), "cpu")


def _batches(n: int, size: int = 4, seed: int = 1) -> list[list[torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [[torch.rand(size, 3, 16, 16, generator=g).contiguous(memory_format=torch.channels_last)]
            for _ in range(n)]


@pytest.mark.parametrize("name", ["nope", "fp16", ""])
def test_unknown_speedups_are_refused_in_one_line(name):
    if name == "":
        assert speedups.check_speedup(name) == "none"
        return
    with pytest.raises(UsageError, match="unknown speed-up"):
        speedups.check_speedup(name)


def test_int8_is_cpu_only():
    with pytest.raises(UsageError, match="cpu device only"):
        speedups.check_speedup("int8", "cuda")
    assert speedups.check_speedup(" INT8 ", "cpu") == "int8"


def test_int8_scores_the_calibration_seconds_exactly_then_runs_quantised_backbones():
    model = _tiny_model()
    forward = speedups.make_forward(model, "int8", calibration_seconds=8)
    batches = _batches(4)
    with torch.inference_mode():
        exact = [model(b) for b in batches]
        got = [forward(b) for b in batches]
    # The first two batches (8 s) are the calibration: float32, exactly the model's output.
    assert torch.equal(got[0], exact[0]) and torch.equal(got[1], exact[1])
    # Then int8: close to float32 but not equal, and the backbone really is quantised.
    assert forward.backbones is not None
    kinds = {type(m).__module__ for m in forward.backbones[0].modules()}
    assert any("quantized" in k for k in kinds), kinds
    for g, e in zip(got[2:], exact[2:]):
        assert not torch.equal(g, e)
        assert torch.allclose(torch.softmax(g, 1), torch.softmax(e, 1), atol=0.05)
    # The float model is untouched (the int8 path works on a copy).
    assert all(type(m).__module__.startswith("torch.nn.modules") for m in model.modules()
               if m is not model and not isinstance(m, (SceneModel, torch.nn.ModuleList)))
    # The converted backbone keeps the attributes the decoder reads.
    assert forward.backbones[0].input == "still" and forward.backbones[0].feature_dim == 16


def test_int8_on_a_film_shorter_than_the_calibration_is_float32():
    model = _tiny_model()
    forward = speedups.make_forward(model, "int8", calibration_seconds=100)
    with torch.inference_mode():
        for batch in _batches(3):
            assert torch.equal(forward(batch), model(batch))
    assert forward.backbones is None


def test_pad_batch_repeats_the_last_item_and_keeps_channels_last():
    x = torch.rand(3, 2, 4, 4).contiguous(memory_format=torch.channels_last)
    padded = speedups.pad_batch(x, 5)
    assert padded.shape == (5, 2, 4, 4)
    assert torch.equal(padded[:3], x) and torch.equal(padded[3], x[2]) and torch.equal(padded[4], x[2])
    assert padded.is_contiguous(memory_format=torch.channels_last)
    assert speedups.pad_batch(x, 3) is x


def test_none_is_the_model_itself():
    model = _tiny_model()
    assert speedups.make_forward(model, "none") is model


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++")), reason="inductor needs C++")
def test_compile_matches_float32_on_full_and_short_batches():
    model = _tiny_model()
    forward = speedups.make_forward(model, "compile", batch_size=4)
    with torch.inference_mode():
        for batch in _batches(2) + _batches(1, size=3):
            got, exact = forward(batch), model(batch)
            assert got.shape == exact.shape
            assert torch.allclose(got, exact, atol=1e-4)


def test_a_failing_compile_warns_once_and_runs_uncompiled(monkeypatch):
    model = _tiny_model()
    forward = speedups.make_forward(model, "compile", batch_size=4)

    def broken(inputs):
        raise RuntimeError("no C++ compiler\nfound")

    forward.compiled = broken
    batch = _batches(1, size=3)[0]
    with pytest.warns(RuntimeWarning, match="torch.compile failed.*no C\\+\\+ compiler"):
        got = forward(batch)
    with torch.inference_mode():
        assert torch.equal(got, model(batch)) or torch.allclose(got, model(batch), atol=1e-6)
        assert forward.compiled is model


def test_cli_refuses_an_unknown_speedup(tmp_path):
    film = tmp_path / "film.mp4"
    film.write_bytes(b"")
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), "--speedup", "fast"])
    assert result.exit_code == 2 and "fast" in result.output
    assert "--speedup" in result.output  # the option's name, not the library's


def test_a_speedup_is_refused_with_half_precision():
    speedups.check_with_precision("none", "fp16")
    speedups.check_with_precision("compile", "fp32")
    for speedup, precision in (("compile", "fp16"), ("int8", "auto")):
        with pytest.raises(UsageError, match="runs in fp32: it cannot be combined"):
            speedups.check_with_precision(speedup, precision)


def test_run_scene_refuses_compile_with_fp16_before_reading_the_film(monkeypatch, tmp_path):
    from scenedet.inference import gpu
    from scenedet.inference.pipeline import run_scene

    model = tmp_path / "m.pt"
    model.write_bytes(b"")  # never read: the settings are refused first
    monkeypatch.setattr(gpu, "resolve_precision", lambda precision, device: precision)  # as on CUDA
    with pytest.raises(UsageError, match="compile speed-up runs in fp32"):
        run_scene(tmp_path / "missing.mp4", scene="kissing", model=model, precision="fp16",
                  speedup="compile")
