"""Plugins broken the ways plugin authors break them, installed as real distributions.

Each case is a throwaway distribution (``NAME-0.1.dist-info`` with ``METADATA`` and an
``entry_points.txt`` in the ``scenedet`` group, beside its module) in a folder put on ``sys.path``
for in-process hosts and on ``PYTHONPATH`` for real ``python -m scenedet`` processes. Every case
must be reported by ``scenedet plugins`` on the plugin's own entry, with its file:line, and leave
every other command working (docs/plugin-host.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import scenedet
from scenedet.cli import cli

# every case warns (RuntimeWarning) as it loads; test_a_broken_plugin_warns checks that once
pytestmark = pytest.mark.filterwarnings("ignore:scenedet plugin:RuntimeWarning")
from scenedet.plugin._host import PluginHost, reset_host

REFERENCE = "scenedet,scenedet-kissing"  # the core and the reference set, by distribution name

CASES: dict[str, dict] = {
    "importerr": {"module": """\
        import os
        raise RuntimeError("needs a GPU driver")
        """},
    "syntaxerr": {"module": """\
        from scenedet.plugin import hookimpl
        def register_scenes(register)
            pass
        """},
    "badargs": {"module": """\
        from scenedet.plugin import AggregatorSpec, SceneSpec, hookimpl

        @hookimpl
        def register_scenes(reg):
            reg(SceneSpec(name="badargs-scene", backbones=("resnet18",)))

        @hookimpl
        def register_aggregators(register):
            register(AggregatorSpec(name="badargs-agg", function=lambda labels, m, t: []))
        """},
    "misspelt": {"module": """\
        from scenedet.plugin import AggregatorSpec, SceneSpec, hookimpl

        @hookimpl
        def register_scene(register):
            register(SceneSpec(name="misspelt-scene", backbones=("resnet18",)))

        @hookimpl
        def register_aggregators(register):
            register(AggregatorSpec(name="misspelt-agg", function=lambda labels, m, t: []))
        """},
    "clash": {"module": """\
        import click
        from scenedet.plugin import AggregatorSpec, HeadSpec, hookimpl

        def steal(labels, min_length, threshold):
            return []

        @hookimpl
        def register_aggregators(register):
            register(AggregatorSpec(name="interval", function=steal))
            register(AggregatorSpec(name="runs", function=steal))
            register(AggregatorSpec(name="clash-own", function=steal))

        @hookimpl
        def register_heads(register):
            register(HeadSpec(name="linear", factory=lambda **kw: None))

        @hookimpl
        def register_commands(cli):
            @cli.command("segment")
            def fake_segment():
                click.echo("stolen")

            @cli.command("clash-info")
            def clash_info():
                click.echo("clash plugin here")
        """},
    "malformed": {"module": """\
        from scenedet.plugin import AggregatorSpec, SceneSpec, hookimpl

        @hookimpl
        def register_scenes(register):
            register(SceneSpec(name="malformed-ok", backbones=("resnet18",)))
            register(SceneSpec(name="malformed-bad", backbones="resnet18"))

        @hookimpl
        def register_aggregators(register):
            register(AggregatorSpec(name="malformed-agg", function=lambda labels, m, t: []))
        """},
    "halfway": {"module": """\
        from scenedet.plugin import AggregatorSpec, HeadSpec, hookimpl

        def agg(labels, min_length, threshold):
            return []

        @hookimpl
        def register_aggregators(register):
            register(AggregatorSpec(name="halfway-one", function=agg))
            register(AggregatorSpec(name="halfway-two", function=agg))
            raise KeyError("config")

        @hookimpl
        def register_heads(register):
            register(HeadSpec(name="halfway-head", factory=lambda **kw: None))
        """},
    "orphan": {"module": """\
        from scenedet.plugin import SceneSpec, hookimpl

        @hookimpl
        def register_scenes(register):
            register(SceneSpec(name="orphan", backbones=("resnet18", "nope-net"),
                               aggregator="nope-agg"))
        """},
}


def module_name(case: str) -> str:
    return f"sdtest_{case}"


def write_distribution(site: Path, dist: str, entry_points: dict[str, str],
                       modules: dict[str, str], version: str = "0.1") -> None:
    """A minimal installed distribution: what pip leaves in site-packages, without pip."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(
        "[scenedet]\n" + "".join(f"{name} = {target}\n" for name, target in entry_points.items()))
    for name, source in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder of throwaway distributions on sys.path; their modules are forgotten afterwards."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(folder)):
            del sys.modules[name]
    reset_host(None)


def install(site: Path, *cases: str) -> str:
    """Install the broken-plugin ``cases``; return the allow-list naming them and the reference set."""
    for case in cases:
        write_distribution(site, f"scenedet-{case}", {case: module_name(case)},
                           {module_name(case): CASES[case]["module"]})
    return ",".join([REFERENCE, *(f"scenedet-{c}" for c in cases)])


def load(site: Path, *cases: str) -> PluginHost:
    """A fresh host over the reference set and ``cases``, installed as the process-wide one."""
    host = PluginHost()
    host.load_entry_points({"SCENEDET_PLUGINS": install(site, *cases)})
    reset_host(host)
    return host


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def problems(host: PluginHost, name: str) -> list[str]:
    return [p.line() for p in host.plugins[name].problems]


def listing_block(output: str, name: str) -> str:
    """The lines of ``scenedet plugins`` about plugin ``name``: its line and the indented ones."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name} "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return "\n".join(lines[start:end])


def assert_the_rest_works(host: PluginHost) -> None:
    """The reference set loaded whole, and the commands that do not need models answer."""
    for name in ("scenedet", "kissing", "segmentors", "vision", "r3d", "vggish"):
        assert host.plugins[name].status == "ok", host.plugins[name].problems
    assert scenedet.get_scene("kissing").aggregator == "interval"
    assert scenedet.create_aggregator("interval").__module__ == "scenedet_kissing.segmentors"
    help_ = invoke("--help")
    assert help_.exit_code == 0 and "segment" in help_.output and "plugins" in help_.output
    cut = invoke("segment", "-l", "2", "-t", "1", "-", input="0\n1\n1\n0\n")
    assert cut.exit_code == 0, cut.output
    assert json.loads(cut.stdout)["segments"] == [{"start": 1, "end": 3, "score": None}]


def test_a_broken_plugin_warns_library_users(site):
    install(site, "misspelt")
    with pytest.warns(RuntimeWarning, match="scenedet plugin 'misspelt': unknown hook 'register_scene'"):
        PluginHost().load_entry_points({"SCENEDET_PLUGINS": "scenedet-misspelt"})


# -- each case, in-process ------------------------------------------------------------------
def test_a_module_that_raises_on_import_is_reported_with_its_line(site):
    host = load(site, "importerr")
    [line] = problems(host, "importerr")
    assert "import failed: RuntimeError: needs a GPU driver" in line
    assert line.endswith(f"{module_name('importerr')}.py:2)")
    assert host.plugins["importerr"].status == "failed"
    assert_the_rest_works(host)
    out = invoke("plugins").output
    assert "FAILED: import failed: RuntimeError: needs a GPU driver" in listing_block(out, "importerr")


def test_a_syntax_error_is_reported_with_its_line(site):
    host = load(site, "syntaxerr")
    [line] = problems(host, "syntaxerr")
    assert "import failed: SyntaxError" in line and line.endswith("sdtest_syntaxerr.py:2)")
    assert_the_rest_works(host)


def test_a_hook_with_the_wrong_argument_name_is_skipped_and_the_rest_loads(site):
    host = load(site, "badargs")
    [line] = problems(host, "badargs")
    assert ("hook register_scenes(reg) does not match the hookspec register_scenes(register): "
            "argument 'reg' is not the hookspec's; it is skipped") in line
    assert line.endswith("sdtest_badargs.py:3)")
    assert host.plugins["badargs"].components == {"aggregator": ["badargs-agg"]}
    assert "badargs-scene" not in scenedet.list_scenes()
    assert_the_rest_works(host)
    block = listing_block(invoke("plugins").output, "badargs")
    assert "1 problem" in block.splitlines()[0] and "register_scenes(reg) does not match" in block


def test_a_misspelt_hook_is_an_unknown_hook_with_a_suggestion(site):
    host = load(site, "misspelt")
    [line] = problems(host, "misspelt")
    assert "unknown hook 'register_scene' (did you mean 'register_scenes'?)" in line
    assert line.endswith("sdtest_misspelt.py:3)")
    assert host.plugins["misspelt"].hooks == ["register_aggregators"]
    assert "misspelt-agg" in scenedet.list_aggregators()
    assert_the_rest_works(host)


def test_clashes_with_the_core_and_the_reference_set_are_refused_naming_both(site):
    host = load(site, "clash")
    lines = problems(host, "clash")
    assert any("aggregator 'interval' from plugin 'clash' is already registered by 'segmentors' "
               "(scenedet-kissing 0.1.0, reference set)" in p for p in lines), lines
    assert any("aggregator 'runs' from plugin 'clash' is already registered by 'scenedet'" in p
               and "core" in p for p in lines), lines
    assert any("head 'linear' from plugin 'clash'" in p for p in lines), lines
    assert scenedet.create_aggregator("runs").__module__ == "scenedet.segmentation.runs"
    assert "clash-own" in scenedet.list_aggregators()
    assert_the_rest_works(host)
    # its command does not replace `scenedet segment`; its own command is added
    result = invoke("segment", "-l", "1", "-", input="1\n")
    assert result.exit_code == 0 and "stolen" not in result.output
    assert invoke("clash-info").output == "clash plugin here\n"
    command_clash = [p for p in problems(host, "clash") if "command 'segment'" in p]
    assert command_clash and "already registered by 'scenedet'" in command_clash[0]
    assert command_clash[0].endswith("sdtest_clash.py:19)")  # the @cli.command("segment") line
    assert host.plugins["clash"].components["command"] == ["clash-info"]
    block = listing_block(invoke("plugins").output, "clash")
    assert "command 'segment'" in block and "'interval'" in block and "commands:" in block


def test_a_malformed_spec_is_refused_with_one_line_and_its_hook_keeps_nothing(site):
    host = load(site, "malformed")
    [line] = problems(host, "malformed")
    assert ("register_scenes failed: scene refused: SceneSpec('malformed-bad'): backbones must be "
            "a tuple of names, got the string 'resnet18'") in line
    assert line.endswith("sdtest_malformed.py:6)") and "\n" not in line
    assert not {"malformed-ok", "malformed-bad"} & set(scenedet.list_scenes())
    assert "malformed-agg" in scenedet.list_aggregators()
    assert_the_rest_works(host)


def test_a_hook_that_raises_halfway_keeps_nothing_of_that_call(site):
    host = load(site, "halfway")
    [line] = problems(host, "halfway")
    assert "register_aggregators failed: KeyError: 'config'; nothing it registered was kept" in line
    assert line.endswith("sdtest_halfway.py:10)")
    assert not {"halfway-one", "halfway-two"} & set(scenedet.list_aggregators())
    assert host.plugins["halfway"].components == {"head": ["halfway-head"]}
    assert_the_rest_works(host)


def test_a_scene_with_missing_components_is_listed_unusable_and_run_refuses_it(site):
    host = load(site, "orphan")
    assert problems(host, "orphan") == []  # it loaded; what it names does not exist
    block = listing_block(invoke("plugins").output, "orphan")
    assert ("scene 'orphan' is unusable: backbone 'nope-net' is not registered; "
            "aggregator 'nope-agg' is not registered") in block
    result = invoke("run", "--plugin", "orphan", "film.mp4")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "scene 'orphan' cannot be used" in result.stderr
    with_model = invoke("run", "--plugin", "orphan", "film.mp4", "--model", "orphan.pt")
    assert with_model.exit_code == 2 and "scene 'orphan' cannot be used" in with_model.stderr
    from scenedet.plugin._factory import check_scene_usable
    with pytest.raises(scenedet.plugin.UsageError, match="backbone 'nope-net' is not registered"):
        check_scene_usable(scenedet.get_scene("orphan"))
    check_scene_usable(scenedet.get_scene("kissing"))
    assert_the_rest_works(host)


# -- precedence ------------------------------------------------------------------------------
def _gaps_plugin(site: Path, dist: str, ep: str) -> None:
    write_distribution(site, dist, {ep: f"sdtest_{ep}"}, {f"sdtest_{ep}": f"""\
        from scenedet.plugin import AggregatorSpec, hookimpl

        def {ep}_gaps(labels, min_length, threshold):
            return []

        @hookimpl
        def register_aggregators(register):
            register(AggregatorSpec(name="gaps", function={ep}_gaps))
        """})


def test_two_third_parties_the_first_by_distribution_name_wins(site):
    _gaps_plugin(site, "scenedet-alpha", "zeta")  # entry-point names sort the other way round
    _gaps_plugin(site, "scenedet-beta", "able")
    host = PluginHost()
    host.load_entry_points({"SCENEDET_PLUGINS": "scenedet-alpha,scenedet-beta"})
    assert host.registries["aggregator"].owner("gaps") == "zeta"
    [line] = problems(host, "able")
    assert "aggregator 'gaps' from plugin 'able' is already registered by 'zeta' " \
           "(scenedet-alpha 0.1, third party)" in line
    assert [i.name for i in host.ordered()] == ["zeta", "able"]


def test_precedence_does_not_depend_on_the_order_plugins_are_added(site):
    """Added by hand in the wrong order, the reference set still wins and the thief is reported."""
    import importlib

    install(site, "clash")
    thief = importlib.import_module(module_name("clash"))
    segmentors = importlib.import_module("scenedet_kissing.segmentors")
    host = PluginHost()
    host.add_plugin(thief, "clash", distribution="scenedet-clash")
    assert host.registries["aggregator"].owner("interval") == "clash"
    host.add_plugin(segmentors, "segmentors", distribution="scenedet-kissing")
    assert host.registries["aggregator"].owner("interval") == "segmentors"
    assert "interval" not in host.plugins["clash"].components["aggregator"]
    assert any("also registered by 'segmentors'" in p and "takes precedence" in p
               for p in problems(host, "clash"))
    assert host.plugins["segmentors"].problems == []


# -- switches ---------------------------------------------------------------------------------
def test_allow_and_deny_lists_and_the_old_name(site):
    install(site, "orphan", "halfway")
    host = PluginHost()
    host.load_entry_points({"SCENEDET_PLUGINS": "scenedet, orphan,halfway",
                            "SCENEDET_DISABLE_PLUGINS": "scenedet-halfway"})
    assert list(host.plugins) == ["scenedet", "orphan"]
    assert host.disabled["halfway"].problems[0].message == "disabled by SCENEDET_DISABLE_PLUGINS"
    assert host.disabled["kissing"].problems[0].message == "not in SCENEDET_PLUGINS"
    old = PluginHost()
    old.load_entry_points({"SCENEDET_LOAD_PLUGINS": "orphan"})
    assert list(old.plugins) == ["orphan"]
    none = PluginHost()
    none.load_entry_points({"SCENEDET_PLUGINS": "", "SCENEDET_LOAD_PLUGINS": "orphan"})
    assert none.plugins == {}
    reset_host(host)
    rows = {r["name"]: r for r in json.loads(invoke("plugins", "--json").stdout)["plugins"]}
    assert rows["halfway"]["status"] == "disabled" and rows["orphan"]["status"] == "problems"


def test_strict_turns_any_problem_into_one_line_and_exit_1(site):
    load(site, "misspelt")
    result = invoke("--strict", "segment", "-")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: plugin 'misspelt': unknown hook 'register_scene'")
    listing = invoke("--strict", "plugins")
    assert listing.exit_code == 1 and "misspelt" in listing.stdout
    assert invoke("--strict", "plugins").stderr.startswith("Error: plugin 'misspelt'")


def test_strict_passes_when_nothing_is_wrong(site):
    load(site)
    result = invoke("--strict", "segment", "-l", "1", "-", input="1\n")
    assert result.exit_code == 0, result.output


def test_traceback_shows_the_plugins_traceback(site, monkeypatch):
    load(site, "importerr")
    plain = invoke("plugins", "--json")
    assert "Traceback" not in plain.output
    monkeypatch.setenv("SCENEDET_DEBUG", "1")
    reset_host(None)
    load(site, "importerr")
    shown = invoke("segment", "-l", "1", "-", input="1\n")
    assert shown.exit_code == 0
    assert "Traceback (most recent call last)" in shown.stderr
    assert 'raise RuntimeError("needs a GPU driver")' in shown.stderr


def test_traceback_flag_shows_tracebacks_of_errors():
    missing = invoke("--traceback", "segment", "/no/such/file.json")
    assert missing.exit_code == 2
    assert "Traceback (most recent call last)" in missing.stderr
    assert missing.stderr.rstrip().splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in invoke("segment", "/no/such/file.json").stderr


# -- the whole set, in real processes ---------------------------------------------------------
def _scenedet(site: Path, allow: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    environ = {**os.environ, "PYTHONPATH": path, "SCENEDET_PLUGINS": allow, **env}
    return subprocess.run([sys.executable, "-m", "scenedet", *args], capture_output=True,
                          text=True, timeout=120, env=environ)


@pytest.mark.slow  # eight plugins installed in one real process (seconds)
def test_every_broken_plugin_at_once_in_a_real_process(site, tmp_path):
    allow = install(site, *CASES)
    help_ = _scenedet(site, allow, "--help")
    assert help_.returncode == 0, help_.stderr
    assert "clash-info" in help_.stdout and "Usage: scenedet" in help_.stdout
    for case in ("importerr", "syntaxerr", "badargs", "misspelt", "clash", "malformed", "halfway"):
        assert f"Warning: plugin '{case}':" in help_.stderr, help_.stderr
    assert "Traceback" not in help_.stderr

    listing = _scenedet(site, allow, "plugins")
    assert listing.returncode == 0, listing.stderr
    assert listing.stderr == ""  # `plugins` lists the problems itself
    for case in CASES:
        block = listing_block(listing.stdout, case)
        assert "sdtest_" in block and ("problem" in block or "FAILED" in block), block
    for name in ("scenedet", "kissing", "segmentors", "vision", "r3d", "vggish"):
        assert listing_block(listing.stdout, name).count("problem") == 0

    rows = {r["name"]: r for r in json.loads(_scenedet(site, allow, "plugins", "--json").stdout)["plugins"]}
    assert rows["importerr"]["status"] == "failed"
    assert rows["misspelt"]["problems"][0]["kind"] == "unknown-hook"
    assert rows["misspelt"]["problems"][0]["where"].endswith("sdtest_misspelt.py:3")
    assert rows["orphan"]["problems"][0]["kind"] == "unusable"
    assert {p["kind"] for p in rows["clash"]["problems"]} == {"clash", "command-clash"}

    labels = tmp_path / "labels.txt"
    labels.write_text("0\n1\n1\n1\n0\n")
    cut = _scenedet(site, allow, "segment", "-l", "3", "-t", "1", str(labels))
    assert cut.returncode == 0, cut.stderr
    assert json.loads(cut.stdout)["segments"] == [{"start": 1, "end": 4, "score": None}]

    orphan = _scenedet(site, allow, "run", "-p", "orphan", "film.mp4")
    assert orphan.returncode == 2
    assert orphan.stderr.splitlines()[-1].startswith("Error: scene 'orphan' cannot be used")

    strict = _scenedet(site, allow, "--strict", "segment", str(labels))
    assert strict.returncode == 1 and strict.stderr.count("\n") == 1, strict.stderr
    assert _scenedet(site, allow, "segment", str(labels), SCENEDET_STRICT="1").returncode == 1

    traced = _scenedet(site, allow, "--traceback", "segment", "-l", "3", str(labels))
    assert traced.returncode == 0 and "Traceback (most recent call last)" in traced.stderr


def test_help_beside_every_broken_plugin_does_not_import_torch(site):
    allow = install(site, *CASES)
    script = ("import sys; from scenedet.cli import cli\n"
              "try:\n    cli(['--help'], prog_name='scenedet')\n"
              "except SystemExit:\n    pass\n"
              "print('torch' in sys.modules, file=sys.stderr)")
    environ = {**os.environ, "PYTHONPATH": str(site), "SCENEDET_PLUGINS": allow}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=environ)
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr


@pytest.mark.slow
def test_run_of_another_scene_works_beside_every_broken_plugin(site, tmp_path):
    """`scenedet run --plugin kissing` end to end, in-process, with every broken case installed."""
    import numpy as np
    import torch

    from scenedet.inference.modelfile import ModelMeta, save_model_file
    from scenedet.media.encode import FilmWriter

    host = load(site, *CASES)
    assert len(host.problems()) >= 7
    film = tmp_path / "film.mp4"
    with FilmWriter(film, width=64, height=48, fps=4, gop=4) as writer:
        for i in range(12):
            writer.write_frame(np.full((48, 64, 3), i * 20, np.uint8))
        writer.write_audio(np.zeros(48_000 * 3, np.float32))
    backbones = [scenedet.create_backbone(n, weights="random:0") for n in ("resnet18", "vggish")]
    head = torch.nn.Linear(640, 2)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 5.0]))
    model = tmp_path / "m.pt"
    save_model_file(model, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                     backbone_weights=tuple(b.weights_id for b in backbones),
                                     feature_dims=(512, 128)), head.state_dict())
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), "-m", str(model), "-l", "2",
                                      "-q"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert len(out["scores"]) == 3 and out["segments"][0]["start"] == 0
