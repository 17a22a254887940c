"""The Ray executor on a local Ray with 2 CPUs: the same results as local workers, failures
recorded, resume rules kept (the driver writes). Skipped only when Ray cannot be imported."""

from __future__ import annotations

import os

import pytest
from batch_helpers import GOOD, lib, model, result_files  # noqa: F401  (lib, model: fixtures)
from click.testing import CliRunner

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'scenedet[ray]')")

from scenedet.batch import (BatchOutputs, LocalExecutor, RayExecutor, plan_batch,  # noqa: E402
                            prepare_settings, read_summary, run_batch)
from scenedet.batch.state import iter_summary  # noqa: E402
from scenedet.cli import cli  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_actors_give_the_local_results_and_record_failures(lib, model, tmp_path, local_ray):
    settings = prepare_settings("kissing", model=model)
    library = [str(lib / "good"), str(lib / "bad.mp4")]
    outputs = BatchOutputs(formats=(".csv", ".vtt"))  # written by the driver, not the actors

    local_out = tmp_path / "local"
    report = run_batch(plan_batch(library, local_out, settings, outputs=outputs),
                       LocalExecutor(settings, jobs=1, threads=1))
    assert report.done == len(GOOD) and len(report.failed) == 1

    ray_out = tmp_path / "ray"
    executor = RayExecutor(settings, jobs=2, threads=1)
    assert "2 Ray actor(s) x 1 CPU(s)" in executor.describe()
    report = run_batch(plan_batch(library, ray_out, settings, outputs=outputs), executor)
    assert report.done == len(GOOD) and [f.path for f in report.failed] == [str(lib / "bad.mp4")]
    assert "cannot decode" in report.failed[0].error
    assert result_files(ray_out) == result_files(local_out)  # byte for byte
    for suffix in (".csv", ".vtt"):
        made = {p.name: p.read_bytes() for p in ray_out.glob(f"*{suffix}")}
        assert len(made) == len(GOOD)
        assert made == {p.name: p.read_bytes() for p in local_out.glob(f"*{suffix}")}
    assert read_summary(ray_out / "summary.jsonl")[str(lib / "bad.mp4")]["status"] == "failed"

    # resume on Ray through the CLI: the done films are skipped, the failed one retried
    plan = plan_batch(library, ray_out, settings, outputs=outputs)
    assert len(plan.done) == len(GOOD) and [f.film.path.name for f in plan.todo] == ["bad.mp4"]
    again = CliRunner().invoke(cli, ["batch", "-p", "kissing", *library, "-o", str(ray_out),
                                     "-m", str(model), "--executor", "ray", "--jobs", "2",
                                     "--format", ".csv", "--format", ".vtt"])
    assert again.exit_code == 1, again.output
    assert "0 done, 3 already done, 1 failed" in again.output and "Ray actor" in again.output
    paths = [r["path"] for r in iter_summary(ray_out / "summary.jsonl")]
    assert all(paths.count(str(lib / "good" / rel)) == 1 for rel in GOOD)
    assert ray.is_initialized()  # a Ray the caller started is left running


def test_a_bad_model_stops_the_ray_batch_with_one_line(lib, model, tmp_path, local_ray):
    from scenedet.errors import UsageError

    settings = prepare_settings("kissing", model=model,
                                weights={"resnet18": str(tmp_path / "missing.pth")})
    with pytest.raises(UsageError) as info:
        run_batch(plan_batch([str(lib / "good")], tmp_path / "out", settings),
                  RayExecutor(settings, jobs=1))
    assert "\n" not in str(info.value) and "missing.pth" in str(info.value)
    assert not result_files(tmp_path / "out")


def test_gpu_share_per_actor_is_validated_and_described():
    from scenedet.batch import BatchSettings
    from scenedet.errors import UsageError

    from scenedet.engine import RunSettings

    settings = BatchSettings(plugins=("kissing",), run=RunSettings(model="m.pt", device="cuda:1"),
                             model_hash="h")
    executor = RayExecutor(settings, gpus_per_actor=0.25)
    assert executor.settings.device == "cuda"  # Ray shows each actor its own GPU as cuda:0
    assert "2 CPU(s) + 0.25 GPU" in executor.describe()
    with pytest.raises(UsageError, match=r"in \(0, 1\]"):
        RayExecutor(settings, gpus_per_actor=1.5)


def test_speed_settings_and_profiles_travel_to_and_from_ray_actors(lib, model, tmp_path, local_ray):
    settings = prepare_settings("kissing", model=model, precision="auto", device_preprocess=True,
                                profile=True)
    out = tmp_path / "ray"
    report = run_batch(plan_batch([str(lib / "good")], out, settings),
                       RayExecutor(settings, jobs=2, threads=1))
    assert report.done == len(GOOD) and report.ok
    lines = [r for r in iter_summary(out / "summary.jsonl")]
    assert len(lines) == len(GOOD)
    for r in lines:  # measured in the actor, sent back with the outcome
        stages = r["profile"]["stages"]
        assert {"backbone:resnet18", "segment"} <= set(stages)
        # per second on the decoding thread, plus once per batch on the device (one batch a film)
        assert stages["preprocess"]["calls"] == r["seconds"] + 1
    assert report.profile["films"] == len(GOOD)
    assert report.profile["stages"]["segment"]["calls"] == len(GOOD)
