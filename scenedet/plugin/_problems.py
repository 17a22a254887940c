"""What went wrong with a plugin, in one line, with the plugin's own ``file:line`` where there is one.

A plugin author reading ``scenedet plugins`` needs the line of *their* code: not the line in
importlib, attrs or the host that noticed. :func:`where` walks a traceback for it.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import attr
import attrs
import pluggy

from scenedet.errors import one_line

#: problem kinds, in the words ``scenedet plugins`` uses (docs/plugin-host.md lists them)
KINDS = ("disabled", "name-taken", "import", "bad-hook", "unknown-hook", "unmarked-hook",
         "hook-raised", "refused", "clash", "command-raised", "command-clash", "command-refused",
         "unusable")

def _folder(module: Any) -> str:
    return os.path.dirname(os.path.abspath(module.__file__)) + os.sep


#: code that reports a plugin's mistake rather than makes it: never the ``file:line`` shown
_HOST_SIDE = (_folder(attr), _folder(attrs), _folder(pluggy), _folder(importlib.util),
              os.path.dirname(_folder(sys.modules[__name__]).rstrip(os.sep)) + os.sep,  # scenedet/
              "<frozen ", "<attrs generated")


@attrs.define
class Problem:
    """One thing wrong with one plugin. ``fatal``: the plugin contributes nothing at all."""

    kind: str
    message: str
    where: str = ""
    traceback: str = ""
    fatal: bool = False

    def line(self) -> str:
        return self.message + (f" ({self.where})" if self.where else "")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "where": self.where, "fatal": self.fatal}


def describe(exc: BaseException) -> str:
    """``"ZeroDivisionError: division by zero"`` as one line (a SyntaxError without its caret)."""
    if isinstance(exc, SyntaxError):
        return one_line(f"SyntaxError: {exc.msg}")
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def format_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def plugin_roots(obj: Any = None, module_name: str | None = None) -> tuple[str, ...]:
    """Files or folders holding a plugin's code: its module, or the package around it.

    Found from the loaded object, or from the module name without importing it (a module that
    failed to import has no object to ask).
    """
    roots: list[str] = []
    module = obj if inspect.ismodule(obj) else inspect.getmodule(type(obj)) if obj is not None else None
    if module is not None and getattr(module, "__file__", None):
        roots.append(module.__file__)
    if module_name:
        top = module_name.split(":")[0].strip().split(".")[0]
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            roots.extend(os.path.join(p, "") for p in spec.submodule_search_locations)
        elif spec is not None and spec.origin:
            roots.append(spec.origin)
    if module is not None and getattr(module, "__path__", None):
        roots.extend(os.path.join(p, "") for p in module.__path__)
    return tuple(os.path.abspath(r) + (os.sep if r.endswith(os.sep) else "") for r in roots)


def _frames(tb: TracebackType | None) -> list[tuple[str, int]]:
    return [(frame.filename, frame.lineno or 0) for frame in traceback.extract_tb(tb)]


def where(exc: BaseException, roots: Iterable[str] = ()) -> str:
    """``file:line`` of the plugin code behind ``exc``: the deepest frame in ``roots``, else the
    deepest frame outside the host, attrs and importlib, else the file of a ``SyntaxError``."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}" if exc.lineno else exc.filename
    frames = _frames(exc.__traceback__)
    roots = tuple(roots)
    for pick in (lambda f: any(f == r or (r.endswith(os.sep) and f.startswith(r)) for r in roots),
                 lambda f: not f.startswith(_HOST_SIDE)):
        for filename, lineno in reversed(frames):
            if pick(os.path.abspath(filename) if not filename.startswith("<") else filename):
                return f"{filename}:{lineno}"
    return ""


def source_of(function: Any) -> str:
    """``file:line`` where ``function`` is defined, or ``""``."""
    try:
        code = inspect.unwrap(function).__code__
    except (TypeError, AttributeError, ValueError):
        return ""
    return f"{code.co_filename}:{code.co_firstlineno}"


def caller(depth: int = 2) -> str:
    """``file:line`` of the code that called the function calling this."""
    try:
        frame = sys._getframe(depth)
    except ValueError:
        return ""
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"
