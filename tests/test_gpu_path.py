"""The GPU path, exercised on the CPU: device preprocessing against the CPU's, the half-precision
guard's decisions, the device's batch size, and the options' one-line refusals.

No GPU is needed: :func:`scenedet.inference.gpu.preprocess_on_device` is the same code on any
device, and :class:`~scenedet.inference.gpu.ModelRunner`'s fp16 check runs in bfloat16/float16
on the CPU just as in float16 on CUDA.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import scenedet
from scenedet.errors import UsageError
from scenedet.inference import gpu
from scenedet.inference.model import SceneModel, prepare_for_inference
from scenedet.inference.preprocess import ImagePreprocess
from scenedet.media.encode import FilmWriter

LEVEL = 1 / 255 / min(0.229, 0.224, 0.225)  # one uint8 level, after normalisation


def _device_preprocess(prep, stills):
    batch = gpu.stack_stills([gpu.still_tensor(s) for s in stills], prep, pin_memory=False)
    return gpu.preprocess_on_device(batch, "cpu")


@settings(max_examples=8, deadline=None)
@given(height=st.integers(40, 300), width=st.integers(40, 400), seed=st.integers(0, 2 ** 16),
       squash=st.booleans())
def test_device_preprocessing_matches_the_cpus_within_one_level(height, width, seed, squash):
    rng = np.random.default_rng(seed)
    # smooth content plus noise: what a film still looks like to a resize kernel
    yy, xx = np.mgrid[0:height, 0:width]
    base = (np.stack([xx * 255 // width, yy * 255 // height, (xx + yy) % 256], -1))
    stills = [np.clip(base + rng.integers(-40, 41, base.shape), 0, 255).astype(np.uint8)
              for _ in range(3)]
    prep = ImagePreprocess(resize=(36, 36) if squash else 36, crop=32)
    cpu = torch.stack([prep(s) for s in stills])
    dev = _device_preprocess(prep, stills)
    assert dev.shape == cpu.shape == (3, 3, 32, 32) and dev.dtype == torch.float32
    diff = (dev - cpu).abs()
    assert float(diff.max()) <= LEVEL + 1e-5
    assert float(diff.mean()) < 0.25 * LEVEL  # most pixels agree exactly


def test_device_preprocessing_at_film_size_for_the_torchvision_backbone():
    resnet = scenedet.create_backbone("resnet18", weights="random:0")
    assert gpu.uses_device_preprocess(resnet)
    rng = np.random.default_rng(1)
    stills = [rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8) for _ in range(2)]
    stills[1][:] = np.linspace(0, 255, 1280, dtype=np.uint8)[None, :, None]
    cpu = torch.stack([resnet.preprocess(s) for s in stills])
    dev = _device_preprocess(resnet.preprocess, stills)
    assert dev.shape == cpu.shape == (2, 3, 224, 224)
    assert float((dev - cpu).abs().max()) <= LEVEL + 1e-5


def test_a_frame_size_change_inside_a_batch_is_resized_on_the_cpu():
    prep = ImagePreprocess(resize=32, crop=32)
    stills = [np.full((48, 64, 3), 100, np.uint8), np.full((60, 80, 3), 200, np.uint8)]
    batch = gpu.stack_stills([gpu.still_tensor(s) for s in stills], prep, pin_memory=False)
    assert batch.cropped and batch.images.dtype == torch.uint8
    out = gpu.preprocess_on_device(batch, "cpu")
    torch.testing.assert_close(out, torch.stack([prep(s) for s in stills]))


def test_the_audio_backbone_keeps_its_own_preprocessing():
    assert not gpu.uses_device_preprocess(scenedet.create_backbone("vggish", weights="random:0"))


def _tiny(name, channels):
    """A small conv backbone with the Backbone attributes (the logic, not the network, is tested)."""
    net = torch.nn.Sequential(torch.nn.Conv2d(channels, 8, 3), torch.nn.BatchNorm2d(8),
                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    net.name = name
    return net


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return prepare_for_inference(SceneModel([_tiny("image", 3), _tiny("audio", 1)],
                                            torch.nn.Linear(16, 2)), "cpu")


@pytest.fixture(scope="module")
def real_model():
    torch.manual_seed(0)
    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    return prepare_for_inference(SceneModel(backbones, torch.nn.Linear(640, 2)), "cpu")


def _inputs(n=3):
    torch.manual_seed(1)
    return [torch.randn(n, 3, 32, 32).contiguous(memory_format=torch.channels_last),
            torch.randn(n, 1, 24, 16)]


def test_half_model_runs_the_backbones_in_half_and_the_head_in_fp32(model):
    half = gpu.half_model(model, torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 for p in half.backbones.parameters())
    assert all(p.dtype == torch.float32 for p in half.head.parameters())
    assert all(p.dtype == torch.float32 for p in model.backbones.parameters())  # a copy
    with torch.inference_mode():
        feats = half.features(_inputs())
        exact = gpu.positive_scores(model, _inputs())
        approx = gpu.positive_scores(half, _inputs())
    assert feats.dtype == torch.float32 and approx.dtype == torch.float32
    assert 0 < float((approx - exact).abs().max()) < 0.05  # close, but bfloat16 is coarse


@pytest.mark.parametrize("tolerance, used", [(1.0, "fp16"), (0.0, "fp32")])
def test_auto_keeps_half_precision_only_within_the_tolerance(model, tolerance, used):
    runner = gpu.ModelRunner(model, "auto", dtype=torch.bfloat16, tolerance=tolerance)
    with torch.inference_mode():
        first = runner(_inputs())
        exact = gpu.positive_scores(model, _inputs())
        second = runner(_inputs())
    assert runner.used == used and runner.max_diff is not None and runner.max_diff > 0
    torch.testing.assert_close(first, exact)  # the checked batch keeps its fp32 scores
    if used == "fp32":
        torch.testing.assert_close(second, exact)
    else:
        assert not torch.equal(second, exact)


def test_precision_choices_and_device_defaults():
    assert gpu.resolve_precision("auto", "cpu") == "fp32"
    assert gpu.resolve_precision("FP32", "cpu") == "fp32"
    with pytest.raises(UsageError, match="needs a CUDA device"):
        gpu.resolve_precision("fp16", "cpu")
    with pytest.raises(UsageError, match="unknown precision 'int4'"):
        gpu.check_precision("int4")
    assert gpu.default_batch_size("cpu") == 16
    assert gpu.default_batch_size(torch.device("cuda:0")) == 64


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    path = tmp_path_factory.mktemp("gpu") / "film.mp4"
    rng = np.random.default_rng(0)
    with FilmWriter(path, width=192, height=108, fps=8, gop=8) as w:
        for i in range(8 * 5):
            w.write_frame(np.clip(rng.normal(40 * (i // 8), 30, (108, 192, 3)), 0, 255)
                          .astype(np.uint8))
            if i % 8 == 7:
                w.write_audio((0.2 * np.sin(np.arange(48_000) / 48_000 * 2e3 * (1 + i // 8)))
                              .astype(np.float32))
    return path


@pytest.mark.slow
def test_scoring_with_device_preprocessing_on_the_cpu_device(real_model, film):
    from scenedet.inference.pipeline import score_film

    info = {}
    cpu = score_film(real_model, film, batch_size=2, info=info)
    dev = score_film(real_model, film, batch_size=2, device_preprocess=True)
    assert len(cpu) == len(dev) == 5 and info == {"precision": "fp32"}
    np.testing.assert_allclose(dev, cpu, atol=2e-3)


def test_run_refuses_fp16_on_the_cpu_in_one_line(film, tmp_path):
    from click.testing import CliRunner

    from scenedet.cli import cli

    out = CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), "-m", str(tmp_path / "x.pt"),
                                   "--precision", "fp16"])
    assert out.exit_code == 2
    assert "precision fp16 needs a CUDA device" in out.output


# -- the "auto" guard, checked through the film: a stand-in whose half precision drifts late ---

class _Exact:
    """Logits from the batch's one input: a column of the batch index (plus a per-row offset)."""

    def __call__(self, inputs):
        x = inputs[0]
        return torch.cat([torch.zeros_like(x), 0.01 * x + 0.001 * torch.arange(len(x))[:, None]], 1)


class _DriftsFrom(_Exact):
    """The "half precision" model: 1e-5 off fp32 on batches before ``k``, 0.2 off from ``k`` on."""

    def __init__(self, k):
        self.k = k

    def __call__(self, inputs):
        logits = super().__call__(inputs)
        index = int(inputs[0][0, 0])
        logits[:, 1] += 0.2 if index >= self.k else 1e-5
        return logits


def _score_film(k, every, n_batches):
    runner = gpu.ModelRunner(_Exact(), "auto", check_every=every,
                             make_half=lambda model, dtype: _DriftsFrom(k))
    batches = [[torch.full((3, 1), float(i))] for i in range(n_batches)]
    return runner, [runner(b) for b in batches], batches


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 30), every=st.integers(1, 8), n_batches=st.integers(1, 30))
def test_auto_switches_to_fp32_at_the_first_check_at_or_after_the_drift(k, every, n_batches):
    runner, scores, batches = _score_film(k, every, n_batches)
    switch = next((i for i in range(k, n_batches) if i % every == 0), None)
    assert runner.fp32_from == switch
    for i, (got, batch) in enumerate(zip(scores, batches)):
        exact = gpu.positive_scores(_Exact(), batch)
        half = gpu.positive_scores(_DriftsFrom(k), batch)
        checked = i % every == 0 and (switch is None or i <= switch)
        # checked batches and everything from the switch on: fp32; the rest: fp16's scores
        want = exact if checked or (switch is not None and i >= switch) else half
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    n_checks = len([i for i in range(n_batches) if i % every == 0
                    and (switch is None or i <= switch)])
    record = runner.check_record()
    assert record["checked_batches"] == runner.checked == n_checks
    assert record["fp32_from_batch"] == switch and record["check_every"] == every
    assert (record["max_diff"] > gpu.FP16_TOLERANCE) == (switch is not None)
    fp16_batches = [i for i in range(n_batches) if i % every and (switch is None or i < switch)]
    assert runner.used == ("fp32" if not fp16_batches else
                           "fp16" if switch is None else "fp16+fp32")


def test_a_film_that_drifts_after_its_first_batch_is_caught():
    # the old guard (first batch only) kept fp16 here for the whole film
    runner, scores, batches = _score_film(k=40, every=gpu.FP16_CHECK_EVERY, n_batches=100)
    assert runner.fp32_from == 64 and runner.checked == 3 and runner.used == "fp16+fp32"
    torch.testing.assert_close(scores[64], gpu.positive_scores(_Exact(), batches[64]))
    assert not torch.equal(scores[63], gpu.positive_scores(_Exact(), batches[63]))


def test_fixed_precisions_never_check():
    for precision in ("fp32", "fp16"):
        runner = gpu.ModelRunner(_Exact(), precision, make_half=lambda m, d: _DriftsFrom(0))
        for i in range(5):
            runner([torch.full((2, 1), float(i))])
        assert runner.checked == 0 and runner.check_record() is None and runner.used == precision


def test_the_guard_record_reaches_the_result_json():
    import json
    from fractions import Fraction

    from scenedet.inference.pipeline import SceneResult, recorded_settings

    runner, _, _ = _score_film(k=3, every=2, n_batches=6)
    settings = recorded_settings({"aggregator": "threshold", "min_length": 10,
                                  "threshold": Fraction(1, 2), "label_threshold": 0.5},
                                 precision=runner.used, precision_check=runner.check_record())
    assert settings["precision"] == "fp16+fp32"
    assert settings["precision_check"] == {"checked_batches": 3, "check_every": 2,
                                           "tolerance": gpu.FP16_TOLERANCE,
                                           "max_diff": settings["precision_check"]["max_diff"],
                                           "fp32_from_batch": 4}
    doc = SceneResult(video="f.mp4", scene="kissing", duration=2.0,
                      scores=np.zeros(2, np.float32), segments=[], settings=settings).to_dict()
    assert json.loads(json.dumps(doc))["settings"]["precision_check"]["fp32_from_batch"] == 4
