"""Shared test set-up: Hypothesis profiles and isolation from the user's caches."""

from __future__ import annotations

import os

import pytest
from films import media_films  # noqa: F401  (one session-wide library of test films)
from hypothesis import HealthCheck, settings

# CI runs every property with at least 500 examples; locally the default keeps runs quick.
settings.register_profile("ci", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _only_the_projects_plugins(monkeypatch):
    """The suite sees the core and the reference set only, whatever else is installed (and
    subprocesses inherit this): a third-party plugin cannot change what the tests see."""
    monkeypatch.setenv("SCENEDET_PLUGINS", "scenedet,scenedet-kissing")
    for name in ("SCENEDET_LOAD_PLUGINS", "SCENEDET_DISABLE_PLUGINS", "SCENEDET_STRICT", "SCENEDET_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def reference_detectors(monkeypatch):
    """The project's own detectors too (``shots``, ``cues``...), for a module that runs them:
    ``pytestmark = pytest.mark.usefixtures("reference_detectors")``."""
    from scenedet.plugin._host import reset_host

    from plugin_helpers import WITH_DETECTORS

    monkeypatch.setenv("SCENEDET_PLUGINS", WITH_DETECTORS)
    reset_host(None)
    yield
    reset_host(None)


@pytest.fixture(autouse=True)
def _isolated_homes(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's model/weight caches, and nothing is downloaded."""
    home = tmp_path_factory.mktemp("scenedet-home")
    monkeypatch.setenv("SCENEDET_HOME", str(home / "scenedet"))
    monkeypatch.setenv("TORCH_HOME", str(home / "torch"))
    monkeypatch.setenv("SCENEDET_OFFLINE", "1")
    try:  # huggingface_hub reads HF_HOME once at import: patch the resolved cache (timm's hub)
        import huggingface_hub.constants
    except ImportError:
        return
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(home / "hf"))


@pytest.fixture(scope="session")
def _session_feature_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture
def shared_feature_cache(_session_feature_cache):
    """One feature cache for the whole session, so films are decoded and embedded once.

    The test keeps its own ``SCENEDET_HOME`` (installed models stay private to it) whose
    ``features/`` is the session's cache. Features are keyed by film content and backbone
    weights, so tests sharing it cannot see each other's mistakes, only skip repeated work.
    """
    from scenedet.paths import feature_cache_dir

    link = feature_cache_dir()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(_session_feature_cache, target_is_directory=True)
    return _session_feature_cache


# -- the result model: every result document a test writes follows docs/result.schema.json -------
@pytest.fixture(autouse=True)
def _written_results_follow_the_schema(monkeypatch):
    """Wraps :func:`scenedet.files.write_text` (every JSON result goes through it: run, segment,
    export, batch) and fails the test when a result or run document it wrote is invalid."""
    import scenedet.files
    from result_schema import checked_writer

    failures: list[str] = []
    monkeypatch.setattr(scenedet.files, "write_text", checked_writer(scenedet.files.write_text,
                                                                     failures))
    yield
    if failures:
        pytest.fail("result documents not valid against docs/result.schema.json:\n"
                    + "\n".join(failures[:20]), pytrace=False)


@pytest.fixture(scope="module")
def shot_film(tmp_path_factory):
    """``(plan, path)``: 8 generated shots of 1.5-3 s, 160x90 at 25 fps, cuts known."""
    from scenedet.synth.shots import plan_shot_film, render_shot_film

    plan = plan_shot_film(0, 3, shots=8, fps=25, width=160, height=90, min_shot=1.5, max_shot=3)
    path = tmp_path_factory.mktemp("shots") / plan.file
    render_shot_film(plan, path)
    return plan, path
