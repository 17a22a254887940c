"""``--profile`` / ``run_scene(profile=True)`` on a real run: every model-side stage measured,
nothing recorded when off, the table on stderr and the JSON on stdout unchanged."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from batch_helpers import make_model

from scenedet import profiling
from scenedet.cli import cli
from scenedet.inference.pipeline import run_scene
from scenedet.media.encode import FilmWriter

#: The stages the models' side of a run times (demux/decode/convert are the decoder's).
MODEL_STAGES = ("extract", "preprocess", "h2d", "backbone:resnet18", "backbone:vggish", "head",
                "segment", "wait")


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    path = tmp_path_factory.mktemp("profile") / "film.mp4"
    rng = np.random.default_rng(0)
    with FilmWriter(path, width=160, height=96, fps=8, gop=8) as w:
        for i in range(8 * 4):
            w.write_frame(rng.integers(0, 256, (96, 160, 3), dtype=np.uint8))
            if i % 8 == 7:
                w.write_audio((0.2 * np.sin(np.arange(48_000) / 48_000 * 2e3)).astype(np.float32))
    return path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("profile-model") / "m.pt")


@pytest.fixture(autouse=True)
def _profile_off():
    profiling.enable(False)
    yield
    profiling.enable(False)


@pytest.mark.slow
def test_a_profiled_run_times_every_model_stage(film, model_file):
    plain = run_scene(film, scene="kissing", model=model_file, batch_size=2, progress=False)
    assert plain.profile is None
    assert profiling.PROFILE.stages() == []  # off by default: nothing recorded

    result = run_scene(film, scene="kissing", model=model_file, batch_size=2, progress=False,
                       profile=True)
    stages = result.profile["stages"]
    for name in MODEL_STAGES:  # every stage ran and was timed (a CPU "copy" may take ~0 s)
        assert stages[name]["calls"] >= 1 and stages[name]["seconds"] >= 0, name
    for name in ("extract", "preprocess", "backbone:resnet18", "backbone:vggish"):
        assert stages[name]["seconds"] > 0, name  # real work, always measurable
    assert stages["extract"]["calls"] == stages["preprocess"]["calls"] == 4  # one per second
    assert stages["backbone:resnet18"]["calls"] == stages["head"]["calls"] == 2  # per batch
    assert result.profile["wall_s"] > 0
    assert not profiling.PROFILE.enabled  # switched back off after the run
    assert result.to_dict() == plain.to_dict()  # the same result, and the same JSON


@pytest.mark.slow
def test_the_profile_flag_prints_to_stderr_and_leaves_stdout_alone(film, model_file, monkeypatch):
    args = ["run", "-p", "kissing", str(film), "-m", str(model_file), "-q", "--batch-size", "2"]
    plain = CliRunner().invoke(cli, args)
    profiled = CliRunner().invoke(cli, args + ["--profile"])
    assert plain.exit_code == profiled.exit_code == 0, profiled.output
    assert profiled.stdout == plain.stdout
    assert json.loads(profiled.stdout)["segments"] == json.loads(plain.stdout)["segments"]
    assert "profile:" not in plain.stderr
    table = profiled.stderr
    assert table.startswith("profile: ")
    for name in MODEL_STAGES:
        assert f"  {name} " in table, name
    # SCENEDET_PROFILE=1 (read when the process starts) switches the same profile on
    monkeypatch.setattr(profiling.PROFILE, "enabled", True)
    by_env = CliRunner().invoke(cli, args)
    assert by_env.exit_code == 0 and by_env.stdout == plain.stdout
    assert "  backbone:resnet18 " in by_env.stderr


def test_features_profile_prints_the_table_after_the_summary(film, tmp_path):
    out = CliRunner().invoke(cli, ["features", "-e", "audio-logmel", str(film), "-o",
                                   str(tmp_path / "x.npy"), "-q", "--profile"])
    assert out.exit_code == 0, out.output
    assert out.stdout == "" and out.stderr.startswith("profile: ")
    assert np.load(tmp_path / "x.npy").shape == (4, 96, 64)
