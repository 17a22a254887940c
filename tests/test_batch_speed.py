"""``scenedet batch`` with ``run``'s per-film speed options: ``--precision``, ``--speedup``,
``--gpu-preprocess`` and ``--profile`` reach each film's scoring, from worker processes too;
precision and speed-up count for resuming, the others do not."""

from __future__ import annotations

import json
import pickle
from fractions import Fraction

import numpy as np
import pytest
from batch_helpers import GOOD, batch_cli, lib, model, reference, result_files  # noqa: F401  (lib, model, reference: fixtures)
from films import cfr_times, click, write_film

from scenedet.batch import (BatchSettings, LocalExecutor, plan_batch, prepare_settings,
                            read_summary, run_batch)
from scenedet.batch.profiles import profile_report, sum_profiles
from scenedet.batch.state import iter_summary
from scenedet.errors import UsageError


# ------------------------------------------------------------------ checked before any film


def test_speed_settings_are_checked_by_the_kind_of_device(model):
    from scenedet.runtime.backends import native_bf16

    auto = prepare_settings("kissing", model=model, precision="auto")
    if native_bf16():  # bf16 guarded on this cpu: another precision than fp32
        assert auto.precision == "auto" and auto.key()["precision"] == "auto"
    else:  # auto on a cpu without bf16 is fp32
        assert auto.precision == "fp32" and "precision" not in auto.key()
    cpu = prepare_settings("kissing", model=model)
    assert pickle.loads(pickle.dumps(cpu)) == cpu  # travels to worker processes and Ray actors
    # the kind of device only: a Ray driver without a GPU may drive GPU actors
    gpu = prepare_settings("kissing", model=model, device="cuda:1", precision="AUTO")
    assert gpu.precision == "auto" and gpu.key()["precision"] == "auto"
    int8 = prepare_settings("kissing", model=model, speedup="int8", device_preprocess=True,
                            profile=True)
    assert int8.key()["speedup"] == "int8" and "precision" not in int8.key()
    assert {k: v for k, v in int8.key().items() if k != "speedup"} == cpu.key()
    for kwargs, message in [({"precision": "fp16"}, "precision fp16 needs a CUDA device"),
                            ({"precision": "fp8"}, "unknown precision 'fp8'"),
                            ({"speedup": "int8", "device": "cuda"}, "int8 speed-up runs on the cpu"),
                            ({"speedup": "compile", "device": "cuda", "precision": "fp16"},
                             "compile speed-up runs in fp32"),
                            ({"device": "tpu"}, "unknown device 'tpu'")]:
        with pytest.raises(UsageError, match=message):
            prepare_settings("kissing", model=model, **kwargs)


def test_a_cli_mistake_is_one_line_and_exit_2(lib, model, tmp_path):
    out = batch_cli(lib / "good", "-o", tmp_path / "out", "-m", model, "--precision", "fp16")
    assert out.exit_code == 2 and "precision fp16 needs a CUDA device" in out.output
    assert "Traceback" not in out.output and not (tmp_path / "out").exists()
    out = batch_cli(lib / "good", "-o", tmp_path / "out", "-m", model, "--speedup", "int4")
    assert out.exit_code == 2 and "'int4' is not one of" in out.output


def test_profiles_are_summed_stage_by_stage():
    films = [{"wall_s": 2.0, "stages": {"decode": {"seconds": 1.0, "calls": 3},
                                        "head": {"seconds": 0.5, "calls": 1}}},
             None,
             {"wall_s": 3.0, "stages": {"decode": {"seconds": 2.0, "calls": 2},
                                        "segment": {"seconds": 0.25, "calls": 1}}}]
    summed = sum_profiles(films)
    assert summed == {"films": 2, "wall_s": 5.0,
                      "stages": {"decode": {"seconds": 3.0, "calls": 5, "share": 0.6},
                                 "head": {"seconds": 0.5, "calls": 1, "share": 0.1},
                                 "segment": {"seconds": 0.25, "calls": 1, "share": 0.05}}}
    table = profile_report(summed).splitlines()
    assert table[0].startswith("profile: 2 film(s), 5.00 s of film wall time summed")
    assert table[2].split() == ["decode", "3.000", "5", "60.0%"]
    assert sum_profiles([None, {}]) is None


# ------------------------------------------------------------------ real films


@pytest.mark.slow  # scores real films, in two worker processes
def test_profile_comes_back_from_each_worker_and_is_summed(lib, model, reference, tmp_path):
    out = tmp_path / "out"
    run = batch_cli(lib / "good", "-o", out, "-m", model, "--jobs", "2", "--profile",
                 "--gpu-preprocess")
    assert run.exit_code == 0, run.output
    got, want = result_files(out), result_files(reference)
    assert got.keys() == want.keys()
    moved = []
    for name in got:  # device preprocessing moves scores by float rounding only
        a, b = json.loads(got[name]), json.loads(want[name])
        moved.append(a["scores"] != b["scores"])
        np.testing.assert_allclose(a.pop("scores"), b.pop("scores"), atol=2e-3)
        assert [(g["start"], g["end"]) for g in a.pop("segments")] == \
            [(g["start"], g["end"]) for g in b.pop("segments")]
        assert a == b  # the settings recorded are the same: neither option changes the key
    assert any(moved)  # --gpu-preprocess reached the workers (and the profiles below say so)
    records = list(iter_summary(out / "summary.jsonl"))
    assert len(records) == len(GOOD)
    for r in records:  # each film's own profile, measured in the worker that scored it
        stages = r["profile"]["stages"]
        assert {"decode", "backbone:resnet18", "backbone:vggish", "head", "segment"} <= set(stages)
        # per second on the decoding thread, plus once per batch on the device (one batch a film)
        assert stages["preprocess"]["calls"] == r["seconds"] + 1
        assert 0 < stages["backbone:resnet18"]["seconds"] <= r["profile"]["wall_s"]  # one thread
        assert stages["segment"]["calls"] == 1
    table = run.output[run.output.index("profile: "):].splitlines()
    assert table[0].startswith(f"profile: {len(GOOD)} film(s), ")
    rows = {line.split()[0]: line.split() for line in table[2:]}
    want = sum(r["profile"]["stages"]["segment"]["calls"] for r in records)
    assert rows["segment"][2] == str(want) == str(len(GOOD))
    # without --profile no line carries one (and the parent's profile is left as it was)
    again = batch_cli(lib / "good", "-o", tmp_path / "plain", "-m", model, "-q")
    assert again.exit_code == 0, again.output
    assert all("profile" not in r for r in iter_summary(tmp_path / "plain" / "summary.jsonl"))
    assert "profile: " not in again.output


@pytest.mark.slow  # reads the reference's results
def test_resuming_with_another_precision_or_speedup_says_so(lib, model, reference, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(reference, out)
    same = batch_cli(lib / "good", "-o", out, "-m", model, "--precision", "fp32", "--profile")
    assert same.exit_code == 0, same.output  # fp32 is the default: nothing to redo
    assert "0 done, 3 already done" in same.output and "other settings" not in same.output
    assert "profile: " not in same.output  # no film was scored, so no profile
    dry = batch_cli(lib / "good", "-o", out, "-m", model, "--speedup", "int8", "-n")
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("(settings changed)") == len(GOOD)
    assert (f"{len(GOOD)} finished film(s) were scored with other settings (speedup): they will "
            f"be scored again") in dry.output
    both = batch_cli(lib / "good", "-o", out, "-m", model, "--speedup", "int8", "-l", "3", "-n")
    assert "other settings (min_length, speedup)" in both.output
    quiet = batch_cli(lib / "good", "-o", out, "-m", model, "--speedup", "int8", "-n", "-q")
    assert "other settings" not in quiet.output


@pytest.mark.slow  # scores a 52-second film twice
def test_int8_reaches_each_film_and_stays_within_the_documented_drift(model, tmp_path):
    from scenedet.inference.pipeline import run_scene
    from scenedet.inference.speedups import CALIBRATION_SECONDS

    seconds = CALIBRATION_SECONDS + 4  # int8 after the calibration seconds
    film = tmp_path / "long.mp4"
    write_film(film, cfr_times(4 * seconds, Fraction(4)), fps=Fraction(4), gop=4,
               audio=click(seconds, at=20.5))
    out = tmp_path / "out"
    run = batch_cli(film, "-o", out, "-m", model, "--speedup", "int8", "-q")
    assert run.exit_code == 0, run.output
    data = json.loads(next(iter(result_files(out).values())))
    assert data["settings"]["speedup"] == "int8" and data["batch"]["settings"]["speedup"] == "int8"
    assert read_summary(out / "summary.jsonl")[str(film)]["status"] == "done"
    fp32 = run_scene(film, scene="kissing", model=model, threads=1, progress=False).scores
    int8 = np.asarray(data["scores"])
    assert len(int8) == len(fp32) == seconds
    # calibration seconds are scored in float32; the rest within the drift docs/performance.md
    # reports (up to 0.2), and not exactly float32's (the int8 path did run)
    np.testing.assert_allclose(int8[:CALIBRATION_SECONDS], fp32[:CALIBRATION_SECONDS], atol=1e-5)
    tail = np.abs(int8[CALIBRATION_SECONDS:] - fp32[CALIBRATION_SECONDS:])
    assert 0 < tail.max() <= 0.2


def test_the_local_executor_passes_the_settings_to_its_runner(model, lib, tmp_path, monkeypatch):
    """What a worker is given is the whole BatchSettings: the speed settings included."""
    from scenedet.batch import jobs

    seen = []

    class Runner:
        def __init__(self, settings, threads=None):
            seen.append(settings)

        def run(self, job):
            return jobs.FilmOutcome(name=job.name, path=job.path, film_hash=job.film_hash,
                                    status="failed", error="stand-in",
                                    profile={"wall_s": 1.0, "stages": {}})

    monkeypatch.setattr("scenedet.batch.local.FilmRunner", Runner)
    settings = prepare_settings("kissing", model=model, speedup="int8", profile=True,
                                device_preprocess=True)
    report = run_batch(plan_batch([str(lib / "good" / "c.mkv")], tmp_path / "o", settings),
                       LocalExecutor(settings, jobs=1))
    assert seen == [settings] and isinstance(seen[0], BatchSettings)
    assert report.profile == {"films": 1, "wall_s": 1.0, "stages": {}}
    line = read_summary(tmp_path / "o" / "summary.jsonl")[str(lib / "good" / "c.mkv")]
    assert line["profile"] == {"wall_s": 1.0, "stages": {}}
