"""The one run engine: ``run(film, plugins, **settings) -> RunResult`` for any mix of per-second
scenes and frame-level detectors (see :mod:`scenedet.engine.engine`).

``settings.py`` the typed, checked settings; ``plan.py`` which plugins, of which kind, checked;
``passes.py`` the decodes; ``guard.py`` plugin code's failures as one line; ``result.py`` the
result of a run; ``engine.py`` the engine itself.
"""

from __future__ import annotations

from scenedet.engine.engine import Engine, run
from scenedet.engine.result import RunResult
from scenedet.engine.settings import RunSettings, make_settings

__all__ = ["Engine", "RunResult", "RunSettings", "make_settings", "run"]
