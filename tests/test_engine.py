"""The one engine: settings checked when made, the plan checked before any decode, one call for
any mix of plugins, an engine reused film after film, profiling for every plugin kind."""

from __future__ import annotations

import pytest
from batch_helpers import make_model
from films import media_films  # noqa: F401

import scenedet
from scenedet.engine import Engine, RunSettings, make_settings
from scenedet.engine.plan import plan_run
from scenedet.errors import SettingError, UsageError


pytestmark = pytest.mark.usefixtures("reference_detectors")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("engine") / "kissing.pt")


@pytest.mark.parametrize("changes, setting, words", [
    ({"threshold": 1.5}, "threshold", "threshold must be in (0, 1]"),
    ({"min_length": 2.5}, "min_length", "whole number of seconds"),
    ({"label_threshold": 2}, "label_threshold", "label_threshold"),
    ({"batch_size": 0}, "batch_size", "batch size must be at least 1, got 0"),
    ({"decode_workers": 0}, "decode_workers", "decode workers must be at least 1"),
    ({"precision": "fp8"}, "precision", "unknown precision 'fp8'"),
    ({"speedup": "fast"}, "speedup", "unknown speed-up 'fast'"),
    ({"start": -1}, "start", "start must be a time >= 0"),
    ({"start": 5, "end": 2}, "end", "end (2 s) must be after start (5 s)"),
    ({"snap_tolerance": -1}, "snap_tolerance", "snap tolerance must be a time >= 0"),
    ({"speedup": "int8", "precision": "fp16"}, "speedup", "cannot be combined"),
])
def test_each_setting_is_checked_when_made_and_names_itself(changes, setting, words):
    with pytest.raises(SettingError) as bad:
        RunSettings(**changes)
    assert bad.value.setting == setting and words in str(bad.value)
    assert "--" not in str(bad.value)  # the library names no command-line flag


def test_an_unknown_setting_says_the_closest():
    with pytest.raises(UsageError, match="unknown run setting 'treshold' \\(did you mean "
                                         "'threshold'\\?\\)"):
        make_settings(treshold=0.5)


@pytest.mark.parametrize("plugins, changes, words", [
    (["shots-content"], {"min_length": 5}, "min_length applies to per-second scenes, and this "
                                           "run has none (shots-content is a frame-level detector)"),
    (["shots-content", "black"], {"threshold": 0.5, "model": "m.pt"},
     "model, threshold apply to per-second scenes"),
    (["shots-content"], {"snap_to": "shots"}, "snap_to applies to per-second scenes"),
    (["shots-content"], {"options": {"black": {"threshold": 1}}},
     "options for 'black', which this run does not run (it runs shots-content)"),
    (["shots-content", "content"], {}, "'content' is named twice (as 'shots-content' too)"),
    (["shot"], {}, "unknown plugin 'shot'; did you mean 'shots'?"),
    (["shots-content"], {"options": {"shots-content": {"treshold": 1}}},
     "did you mean 'threshold'?"),
])
def test_the_plan_refuses_what_no_plugin_would_use_before_anything_is_opened(plugins, changes,
                                                                               words):
    with pytest.raises(UsageError) as bad:
        plan_run(plugins, RunSettings(**changes))
    assert words in str(bad.value) and "\n" not in str(bad.value)


def test_options_reach_a_detector_under_its_alias_and_as_declared_types():
    plan = plan_run(["content"], RunSettings(options={"shots-content": {"threshold": "2.5"}}))
    (detector,) = plan.detectors
    assert detector.name == "content" and detector.options["threshold"] == 2.5


def test_an_engine_loads_its_models_once_and_runs_film_after_film(model, media_films,  # noqa: F811
                                                                  monkeypatch):
    import scenedet.inference.pipeline as pipeline

    loads = []
    real = pipeline.load_model_file
    monkeypatch.setattr(pipeline, "load_model_file", lambda p: loads.append(p) or real(p))
    engine = Engine(["kissing", "shots-content"], model=model, progress=False)
    first = engine.run(media_films.get("cfr24").path)
    second = engine.run(media_films.get("gop3s").path)
    assert len(loads) == 1
    assert first.names == second.names == ["kissing", "shots-content"]
    assert first.video != second.video
    assert len(first["kissing"].scores) == 5


def test_a_profile_covers_every_plugin_kind(model, media_films):  # noqa: F811
    film = media_films.get("cfr24").path
    detectors = scenedet.run(film, ["shots-content"], profile=True, progress=False).profile
    assert detectors["stages"]["detector:shots-content"]["calls"] >= 1
    both = scenedet.run(film, ["kissing", "shots-content", "black"], model=model, profile=True,
                        progress=False).profile
    assert {"detector:shots-content", "detector:black", "segment", "backbone:resnet18"} <= set(
        both["stages"])
    assert scenedet.run(film, ["shots-content"], progress=False).profile is None


def test_a_missing_film_is_said_before_any_model_loads(model, monkeypatch, tmp_path):
    import scenedet.inference.pipeline as pipeline

    monkeypatch.setattr(pipeline, "load_model_file", lambda p: pytest.fail("loaded a model"))
    with pytest.raises(scenedet.MediaError, match="not found"):
        scenedet.run(tmp_path / "nope.mp4", ["kissing"], model=model)
