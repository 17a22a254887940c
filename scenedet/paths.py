"""Where scenedet keeps its own files: installed models and the feature cache.

``$SCENEDET_HOME`` (default ``$XDG_DATA_HOME/scenedet``, i.e. ``~/.local/share/scenedet``) holds ``models/SCENE.pt`` (what
``scenedet run`` uses when no model is given) and ``features/`` (the feature cache).
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "SCENEDET_HOME"


def scenedet_home() -> Path:
    """``$SCENEDET_HOME``, or ``$XDG_DATA_HOME/scenedet`` when it is unset or empty."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "scenedet"


def default_model_path(scene: str) -> Path:
    """Where a run of ``scene`` looks for a model when none is given: ``HOME/models/SCENE.pt``."""
    return scenedet_home() / "models" / f"{scene}.pt"


def feature_cache_dir() -> Path:
    """The feature cache's folder: ``HOME/features``."""
    return scenedet_home() / "features"
