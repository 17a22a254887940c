"""Keeps the documentation honest (as datasette does): hooks, specs, commands and links.

Every hook has a heading with its signature in the plugin guide and a test named after it; the
guide's spec signatures are the specs'; docs/cli.md is what ``--help`` says, for scenedet's own
commands only (installed third-party plugins change nothing here); the commands shown in the
docs use options that exist; links and file names in the docs point into this repository.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import re
import shlex
from pathlib import Path

import attrs
import click
import pytest

import scenedet.plugin.hookspecs as hookspecs
from scenedet.plugin import specs

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugin-guide.md"
HOOKS = {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(fn, "scenedet_spec")}
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SPEC_OF_HOOK = {"register_extractors": specs.ExtractorSpec, "register_backbones": specs.BackboneSpec,
                "register_heads": specs.HeadSpec, "register_aggregators": specs.AggregatorSpec,
                "register_scenes": specs.SceneSpec, "register_exporters": specs.ExporterSpec,
                "register_detectors": specs.DetectorSpec}


def _gen_cli():
    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sections(text: str) -> dict[str, str]:
    """``## heading`` -> the text up to the next ``## `` heading."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


# -- hooks --------------------------------------------------------------------------------------
def test_there_are_hooks():
    assert set(SPEC_OF_HOOK) | {"register_commands"} <= set(HOOKS)


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_every_hook_has_a_heading_with_its_signature_in_the_plugin_guide(hook):
    heading = f"## {hook}{inspect.signature(HOOKS[hook])}"
    assert heading in GUIDE.read_text().splitlines(), f"docs/plugin-guide.md lacks '{heading}'"


@functools.cache
def _test_names() -> frozenset[str]:
    files = [*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("plugins/*/tests/**/test_*.py")]
    names = set()
    for path in files:
        if path.name == "test_docs.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                names.add(node.name)
    return frozenset(names)


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_every_hook_has_a_test_named_after_it(hook):
    names = _test_names()
    assert any(hook in name for name in names), \
        f"no test under tests/ or plugins/*/tests/ has {hook!r} in its name"


@pytest.mark.parametrize("hook", sorted(SPEC_OF_HOOK))
def test_the_guide_shows_each_spec_as_it_is(hook):
    """The signature under each hook's heading: keyword-only, every field, in order, same defaults."""
    spec = SPEC_OF_HOOK[hook]
    section = _sections(GUIDE.read_text())[f"{hook}{inspect.signature(HOOKS[hook])}"]
    shown = re.search(rf"^```\n({spec.__name__}\(.*?\))\n```$", section, flags=re.M | re.S)
    assert shown, f"no {spec.__name__}(...) signature block under ## {hook}"
    fn = ast.parse("def f" + shown.group(1).removeprefix(spec.__name__) + ": pass").body[0]
    assert not fn.args.args, f"{spec.__name__} is keyword-only: show it with '*, '"
    fields = attrs.fields(spec)
    assert [a.arg for a in fn.args.kwonlyargs] == [f.name for f in fields]
    for field, default in zip(fields, fn.args.kw_defaults):
        if field.default is attrs.NOTHING:
            assert default is None, f"{field.name} has no default"
        else:
            assert default is not None and ast.literal_eval(default) == field.default, field.name


def test_specs_are_keyword_only_as_the_guide_says():
    with pytest.raises(TypeError):
        specs.SceneSpec("fight", ("resnet18",))
    assert specs.SceneSpec(name="fight", backbones=["resnet18"]).aggregator == "runs"


# -- the CLI reference ------------------------------------------------------------------------------
def test_every_own_cli_command_is_in_the_cli_reference():
    from scenedet.cli import cli

    gen = _gen_cli()
    reference = (ROOT / "docs" / "cli.md").read_text()
    own = [name for name, command in cli.commands.items() if gen.is_own(command)]
    assert {"run", "segment", "plugins", "train"} <= set(own)
    missing = [name for name in own if f"## scenedet {name}\n" not in reference]
    assert not missing, missing


def test_cli_reference_is_current():
    assert (ROOT / "docs" / "cli.md").read_text() == _gen_cli().render(), \
        "docs/cli.md is stale: python docs/gen_cli.py > docs/cli.md"


def test_a_plugin_command_changes_neither_the_reference_nor_the_cli():
    """Installing a plugin that adds a command must not make this suite fail."""
    import copy

    from scenedet.cli import cli

    gen = _gen_cli()
    group = copy.copy(cli)
    group.commands = dict(cli.commands)

    @group.command("zz-third-party")
    def zz_third_party():
        """A throwaway command, as a third-party plugin adds one."""

    assert not gen.is_own(group.commands["zz-third-party"])
    assert "zz-third-party" not in cli.commands  # the real group is untouched
    rendered = gen.render(group)
    assert rendered == gen.render(cli)
    assert "zz-third-party" not in rendered and "## scenedet segment\n" in rendered


# -- commands and links in the docs -----------------------------------------------------------------
def _shell_lines(path: Path):
    """``scenedet ...`` command lines of the fenced code blocks of ``path``, with line numbers
    (continuation lines joined; comments, descriptions and the ``[ ]`` of synopses dropped)."""
    in_block, pending, start = False, "", 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            in_block, pending = not in_block, ""
            continue
        if not in_block:
            continue
        text = (pending + " " + line.strip()) if pending else line.strip().removeprefix("$ ")
        start = start if pending else number
        if text.endswith("\\"):
            pending = text[:-1]
            continue
        pending = ""
        text = re.split(r" #|\s{2,}", text)[0]  # a comment, or --help's aligned description
        for part in text.split("|"):  # printf ... | scenedet segment -
            if part.strip().startswith("scenedet "):
                yield start, part.strip().replace("[", " ").replace("]", " ")


def test_commands_in_the_docs_use_options_that_exist():
    from scenedet.cli import cli

    gen = _gen_cli()
    bad = []
    for path in DOCS:
        for number, line in _shell_lines(path):
            words = shlex.split(line)
            command = cli.commands.get(words[1]) if len(words) > 1 else None
            if command is None or not gen.is_own(command):
                continue  # a plugin's command (the guide's example) or a bare `scenedet`
            known = {"--help", "-h"}
            for param in command.params:
                if isinstance(param, click.Option):
                    known.update(param.opts + param.secondary_opts)
            for word in words[2:]:
                option = word.split("=")[0]
                if option.startswith("-") and option != "-" and option not in known:
                    bad.append(f"{path.relative_to(ROOT)}:{number}: scenedet {words[1]} has no {option}")
    assert not bad, "\n".join(bad)


def _exists(target: str, doc: Path) -> bool:
    path = (doc.parent / target).resolve()
    if ROOT not in (path, *path.parents):
        return False
    return path.exists()


def test_links_in_the_docs_point_into_the_repository():
    bad = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            if not _exists(target.split("#")[0], doc):
                bad.append(f"{doc.relative_to(ROOT)}: link to {target}")
    assert not bad, "\n".join(bad)


def test_files_the_docs_name_are_in_the_repository():
    """A doc that cites a file outside the repository (a spec, a note) cites what readers lack."""
    tops = [p for p in ROOT.iterdir() if not p.name.startswith(".") and p.name != "build"]
    found = [f for top in tops for f in ([top] if top.is_file() else top.rglob("*"))]
    files = {f.relative_to(ROOT).as_posix() for f in found if f.suffix in (".md", ".py")}
    bad = []
    for doc in DOCS:
        for name in re.findall(r"`([\w./-]+\.(?:md|py))`", doc.read_text()):
            here = (doc.parent / name).resolve()
            known = (here.exists() and ROOT in here.parents) or name in files \
                or any(f.endswith("/" + name) for f in files)
            if not known:
                bad.append(f"{doc.relative_to(ROOT)} names {name}, which is not in the repository")
    assert not bad, "\n".join(bad)


def test_the_segment_examples_in_segmentors_md_print_what_they_say():
    import scenedet

    text = (ROOT / "docs" / "segmentors.md").read_text()
    examples = re.findall(r"^(scenedet\.segment\(.*\)).*\n# (\[.*\])$", text, flags=re.M)
    assert len(examples) >= 2
    for call, shown in examples:
        assert repr(eval(call, {"scenedet": scenedet})) == shown, call


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_every_python_name_the_docs_give_exists():
    """``scenedet.segmentation.load_scores`` in a doc, when it lives in ``scorefiles``, sends a
    reader to an ImportError."""
    bad = []
    for doc in DOCS:
        for name in sorted(set(re.findall(r"\bscenedet(?:\.[A-Za-z_]\w*)+", doc.read_text()))):
            if not _resolves(name):
                bad.append(f"{doc.relative_to(ROOT)}: {name}")
    assert not bad, "\n".join(bad)


def test_image_preprocess_has_one_place_in_the_docs():
    places = {m for doc in DOCS for m in re.findall(r"\b(scenedet[\w.]*)\.ImagePreprocess\b", doc.read_text())}
    assert places <= {"scenedet.plugin"}, places


def test_the_architecture_page_names_every_folder_and_module():
    """docs/architecture.md is the map of the code: a new module goes on the map with its job."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    package = ROOT / "scenedet"
    missing = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.name in ("__init__.py", "__main__.py") and rel.parent.name != "plugin":
            continue
        if rel.parts[0] == "cli":
            continue  # one module per command, named after it; the group is described as a whole
        named = f"`{rel.as_posix()}" in text or f"`scenedet/{rel.as_posix()}`" in text \
            or (len(rel.parts) == 2 and f"`{rel.name}`" in text) or f" {rel.name}" in text
        if not named:
            missing.append(rel.as_posix())
    for folder in sorted(p for p in package.iterdir() if (p / "__init__.py").exists()):
        if f"`scenedet/{folder.name}/`" not in text:
            missing.append(f"{folder.name}/")
    assert not missing, f"docs/architecture.md does not name: {missing}"
