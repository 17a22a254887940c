"""Test isolation for the reference plugins: no user cache is read or written, nothing downloaded."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _offline_homes(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("SCENEDET_HOME", str(tmp_path / "scenedet"))
    monkeypatch.setenv("SCENEDET_OFFLINE", "1")
    # huggingface_hub reads HF_HOME once at import: patch the resolved cache path (timm's hub)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
