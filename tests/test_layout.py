"""The layout that shows the architecture (docs/architecture.md, "The layout"), kept by tests.

* every module imports on its own, first, in an interpreter that has imported nothing of scenedet
  (an import cycle shows up as a partially initialised module);
* ``scenedet/values.py`` is the bottom layer, and the plugin specs stand on it, not on segmentation;
* click is the command line's: only ``scenedet/cli/`` imports it (and ``plugin/_commands.py``,
  which adds plugins' commands to the group, the host's job); nothing but ``__main__`` imports
  ``scenedet.cli``;
* the plugin registries and the host are read through their public modules
  (``scenedet.plugin.registry``, ``scenedet.plugin.host``, ``scenedet.plugin``): nothing outside
  ``scenedet/plugin/`` imports the underscored ``scenedet.plugin._*`` (tests may);
* no function is longer than 80 lines: a longer one is split into named steps that read as the
  algorithm.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scenedet"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> list[str]:
    """Every module of the package; ``__main__`` runs the command line when imported."""
    return sorted(_module_name(p) for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def _files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, name)`` of every import in the file, at its top or inside a function; ``from X
    import a`` gives ``X.a`` (``a`` may be a module)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def _python(code: str, *args: str) -> str:
    """What ``code`` prints, run by a fresh interpreter with ``args``."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


# Each module is imported by a child forked from an interpreter that has imported only the
# third-party libraries scenedet's modules import at their top (torch once, not once per module):
# the child starts with no scenedet module loaded, as a fresh interpreter does. Where there is
# no fork, each module gets a fresh interpreter of its own.
_EACH_ALONE = r"""
import ast, importlib, json, os, pathlib, subprocess, sys, traceback

names = json.loads(sys.argv[1])
root = pathlib.Path(sys.argv[2])
failures = {}
if not hasattr(os, "fork"):
    for name in names:
        done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True,
                              text=True, cwd=root)
        if done.returncode:
            failures[name] = done.stderr
    print(json.dumps(failures))
    raise SystemExit(0)
for path in (root / "scenedet").rglob("*.py"):
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        tops = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
        for top in tops:
            if top and top.split(".")[0] not in ("scenedet", "__future__"):
                try:
                    importlib.import_module(top)
                except Exception:
                    pass  # the child reports it, if it matters
assert not [m for m in sys.modules if m == "scenedet" or m.startswith("scenedet.")]
for name in names:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 0
        try:
            importlib.import_module(name)
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        text = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status:
        failures[name] = text or f"exit status {status}"
print(json.dumps(failures))
"""


def test_every_module_imports_alone_first_so_there_is_no_import_cycle():
    names = _modules()
    assert "scenedet.values" in names and "scenedet.plugin.specs" in names
    out = _python(_EACH_ALONE, json.dumps(names), str(ROOT))
    failures = json.loads(out.strip().splitlines()[-1])
    assert not failures, "\n\n".join(f"import {name} (alone, first):\n{text}"
                                     for name, text in failures.items())


def _loaded_after(module: str) -> list[str]:
    code = (f"import sys, {module}; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('scenedet'))))")
    return _python(code).split()


def test_the_plugin_specs_do_not_import_segmentation():
    loaded = _loaded_after("scenedet.plugin.specs")
    assert "scenedet.values" in loaded
    assert not [m for m in loaded if m.startswith("scenedet.segmentation")], loaded


def test_the_values_module_is_the_bottom_layer():
    assert set(_loaded_after("scenedet.values")) == {"scenedet", "scenedet.errors", "scenedet.values"}


# -- click stays in the command line ---------------------------------------------------------------
CLICK_HOSTS = ("plugin/_commands.py",)  # adds plugins' commands to the click group: the host's job


def test_only_the_command_line_imports_click():
    bad = [f"scenedet/{_rel(path)}:{line}: import {name}"
           for path in _files() if _rel(path).split("/")[0] != "cli" and _rel(path) not in CLICK_HOSTS
           for line, name in _imports(path) if name == "click" or name.startswith("click.")]
    assert not bad, "\n".join(bad)


def test_nothing_but_main_imports_the_command_line():
    bad = [f"scenedet/{_rel(path)}:{line}: import {name}"
           for path in _files() if _rel(path).split("/")[0] != "cli" and _rel(path) != "__main__.py"
           for line, name in _imports(path) if name == "scenedet.cli" or name.startswith("scenedet.cli.")]
    assert not bad, "\n".join(bad)


# -- the plugin host's internals stay behind its public modules ---------------------------------------
def _private_plugin_module(name: str) -> bool:
    parts = name.split(".")
    return parts[:2] == ["scenedet", "plugin"] and any(p.startswith("_") for p in parts[2:3])


def test_nothing_outside_the_plugin_package_imports_its_underscored_modules():
    bad = [f"scenedet/{_rel(path)}:{line}: import {name}"
           for path in _files() if _rel(path).split("/")[0] != "plugin"
           for line, name in _imports(path) if _private_plugin_module(name)]
    assert not bad, "\n".join(bad)


def test_the_public_host_module_names_what_the_command_line_needs():
    import scenedet.plugin.host as host

    assert not [name for name in host.__all__ if not hasattr(host, name)]
    assert {"get_host", "reset_host", "PluginHost", "normalize"} <= set(host.__all__)


# -- functions short enough to read --------------------------------------------------------------------
MAX_FUNCTION_LINES = 80
TOO_LONG_FOR_NOW: set[str] = set()  # a function listed here must still be too long


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


def test_no_function_is_longer_than_80_lines():
    """From ``def`` to the last line of the body (decorators not counted)."""
    long = {f"{_rel(path)}::{name}": (line, length) for path in _files()
            for name, line, length in _functions(path) if length > MAX_FUNCTION_LINES}
    bad = [f"scenedet/{where.split('::')[0]}:{line}: {where.split('::')[1]} has {length} lines"
           for where, (line, length) in sorted(long.items()) if where not in TOO_LONG_FOR_NOW]
    assert not bad, "\n".join(bad)
    assert not TOO_LONG_FOR_NOW - set(long), "split now, take it off the list"
