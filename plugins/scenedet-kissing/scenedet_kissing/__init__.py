"""scenedet's reference plugin set, written exactly as a third-party plugin would be.

Each module is a plugin of its own (see the ``scenedet`` entry points in pyproject.toml). None
imports torch at import time: listing plugins stays fast and a missing dependency breaks only the
component that needs it.
"""

__version__ = "0.1.0"
