"""The scenes' backbones through scenedet.runtime: the run's ``runtime`` reaches them, their
scores are torch eager's within 1e-5, what ran each is recorded; precision auto on a CPU with
native bf16 runs them in bf16 guarded within 1e-3; a runtime with a speed-up is one line."""

from __future__ import annotations

import numpy as np
import pytest

import scenedet
from scenedet.errors import SettingError
from scenedet.runtime import available_runtimes
from scenedet.runtime.backends import native_bf16
from batch_helpers import make_model
from scenedet.media.encode import FilmWriter

CONVERTING = [r for r in ("openvino", "onnxruntime") if r in available_runtimes()]


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    path = tmp_path_factory.mktemp("rt-film") / "film.mp4"
    rng = np.random.default_rng(0)
    with FilmWriter(path, width=160, height=96, fps=8, gop=8) as w:
        for i in range(8 * 6):
            w.write_frame(rng.integers(0, 256, (96, 160, 3), dtype=np.uint8))
            if i % 8 == 7:
                w.write_audio((0.2 * np.sin(np.arange(48_000) / 48_000 * (i + 1) * 1e2))
                              .astype(np.float32))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("rt-model") / "m.pt")


def kissing(film, model, **settings):
    return scenedet.run(film, ["kissing"], model=model, batch_size=4, **settings).results["kissing"]


@pytest.mark.slow
@pytest.mark.parametrize("runtime", CONVERTING)
def test_each_runtime_scores_as_torch_eager_and_is_recorded(film, model, runtime):
    ref = kissing(film, model, runtime="torch")
    got = kissing(film, model, runtime=runtime)
    assert "runtime" not in ref.settings
    assert got.settings["runtime"] == {"resnet18": runtime, "vggish": runtime}
    assert len(got.scores) == len(ref.scores) == 6
    assert np.abs(np.asarray(got.scores) - np.asarray(ref.scores)).max() <= 1e-5
    assert got.segments == ref.segments


@pytest.mark.slow
@pytest.mark.skipif(not native_bf16(), reason="no native bf16 on this CPU (OpenVINO)")
def test_precision_auto_on_the_cpu_runs_bf16_within_the_guards_tolerance(film, model):
    ref = kissing(film, model)
    auto = kissing(film, model, precision="auto")
    assert auto.settings["precision"] in ("bf16", "bf16+fp32")
    check = auto.settings["precision_check"]
    assert check["checked_batches"] >= 1 and check["tolerance"] == 1e-3
    assert np.abs(np.asarray(auto.scores) - np.asarray(ref.scores)).max() <= 1e-3


def test_a_runtime_with_a_speedup_is_one_line(model):
    with pytest.raises(SettingError, match="int8 speed-up runs on torch"):
        scenedet.Engine(["kissing"], model=model, runtime="openvino", speedup="int8", load=False)


def test_an_unknown_runtime_is_one_line_naming_the_choices():
    with pytest.raises(SettingError, match="unknown runtime 'tvm': use auto, openvino"):
        scenedet.RunSettings(runtime="tvm")


def test_a_backbone_that_does_not_convert_runs_in_torch_with_one_line(caplog):
    import logging

    import torch

    from scenedet.inference.model import BackboneRuntimes

    class NumpyInside(torch.nn.Module):  # a third party's module that no exporter can follow
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            values = x.detach().numpy().reshape(len(x), -1)
            return torch.from_numpy(np.sort(values, axis=1)[:, :4].copy()) * self.scale

    if not CONVERTING:
        pytest.skip("neither openvino nor onnxruntime is installed")
    module, runtimes = NumpyInside(), BackboneRuntimes("auto", None)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 2, 5)).astype(np.float32))
    with caplog.at_level(logging.INFO, logger="scenedet.runtime"), torch.inference_mode():
        got = runtimes.run(0, "numpy-inside", module, x)
        again = runtimes.run(0, "numpy-inside", module, x[:2])
    assert runtimes.used() == {"numpy-inside": "torch"}
    assert torch.equal(got, module(x)) and torch.equal(again, module(x[:2]))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 <= len(warnings) <= len(CONVERTING)  # one line per runtime passed over
    assert all("not used for numpy-inside" in w and "\n" not in w for w in warnings)


@pytest.mark.slow
@pytest.mark.parametrize("name, shape", [("densenet121", (2, 3, 64, 64)),
                                         ("r3d34", (2, 3, 16, 48, 48)),
                                         ("resnet18", (2, 3, 64, 64)),
                                         ("vggish", (2, 1, 96, 64))])
def test_every_reference_backbone_converts_within_1e_5_of_torch_eager(name, shape):
    import torch

    from scenedet.inference.model import BackboneRuntimes, prepare_for_inference

    if not CONVERTING:
        pytest.skip("neither openvino nor onnxruntime is installed")
    backbone = prepare_for_inference(scenedet.create_backbone(name, weights="random:0"), "cpu")
    x = torch.from_numpy(np.random.default_rng(1).standard_normal(shape).astype(np.float32))
    runtimes = BackboneRuntimes(CONVERTING[0], None)
    with torch.inference_mode():
        got = runtimes.run(0, name, backbone, x)
        other = runtimes.run(0, name, backbone, x[:1])  # another batch size than converted at
        want, want1 = backbone(x), backbone(x[:1])
    assert runtimes.used() == {name: CONVERTING[0]}
    scale = max(1.0, float(want.abs().max()))  # 1e-5 relative to features above 1 (compile.py)
    assert got.shape == want.shape and float((got - want).abs().max()) <= 1e-5 * scale
    assert float((other - want1).abs().max()) <= 1e-5 * scale


def test_a_backbone_is_compiled_once_per_process_for_film_after_film():
    import torch

    from scenedet.inference.model import BackboneRuntimes

    if not CONVERTING:
        pytest.skip("neither openvino nor onnxruntime is installed")
    backbone = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 3)).eval()
    x = torch.from_numpy(np.random.default_rng(2).standard_normal((2, 2, 3)).astype(np.float32))
    first, second = BackboneRuntimes("auto", None), BackboneRuntimes("auto", None)
    with torch.inference_mode():
        first.run(0, "tiny", backbone, x)
        second.run(0, "tiny", backbone, x[:1])  # the next film's stream
    assert second.networks[0] is first.networks[0]
    assert second.used() == {"tiny": CONVERTING[0]}
    other = BackboneRuntimes("torch", None)  # another setting: its own network
    with torch.inference_mode():
        other.run(0, "tiny", backbone, x)
    assert other.networks[0] is not first.networks[0]
