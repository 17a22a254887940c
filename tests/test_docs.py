"""Keeps the plugin API honest (as datasette does): every hook is documented and tested."""

import re
from pathlib import Path

import scenedet.plugin.hookspecs as hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("register_"))


def test_there_are_hooks():
    assert "register_scenes" in HOOKS and len(HOOKS) >= 6


def test_every_hook_has_a_heading_in_the_plugin_guide():
    guide = (ROOT / "docs" / "plugin-guide.md").read_text()
    headings = set(re.findall(r"^### (\w+)$", guide, flags=re.M))
    assert set(HOOKS) <= headings, set(HOOKS) - headings


def test_every_hook_is_exercised_by_a_test():
    sources = "\n".join(p.read_text() for p in ROOT.glob("tests/test_*.py") if p.name != "test_docs.py")
    missing = [h for h in HOOKS if f"{h}(" not in sources and f"{h}=" not in sources]
    assert not missing, missing


def test_every_cli_command_is_in_the_cli_reference():
    from scenedet.cli import cli

    reference = (ROOT / "docs" / "cli.md").read_text()
    missing = [name for name in cli.commands if f"## scenedet {name}" not in reference]
    assert not missing, missing


def test_cli_reference_is_current():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "cli.md").read_text() == module.render(), \
        "docs/cli.md is stale: python docs/gen_cli.py > docs/cli.md"
