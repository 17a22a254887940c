"""Review and label in the browser: ``scenedet review`` and ``scenedet suggest`` as a library.

* :func:`open_review` gathers a film or a folder, its results and the annotations file into a
  :class:`ReviewSession` (everything the page can see or change, callable without a browser);
* :class:`ReviewServer` serves a session on ``127.0.0.1`` on a free port, behind a token
  (:mod:`.security`), in a thread: ``with ReviewServer(session) as server: print(server.url)``;
* :func:`suggest` ranks the stretches of a library where a model is least sure
  (:mod:`.suggest`), for a review to walk in that order.

See ``docs/review.md``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AUTOSAVE_SECONDS", "ReviewServer", "ReviewSession", "StaleVersion", "open_review",
           "suggest", "load_suggestions", "save_suggestions"]

_WHERE = {"AUTOSAVE_SECONDS": "session", "ReviewSession": "session", "open_review": "session",
          "ReviewServer": "runner", "StaleVersion": "store", "suggest": "suggest",
          "load_suggestions": "suggest", "save_suggestions": "suggest"}


def __getattr__(name: str) -> Any:
    """Lazily: the server library and the models load only when used."""
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"scenedet.review.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'scenedet.review' has no attribute {name!r}")
