"""``run_scene`` and ``scenedet run`` end to end on a generated film, with test-made model files."""

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import scenedet
from scenedet.cli import cli
from scenedet.media.encode import FilmWriter
from scenedet.inference.modelfile import ModelMeta, save_model_file
from scenedet.paths import default_model_path
from scenedet.inference.pipeline import run_scene

SECONDS = 6


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    """6.5 s, 160x120 at 12 fps, brightness ramps per second, a tone that rises per second."""
    path = tmp_path_factory.mktemp("run") / "film.mp4"
    rate = 48_000
    with FilmWriter(path, width=160, height=120, fps=12, gop=12) as w:
        for i in range(int(12 * 6.5)):
            w.write_frame(np.full((120, 160, 3), (i * 3) % 256, np.uint8))
            if i % 12 == 11 or i == int(12 * 6.5) - 1:
                t = np.arange(rate // (1 if i % 12 == 11 else 2)) / rate
                w.write_audio((0.2 * np.sin(2 * np.pi * (300 + 50 * (i // 12)) * t)).astype(np.float32))
    return path


@pytest.fixture(scope="module")
def backbones():
    return [scenedet.create_backbone("resnet18", weights="random:0"),
            scenedet.create_backbone("vggish", weights="random:0")]


def _model(path, backbones, *, bias=None, seed=0, **meta):
    torch.manual_seed(seed)
    head = torch.nn.Linear(640, 2)
    if bias is not None:
        with torch.no_grad():
            head.weight.zero_()
            head.bias.copy_(torch.tensor(bias))
    fields = dict(scene="kissing", backbones=("resnet18", "vggish"),
                  backbone_weights=tuple(b.weights_id for b in backbones), feature_dims=(512, 128))
    fields.update(meta)
    save_model_file(path, ModelMeta(**fields), head.state_dict())
    return path, head


@pytest.mark.slow
def test_scores_are_the_models_output_for_each_seconds_still_and_audio(film, backbones, tmp_path):
    from scenedet.media.seconds.decode import iter_seconds
    from scenedet.media.logmel import log_mel_patch
    from scenedet.media.types import MediaRequest

    path, head = _model(tmp_path / "m.pt", backbones)
    result = run_scene(film, scene="kissing", model=path, batch_size=4, progress=False)
    assert len(result.scores) == SECONDS == math.floor(result.duration)
    # the same computation by hand, one second at a time
    expected = []
    with torch.inference_mode():
        for second in iter_seconds(film, MediaRequest(frames=1, audio=True)):
            visual = backbones[0](backbones[0].preprocess(second.still)[None])
            audio = backbones[1](backbones[1].preprocess(log_mel_patch(second.audio))[None])
            expected.append(torch.softmax(head(torch.cat([visual, audio], 1)), 1)[0, 1].item())
    np.testing.assert_allclose(result.scores, expected, atol=1e-4)
    assert len(set(np.round(result.scores, 4))) > 1  # seconds really differ


@pytest.mark.slow
def test_segments_follow_the_scores_and_settings(film, backbones, tmp_path):
    path, _ = _model(tmp_path / "pos.pt", backbones, bias=[0.0, 5.0])  # every second positive
    result = run_scene(film, scene="kissing", model=path, min_length=3, progress=False)
    assert [(s.start, s.end) for s in result.segments] == [(0, SECONDS)]
    assert result.segments[0].score == pytest.approx(1 / (1 + math.exp(-5)), abs=1e-5)
    assert run_scene(film, scene="kissing", model=path, progress=False).segments == []  # min 10 s


@pytest.mark.slow
def test_cli_writes_the_documented_json(film, backbones, tmp_path):
    path, _ = _model(tmp_path / "pos.pt", backbones, bias=[0.0, 5.0])
    out = tmp_path / "out.json"
    result = CliRunner().invoke(cli, ["run", "--plugin", "kissing", str(film), "--model", str(path),
                                      "-o", str(out), "--min-length", "00:00:03", "--batch-size", "5"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["video"] == str(film) and data["scene"] == "kissing"
    assert data["duration"] == pytest.approx(6.5, abs=0.1)
    assert data["segments"] == [{"start": 0, "end": SECONDS, "score": pytest.approx(0.9933, abs=1e-3),
                                 "index": 1, "start_frame": 0, "end_frame": 12 * SECONDS,
                                 "start_timecode": "00:00:00:00", "end_timecode": "00:00:06:00"}]
    assert data["frame_rate"]["value"] == 12 and not data["frame_rate"]["drop_frame"]
    assert len(data["scores"]) == SECONDS and all(0 <= p <= 1 for p in data["scores"])
    assert "1 kissing scene(s)" in result.output


@pytest.mark.slow
def test_installed_model_is_found_by_default(film, backbones, tmp_path):
    _model(default_model_path("kissing"), backbones, bias=[5.0, 0.0])
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), "-q"])
    assert result.exit_code == 0, result.output
    assert max(json.loads(result.output)["scores"]) < 0.01


def _one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


def test_no_model_says_how_to_get_one(film):
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", str(film)])
    _one_line_error(result, "no model for scene 'kissing'", "--model", "--install")


@pytest.mark.slow
def test_model_for_another_recipe_is_refused(film, backbones, tmp_path):
    path, _ = _model(tmp_path / "fight.pt", backbones, scene="fight")
    _one_line_error(CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), "--model", str(path)]),
                    "trained for scene 'fight'")
    path, _ = _model(tmp_path / "dims.pt", backbones, feature_dims=(500, 140))
    _one_line_error(CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), "--model", str(path)]),
                    "expects 500-d features from 'resnet18'")


def _bad_inputs(tmp_path, film):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "notes.mp4").write_text("this is not a film\n" * 100)
    data = film.read_bytes()
    (tmp_path / "half.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "adir").mkdir()
    return {"missing": tmp_path / "nope.mp4", "directory": tmp_path / "adir",
            "empty": tmp_path / "empty.mp4", "not a video": tmp_path / "notes.mp4",
            "truncated": tmp_path / "half.mp4"}


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "not a video", "truncated"])
def test_bad_input_is_one_line_exit_2_and_no_output_file(film, backbones, tmp_path, case):
    path, _ = _model(tmp_path / "m.pt", backbones)
    video = _bad_inputs(tmp_path, film)[case]
    out = tmp_path / "out.json"
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", str(video), "--model", str(path),
                                      "-o", str(out)])
    _one_line_error(result, str(video.name))
    assert not out.exists() and not list(tmp_path.glob(".out.json*"))


@pytest.mark.parametrize("args, needle", [
    (["--min-length", "2.5"], "whole number of seconds"),
    (["--min-length", "abc"], "invalid time"),
    (["--threshold", "1.5"], "threshold"),
    (["--aggregator", "nope"], "unknown aggregator 'nope'"),
    (["--device", "tpu"], "device"),
    (["--weights", "resnet18"], "NAME=PATH"),
    (["--plugin", "nope"], "unknown plugin 'nope'"),
])
def test_bad_options_are_one_line_exit_2(film, backbones, tmp_path, args, needle):
    path, _ = _model(tmp_path / "m.pt", backbones)
    argv = ["run", "-p", "kissing", str(film), "--model", str(path), *args]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_features_command_writes_logmel_patches_and_backbone_features(film, tmp_path):
    out = tmp_path / "logmel.npy"
    result = CliRunner().invoke(cli, ["features", "-e", "audio-logmel", str(film), "-o", str(out)])
    assert result.exit_code == 0, result.output
    patches = np.load(out)
    assert patches.shape == (SECONDS, 96, 64) and patches.dtype == np.float32
    assert not np.allclose(patches[0], patches[-1])  # the tone changes pitch every second
    out = tmp_path / "vggish.npy"
    result = CliRunner().invoke(cli, ["features", "-e", "vggish", "--weights", "random:0",
                                      str(film), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert np.load(out).shape == (SECONDS, 128)
    result = CliRunner().invoke(cli, ["features", "-e", "nope", str(film), "-o", str(out)])
    assert result.exit_code == 2 and "unknown extractor or backbone 'nope'" in result.output


@pytest.mark.slow
def test_features_options_reach_the_backbone_or_are_refused(film, tmp_path):
    out = tmp_path / "r3d.npy"
    result = CliRunner().invoke(cli, ["features", "-e", "r3d34", "-O", "clip=motion", "--weights",
                                      "random:0", str(film), "-o", str(out), "--batch-size", "6"])
    assert result.exit_code == 0, result.output
    assert np.load(out).shape == (SECONDS, 512)
    result = CliRunner().invoke(cli, ["features", "-e", "resnet18", "-O", "bogus=1", "--weights",
                                      "random:0", str(film), "-o", str(out)])
    _one_line_error(result, "backbone 'resnet18' does not take these options")


@pytest.mark.slow
def test_features_without_output_fill_the_cache_training_reads(film, monkeypatch):
    from scenedet.inference import cache
    from scenedet.inference.cache import FeatureCache

    result = CliRunner().invoke(cli, ["features", "-e", "vggish", "--weights", "random:0", str(film)])
    assert result.exit_code == 0, result.output
    assert "feature cache: (6, 128)" in result.output

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(cache, "write_backbone_features", no_decoding)
    vggish = scenedet.create_backbone("vggish", weights="random:0")
    cached = FeatureCache().features(film, [vggish])[0]
    assert cached.shape == (SECONDS, 128)
    with torch.inference_mode():
        from scenedet.media.extractors import LogMelExtractor
        from scenedet.media.seconds.decode import iter_seconds

        first = next(iter_seconds(film, LogMelExtractor.request))
        direct = vggish(vggish.preprocess(LogMelExtractor()(first))[None])[0].numpy()
    np.testing.assert_allclose(cached[0], direct, atol=1e-4)
    result = CliRunner().invoke(cli, ["features", "-e", "audio-logmel", str(film)])
    _one_line_error(result, "is an extractor: give -o OUT.npy")


def test_the_feature_path_depends_one_way():
    """features (streaming to .npy) <- cache (keys, hash, fill) <- extract (`scenedet features`):
    no module imports one above it, not even lazily inside a function."""
    import ast
    from pathlib import Path

    import scenedet.inference

    root = Path(scenedet.inference.__file__).parent

    def imported(name: str) -> set[str]:
        tree = ast.parse((root / f"{name}.py").read_text())
        found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        found |= {f"{n.module}.{a.name}" for n in ast.walk(tree)  # from scenedet.inference import x
                  if isinstance(n, ast.ImportFrom) and n.module for a in n.names}
        found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        return found

    assert not imported("features") & {"scenedet.inference.cache", "scenedet.inference.extract"}
    assert "scenedet.inference.features" in imported("cache")
    assert "scenedet.inference.extract" not in imported("cache")


def test_several_plugins_at_once_check_their_outputs_before_the_model(film, tmp_path):
    # a bad plot path is said first, then a plugin named twice, then the missing model
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", "-p", "kissing", str(film),
                                      "--plot", str(tmp_path / "p.txt")])
    _one_line_error(result, "the plot is written as .png")
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", "-p", "kissing", str(film)])
    _one_line_error(result, "'kissing' is named twice")
    for extra in (["--start", "1"], ["--no-audio"]):
        result = CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), *extra])
        _one_line_error(result, "no model for scene 'kissing'")
    assert list(tmp_path.iterdir()) == []


def test_a_model_over_random_backbones_says_it_is_a_test_pattern_everywhere(film, backbones,
                                                                           tmp_path):
    """run's console, its JSON, plot and report all say so (not only `train`)."""
    from scenedet.inference.pipeline import TestPatternWarning

    path, _ = _model(tmp_path / "pos.pt", backbones, bias=[0.0, 5.0])
    out = tmp_path / "out.json"
    with pytest.warns(TestPatternWarning, match="resnet18 random:0, vggish random:0, a test "
                                                "pattern, not a trained detector"):
        result = CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), "-m", str(path),
                                          "-q", "-l", "3", "-o", str(out),
                                          "--report", str(tmp_path / "r.html"),
                                          "--plot", str(tmp_path / "p.svg")])
    assert result.exit_code == 0, result.output
    provenance = json.loads(out.read_text())["provenance"]
    assert provenance["test_pattern"] is True
    assert provenance["backbones"] == {"resnet18": "random:0", "vggish": "random:0"}
    page = (tmp_path / "r.html").read_text()
    assert "kissing (test pattern: random backbones) scenes" in page and "test-pattern" in page
    assert "test pattern: random backbones" in (tmp_path / "p.svg").read_text()
