"""This plugin's tests see the core, the reference set, cues (to share a decode with) and this
plugin (tests/conftest.py keeps the main suite to the first two); the host is rebuilt around
each test so nothing leaks either way."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _with_this_plugin(monkeypatch, tmp_path):
    from scenedet.plugin._host import reset_host

    monkeypatch.setenv("SCENEDET_PLUGINS",
                       "scenedet,scenedet-kissing,scenedet-cues,scenedet-speech")
    monkeypatch.setenv("SCENEDET_OFFLINE", "1")
    monkeypatch.setenv("SCENEDET_HOME", str(tmp_path / "scenedet"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    reset_host(None)
    yield
    reset_host(None)
