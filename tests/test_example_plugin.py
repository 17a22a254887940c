"""The plugin guide's example, examples/scenedet-fight, installed as a distribution and run.

"Installed" the way pip leaves it for importlib.metadata: a ``*.dist-info`` folder whose
``entry_points.txt`` is generated from the example's own ``pyproject.toml``, on the PYTHONPATH of a
fresh ``python -m scenedet`` process. So the entry point declared in the file, the module and the
commands a user types are what is tested, and nothing is installed into the test's environment.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "scenedet-fight"
MODULE = EXAMPLE / "scenedet_fight.py"
GUIDE = ROOT / "docs" / "plugin-guide.md"
PROJECT_ENTRY_POINTS = ["scenedet", "kissing", "segmentors", "vision", "r3d", "vggish"]


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((EXAMPLE / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder holding the example's dist-info, as ``pip install`` would write it."""
    project = _pyproject()["project"]
    site = tmp_path_factory.mktemp("site")
    dist_info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    groups = project["entry-points"]
    (dist_info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items())
        for group, eps in groups.items()))
    return site


def _scenedet(site: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(EXAMPLE)])}
    for name in ("SCENEDET_PLUGINS", "SCENEDET_DISABLE_PLUGINS"):
        env.pop(name, None)
    # the project's plugins and the example, by entry-point name: nothing else that is installed
    env["SCENEDET_LOAD_PLUGINS"] = ",".join(PROJECT_ENTRY_POINTS + ["fight"])
    return subprocess.run([sys.executable, "-m", "scenedet", *args], capture_output=True,
                          text=True, env=env, input=stdin, timeout=120)


def test_the_example_declares_a_scenedet_entry_point():
    project = _pyproject()["project"]
    assert project["entry-points"]["scenedet"] == {"fight": "scenedet_fight"}
    assert any(dep.startswith("scenedet>=") for dep in project["dependencies"])


def test_register_scenes_of_the_installed_example_is_listed(site):
    done = _scenedet(site, "plugins", "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    fight = [p for p in listing["plugins"] if p["name"] == "fight"]
    assert fight, listing
    assert fight[0]["version"] == "0.1.0" and fight[0]["module"] == "scenedet_fight"
    assert fight[0]["components"]["scene"] == ["fight"]
    assert fight[0]["components"]["aggregator"] == ["merge-gaps"]
    assert not any(f["name"] == "fight" for f in listing.get("failed", []))
    assert not fight[0].get("problems")
    assert {"resnet18", "vggish"} <= {n for p in listing["plugins"]
                                      for n in p["components"].get("backbone", [])}


def test_register_aggregators_of_the_installed_example_serves_segment(site):
    labels = "1\n1\n0\n0\n1\n1\n0\n0\n0\n1\n1\n1\n"
    done = _scenedet(site, "segment", "--aggregator", "merge-gaps", "-l", "3", "-t", "0.6", "-",
                     stdin=labels)
    assert done.returncode == 0, done.stderr
    # [0, 6): 4 of 6 positive across a 2 s gap; the 3 s gap before 9 is too long to bridge
    assert json.loads(done.stdout)["segments"] == [
        {"start": 0, "end": 6, "score": None}, {"start": 9, "end": 12, "score": None}]


def test_register_commands_of_the_installed_example_runs(site):
    done = _scenedet(site, "fight-recipe")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fight: resnet18 + vggish -> linear head -> merge-gaps (>= 5 s, >= 60%)\n"
    helped = _scenedet(site, "--help")
    assert helped.returncode == 0 and "fight-recipe" in helped.stdout


def _merge_gaps():
    sys.path.insert(0, str(EXAMPLE))
    try:
        import scenedet_fight
    finally:
        sys.path.remove(str(EXAMPLE))
    return scenedet_fight.merge_gaps


@pytest.mark.parametrize(("labels", "min_length", "threshold", "expected"), [
    ([], 1, 1, []),
    ([0, 0, 0], 1, 1, []),
    ([1, 0, 0, 1], 1, 0.5, [(0, 4)]),                # a 2 s gap is bridged
    ([1, 0, 0, 0, 1], 1, 0.4, [(0, 1), (4, 5)]),     # a 3 s gap is not
    ([1, 0, 0, 1], 1, 0.6, []),                      # bridged, but only half positive
    ([1, 1, 0, 1, 1, 1], 6, 0.8, [(0, 6)]),
    ([1, 1, 0, 1, 1, 1], 7, 0.1, []),                # shorter than min_length
])
def test_merge_gaps(labels, min_length, threshold, expected):
    """Half-open scenes, gaps of up to MAX_GAP bridged, density and length checked exactly."""
    from fractions import Fraction

    import numpy as np

    merge_gaps = _merge_gaps()
    array = np.asarray(labels, dtype=bool)
    assert merge_gaps(array, min_length, Fraction(str(threshold))) == expected


def test_the_example_imports_only_the_sdk():
    tree = ast.parse(MODULE.read_text())
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [m for m in modules if m.startswith("scenedet")] == ["scenedet.plugin"]


def test_the_example_fits_in_about_40_lines():
    assert len(MODULE.read_text().splitlines()) <= 45


def test_the_guide_shows_the_example_files_verbatim():
    """The guide's code blocks are the files, so the two cannot drift apart."""
    blocks = re.findall(r"^```\w*\n(.*?)^```$", GUIDE.read_text(), flags=re.M | re.S)
    for path in (EXAMPLE / "pyproject.toml", MODULE):
        text = path.read_text()
        assert text in blocks, f"docs/plugin-guide.md does not show {path.relative_to(ROOT)} as it is"


def test_the_guide_says_how_many_files_and_shows_them_all():
    """"A scene plugin in N files" shows N files, and they are the example's."""
    text = GUIDE.read_text()
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
    count = re.search(r"^## A scene plugin in (\w+) files?$", text, flags=re.M)
    assert count, "the guide lost its 'A scene plugin in N files' section"
    tree = re.search(r"^```\nscenedet-fight/\n(.*?)^```$", text, flags=re.M | re.S)
    shown = sorted(line.strip() for line in tree.group(1).splitlines())
    actual = sorted(p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p))
    assert shown == actual
    assert words[count.group(1)] == len(shown)
