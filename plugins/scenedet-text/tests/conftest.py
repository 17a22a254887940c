"""This plugin's tests see the core, the cues plugin (the cloud cue set builds its black and
colour-bar detectors by name) and this plugin; the host is rebuilt around each test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _with_this_plugin(monkeypatch, tmp_path):
    from scenedet.plugin._host import reset_host

    monkeypatch.setenv("SCENEDET_PLUGINS", "scenedet,scenedet-kissing,scenedet-cues,scenedet-text")
    monkeypatch.setenv("SCENEDET_OFFLINE", "1")
    monkeypatch.setenv("SCENEDET_HOME", str(tmp_path / "scenedet"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    reset_host(None)
    yield
    reset_host(None)
