"""Declared plugin options, one lookup with "did you mean" for every kind, ``scenedet plugins NAME``,
multi-part exporter suffixes and their clashes."""

from __future__ import annotations

import importlib
import inspect
import json
import types

import pytest
from click.testing import CliRunner
from plugin_helpers import plugin_with

import scenedet.builtin
from scenedet.cli import cli
from scenedet.errors import UnknownComponentError, UsageError
from scenedet.plugin import (DetectorSpec, ExporterSpec, OptionSpec, check_options, find_plugin,
                             get_exporter_for_suffix, hookimpl)
from scenedet.plugin.options import RUN_KEYWORDS
from scenedet.plugin._host import PluginHost, reset_host
from scenedet.plugin.specs import SpecError

pytestmark = pytest.mark.filterwarnings("ignore:scenedet plugin:RuntimeWarning")


class Toy:
    """A detector that finds nothing and remembers what it was given."""

    def __init__(self, *, threshold: float = 0.5, window: int = 2, strict: bool = False,
                 mode: str = "fast", device: str = "cpu") -> None:
        if not 0 < threshold < 1:
            raise UsageError(f"threshold must be in (0, 1), got {threshold}")
        self.given = {"threshold": threshold, "window": window, "strict": strict, "mode": mode,
                      "device": device}
        self.settings = {"mode": mode}

    def add_frames(self, batch):
        pass

    def add_audio(self, chunk):
        pass

    def finish(self, info):
        return []


TOY_OPTIONS = (
    OptionSpec("threshold", float, 0.5, "least score of a find, in (0, 1)"),
    OptionSpec("window", int, 2, "frames on each side"),
    OptionSpec("strict", bool, False, "refuse doubtful finds"),
    OptionSpec("mode", str, "fast", "how hard to look", choices=("fast", "slow")),
)
TOY = DetectorSpec(name="toy", factory=Toy, width=32, height=18, aliases=("toy-detector",),
                   options=TOY_OPTIONS, summary="finds nothing")


class Loose:
    """Declares nothing: its keywords pass through as typed."""

    def __init__(self, *, level=3, device="cpu"):
        self.level = int(level)  # ValueError on "abc": a plugin that checks nothing itself

    def add_frames(self, batch):
        pass

    def add_audio(self, chunk):
        pass

    def finish(self, info):
        return []


LOOSE = DetectorSpec(name="loose", factory=Loose, width=32, height=18)


# -- check_options -----------------------------------------------------------------------------------
def test_check_options_converts_what_the_command_line_typed():
    raw = {"threshold": "0.25", "window": "4", "strict": "yes", "mode": "slow"}
    assert check_options("toy", TOY, raw) == {"threshold": 0.25, "window": 4, "strict": True,
                                              "mode": "slow"}
    # parse_options turns numbers into numbers; Python callers pass Python values
    assert check_options("toy", TOY, {"threshold": 1, "window": 3.0, "strict": 0}) == {
        "threshold": 1.0, "window": 3, "strict": False}
    assert type(check_options("toy", TOY, {"threshold": 1})["threshold"]) is float
    for text, value in [("true", True), ("False", False), ("1", True), ("0", False), ("NO", False),
                        ("on", True)]:
        assert check_options("toy", TOY, {"strict": text}) == {"strict": value}
    assert check_options("toy", TOY, {}) == {}  # only what was given: the factory's defaults apply


def test_check_options_accepts_dashes_for_underscores():
    spec = DetectorSpec(name="d", factory=lambda *, min_shot=1: None,
                        options=(OptionSpec("min_shot", int, 1, "h"),))
    assert check_options("d", spec, {"min-shot": "5"}) == {"min_shot": 5}


@pytest.mark.parametrize("key, value, message", [
    ("threshold", "abc", "toy: threshold must be a number, got 'abc'"),
    ("threshold", True, "toy: threshold must be a number, got True"),
    ("window", "2.5", "toy: window must be a whole number, got '2.5'"),
    ("window", 2.5, "toy: window must be a whole number, got 2.5"),
    ("strict", "maybe", "toy: strict must be true or false (yes/no, 1/0), got 'maybe'"),
    ("strict", 2, "toy: strict must be true or false (yes/no, 1/0), got 2"),
    ("mode", "medium", "toy: mode must be one of 'fast', 'slow', got 'medium'"),
    ("threshold", "nan", "toy: threshold must be a number, got 'nan'"),
])
def test_a_bad_value_is_one_line_naming_the_plugin_and_the_option(key, value, message):
    with pytest.raises(UsageError) as caught:
        check_options("toy", TOY, {key: value})
    assert str(caught.value) == message and "\n" not in message


def test_an_unknown_key_lists_the_valid_keys_with_did_you_mean():
    with pytest.raises(UsageError) as caught:
        check_options("toy", TOY, {"treshold": "0.4"})
    assert str(caught.value) == ("toy: unknown option 'treshold'; did you mean 'threshold'? "
                                 "(options: mode, strict, threshold, window)")
    with pytest.raises(UsageError) as caught:
        check_options("toy", TOY, {"colour": "red"})
    assert str(caught.value) == "toy: unknown option 'colour' (options: mode, strict, threshold, window)"


def test_the_runs_own_keywords_pass_through_untouched():
    assert check_options("toy", TOY, {"device": "cuda", "batch_size": 4, "window": "3"}) == {
        "device": "cuda", "batch_size": 4, "window": 3}


def test_without_declared_options_keys_pass_through_checked_against_the_factory():
    assert check_options("loose", LOOSE, {"level": "abc"}) == {"level": "abc"}  # as typed
    with pytest.raises(UsageError) as caught:
        check_options("loose", LOOSE, {"levle": 2})
    assert str(caught.value) == "loose: unknown option 'levle'; did you mean 'level'? (options: level)"
    anything = DetectorSpec(name="any", factory=lambda **kw: kw)
    assert check_options("any", anything, {"whatever": "1"}) == {"whatever": "1"}
    with pytest.raises(UsageError, match="must be a mapping"):
        check_options("toy", TOY, ["threshold=1"])  # type: ignore[arg-type]


# -- OptionSpec and DetectorSpec.options are checked when built ------------------------------------------
@pytest.mark.parametrize("build, message", [
    (lambda: OptionSpec("min shot", int, 1, "h"), "name must be a Python identifier"),
    (lambda: OptionSpec("device", str, "cpu", "h"), "offered by the run"),
    (lambda: OptionSpec("x", list, [], "h"), "type must be int, float, bool or str"),
    (lambda: OptionSpec("x", float, "a", "h"), "default must be a number"),
    (lambda: OptionSpec("x", int, True, "h"), "default must be a whole number"),
    (lambda: OptionSpec("x", int, 1.5, "h"), "default must be a whole number"),
    (lambda: OptionSpec("x", str, "c", "h", choices=("a", "b")), "default 'c' is not one of its choices"),
    (lambda: OptionSpec("x", int, 1, "h", choices=("a",)), "choice 'a' is not a whole number"),
    (lambda: OptionSpec("x", int, 1, None), "help must be a string"),
])
def test_a_malformed_option_spec_is_a_one_line_spec_error(build, message):
    with pytest.raises(SpecError, match=message):
        build()


def test_option_spec_values_and_json():
    option = OptionSpec("rate", float, 2, "per second", choices=[1, 2.5, "2"])
    assert option.default == 2.0 and type(option.default) is float
    assert option.choices == (1.0, 2.5, 2.0)
    assert option.to_dict() == {"name": "rate", "type": "float", "default": 2.0,
                                "help": "per second", "choices": [1.0, 2.5, 2.0]}
    assert OptionSpec("x", int, None, "unset: the factory decides").check("p", None) is None


def test_detector_spec_options_must_be_keywords_of_its_factory():
    with pytest.raises(SpecError, match="declares 'level', which its factory does not take"):
        DetectorSpec(name="bad", factory=Toy, options=(OptionSpec("level", int, 1, "h"),))
    with pytest.raises(SpecError, match="declares 'window' twice"):
        DetectorSpec(name="bad", factory=Toy, options=(OptionSpec("window", int, 1, "h"),) * 2)
    with pytest.raises(SpecError, match="must be a tuple of OptionSpec"):
        DetectorSpec(name="bad", factory=Toy, options=({"name": "window"},))
    assert DetectorSpec(name="ok", factory=lambda **kw: kw,
                        options=[OptionSpec("anything", str, "", "h")]).options[0].name == "anything"


# -- the reference detectors declare their factories' real options ----------------------------------------
def _registered(module_name: str) -> list[DetectorSpec]:
    module = importlib.import_module(module_name)
    found: list[DetectorSpec] = []
    module.register_detectors(register=found.append)
    return found


@pytest.mark.parametrize("module_name", ["scenedet_shots.plugin", "scenedet_cues.plugin"])
def test_every_reference_detector_declares_its_factory_options(module_name):
    for spec in _registered(module_name):
        declared = {o.name: o for o in spec.options}
        assert declared, f"{spec.name} declares no options"
        assert all(o.help for o in spec.options)
        params = inspect.signature(spec.factory).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            continue  # cues: checked below through its parts
        taken = {n: p.default for n, p in params.items() if n not in RUN_KEYWORDS | {"network"}}
        assert set(declared) == set(taken), spec.name
        for name, default in taken.items():
            assert declared[name].default == default and type(declared[name].default) is type(default), \
                f"{spec.name}.{name}: declared {declared[name].default!r}, factory {default!r}"


def test_cues_declares_every_option_of_its_three_parts():
    specs = {s.name: s for s in _registered("scenedet_cues.plugin")}
    expected = {f"{prefix}_{o.name}": o.default for prefix, part in
                [("black", "black"), ("silence", "silence"), ("bars", "colour-bars")]
                for o in specs[part].options}
    assert {o.name: o.default for o in specs["cues"].options} == expected
    from scenedet_cues.detectors import CuesDetector

    built = CuesDetector(**check_options("cues", specs["cues"], {"black_min_duration": "2"}))
    assert built.settings["black"]["min_duration"] == 2.0


# -- find_plugin: one lookup, one "did you mean" over scenes and detectors ---------------------------------
def test_find_plugin_resolves_scenes_detectors_and_aliases():
    with plugin_with(detectors=[TOY]):
        assert find_plugin("kissing")[0] == "scene"
        assert find_plugin("toy") == ("detector", TOY)
        assert find_plugin("toy-detector") == ("detector", TOY)
        with pytest.raises(UnknownComponentError) as caught:
            find_plugin("toi")
        message = str(caught.value)
        assert message == ("unknown plugin 'toi'; did you mean 'toy'? "
                           "(scenes: kissing; detectors: toy)")
        assert isinstance(caught.value, UsageError) and isinstance(caught.value, KeyError)
        with pytest.raises(UnknownComponentError, match="did you mean 'kissing'"):
            find_plugin("kisssing")
        with pytest.raises(UnknownComponentError, match=r"^unknown plugin 'zzz' \(scenes"):
            find_plugin("zzz")
        with pytest.raises(UnknownComponentError, match="not a string"):
            find_plugin(None)  # type: ignore[arg-type]


def test_find_plugin_suggests_the_name_behind_a_close_alias():
    with plugin_with(detectors=[TOY]):
        with pytest.raises(UnknownComponentError, match="did you mean 'toy'"):
            find_plugin("toy-detectr")


def test_the_per_kind_lookups_keep_working_with_did_you_mean():
    from scenedet.plugin import get_detector_spec, get_scene

    with plugin_with(detectors=[TOY]):
        assert get_scene("kissing").name == "kissing" and get_detector_spec("toy-detector") is TOY
        with pytest.raises(UnknownComponentError, match="unknown detector 'toi'; did you mean 'toy'"):
            get_detector_spec("toi")


def test_the_public_registry_module_offers_what_the_engine_calls():
    import scenedet.plugin.registry as registry

    assert registry.find_plugin is find_plugin and registry.check_options is check_options
    assert not [name for name in registry.__all__ if not hasattr(registry, name)]


# -- create_detector checks the options too -----------------------------------------------------------------
def test_create_detector_converts_declared_options():
    from scenedet.plugin import create_detector

    with plugin_with(detectors=[TOY, LOOSE]):
        toy = create_detector("toy", threshold="0.3", strict="yes", device="cuda", batch_size=8)
        assert toy.given == {"threshold": 0.3, "window": 2, "strict": True, "mode": "fast",
                             "device": "cuda"}  # batch_size: not a keyword of Toy, dropped
        with pytest.raises(UsageError, match=r"^toy-detector: threshold must be a number, got 'x'$"):
            create_detector("toy-detector", threshold="x")
        with pytest.raises(UsageError, match="threshold must be in"):  # the factory's own check
            create_detector("toy", threshold="2")
        assert create_detector("loose", level="7").level == 7
        with pytest.raises(UsageError) as caught:
            create_detector("loose", level="abc")
        assert str(caught.value).startswith("loose: its options were refused (level='abc'): ValueError")


def test_a_bad_option_value_on_the_command_line_is_one_line_and_exit_2(media_films):
    film = media_films.get("cfr24").path
    with plugin_with(detectors=[TOY]):
        result = CliRunner().invoke(cli, ["run", "-p", "toy", str(film), "-O", "threshold=abc"])
        assert result.exit_code == 2
        assert result.output.strip().splitlines() == ["Error: toy: threshold must be a number, got 'abc'"]
        result = CliRunner().invoke(cli, ["run", "-p", "toy", str(film), "-O", "treshold=0.4"])
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
        assert "unknown option 'treshold'; did you mean 'threshold'?" in result.output


# -- scenedet plugins NAME ------------------------------------------------------------------------------
def test_plugins_name_shows_one_component_with_its_options():
    with plugin_with(detectors=[TOY]):
        result = CliRunner().invoke(cli, ["plugins", "toy"])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0] == "toy  detector from plugin 'toy' (toy_plugin, added in-process)"
        assert "  finds nothing" in lines and "  frames:          every frame at 32x18" in lines
        assert "  aliases:         toy-detector" in lines
        assert any(line.split()[:4] == ["threshold", "float", "=", "0.5"] for line in lines)
        assert any("(one of: fast, slow)" in line for line in lines)
        data = json.loads(CliRunner().invoke(cli, ["plugins", "toy-detector", "--json"]).output)
        assert data["match"] == "component" and [p["name"] for p in data["plugins"]] == ["toy"]
        (component,) = data["components"]
        assert (component["name"], component["kind"], component["owner"]) == ("toy", "detector", "toy")
        assert component["options"][0] == {"name": "threshold", "type": "float", "default": 0.5,
                                           "help": "least score of a find, in (0, 1)", "choices": []}
        assert [o["name"] for o in component["options"]] == ["threshold", "window", "strict", "mode"]
        assert (component["width"], component["height"], component["aliases"]) == (32, 18, ["toy-detector"])


def test_plugins_name_shows_a_distribution_a_plugin_and_an_exporter():
    result = CliRunner().invoke(cli, ["plugins", "scenedet-kissing", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["match"] == "distribution"
    assert {"kissing", "vision", "vggish"} <= {p["name"] for p in data["plugins"]}
    assert {("scene", "kissing"), ("backbone", "resnet18"), ("aggregator", "interval")} <= {
        (c["kind"], c["name"]) for c in data["components"]}
    text = CliRunner().invoke(cli, ["plugins", "segmentors"]).output
    assert text.splitlines()[0].startswith("segmentors 0.1.0") and "interval  aggregator" in text
    exporter = json.loads(CliRunner().invoke(cli, ["plugins", "edl", "--json"]).output)["components"][0]
    assert (exporter["kind"], exporter["suffixes"], exporter["owner"]) == ("exporter", [".edl"], "scenedet")
    assert "options" not in exporter
    assert "suffixes:        .edl" in CliRunner().invoke(cli, ["plugins", "edl"]).output


def test_plugins_name_unknown_is_one_line_with_did_you_mean_exit_2():
    result = CliRunner().invoke(cli, ["plugins", "kisssing"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: no plugin, distribution or component named 'kisssing'; "
                           "did you mean 'kissing'?")
    assert "scenedet-kissing" in line
    result = CliRunner().invoke(cli, ["plugins", "resnet-18", "--json"])
    assert result.exit_code == 2 and "did you mean 'resnet18'?" in result.output


def test_plugins_without_a_name_lists_as_before():
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("scenedet ")
    assert "query" not in json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)


# -- multi-part suffixes ---------------------------------------------------------------------------------
def _text(scenes):
    return "x\n"


def _exporters_plugin(*specs, name="formats"):
    module = types.ModuleType(f"{name}_plugin")
    module.register_exporters = hookimpl(lambda register: [register(s) for s in specs])
    return module


@pytest.fixture
def core_host():
    host = PluginHost()
    host.add_plugin(scenedet.builtin, "scenedet")
    reset_host(host)
    yield host
    reset_host(None)


def test_the_longest_matching_suffix_wins(core_host):
    core_host.add_plugin(_exporters_plugin(
        ExporterSpec(name="plain", suffixes=(".txt",), function=_text),
        ExporterSpec(name="youtube", suffixes=("yt.TXT",), function=_text),
        ExporterSpec(name="deep", suffixes=(".a.yt.txt",), function=_text)), "formats")
    assert not core_host.problems()
    assert get_exporter_for_suffix("film.yt.txt").name == "youtube"
    assert get_exporter_for_suffix("dir.v2/My.Film.YT.TXT").name == "youtube"
    assert get_exporter_for_suffix("film.txt").name == "plain"
    assert get_exporter_for_suffix("film.b.txt").name == "plain"
    assert get_exporter_for_suffix("x.a.yt.txt").name == "deep"
    assert get_exporter_for_suffix(".yt.txt").name == "youtube"
    assert get_exporter_for_suffix("results").name == "json"
    with pytest.raises(UsageError, match=r"^film\.yt\.srt: suffix '\.srt' names no output format"):
        get_exporter_for_suffix("film.yt.srt")


@pytest.mark.parametrize("suffixes, message", [
    ((".yt..txt",), "malformed suffix '.yt..txt'"),
    ((".",), "malformed suffix '.'"),
    (("a b",), "malformed suffix '.a b'"),
    ((".a/b",), "malformed suffix '.a/b'"),
    ((), "must name at least one suffix"),
    ((".md", "MD"), "repeats a suffix"),
    ((1,), "must be a suffix or a tuple of suffixes"),
])
def test_a_malformed_suffix_is_a_spec_error(suffixes, message):
    with pytest.raises(SpecError, match=message):
        ExporterSpec(name="bad", suffixes=suffixes, function=_text)


def test_a_suffix_claimed_twice_is_a_clash_on_the_loser_whatever_the_order(core_host):
    first = ExporterSpec(name="chapters", suffixes=(".yt.txt", ".chap"), function=_text)
    second = ExporterSpec(name="captions", suffixes=(".yt.txt",), function=_text)
    # ranked by distribution: "aaa" before "zzz", though added the other way round
    core_host.add_plugin(_exporters_plugin(second, name="late"), "late", distribution="zzz-formats")
    core_host.add_plugin(_exporters_plugin(first, name="early"), "early", distribution="aaa-formats")
    assert get_exporter_for_suffix("film.yt.txt").name == "chapters"
    assert get_exporter_for_suffix("film.chap").name == "chapters"
    problems = [(info.name, p.kind, p.message) for info, p in core_host.problems()]
    assert problems == [("late", "clash", "exporter suffix '.yt.txt' of 'captions' from plugin 'late' "
                         "is also claimed by 'chapters' from plugin 'early' (aaa-formats, third "
                         "party), which takes precedence; '.yt.txt' writes 'chapters'")]
    assert core_host.registries["exporter"].get("captions").name == "captions"  # still by name
    rows = {r["name"]: r for r in core_host.report()}
    assert rows["late"]["status"] == "problems" and rows["early"]["status"] == "ok"


def test_a_plugin_claiming_a_core_suffix_is_reported_and_the_core_keeps_it(core_host):
    core_host.add_plugin(_exporters_plugin(
        ExporterSpec(name="aaa-json", suffixes=(".json", ".j2"), function=_text)), "mine")
    assert get_exporter_for_suffix("x.json").name == "json"
    assert get_exporter_for_suffix("x.j2").name == "aaa-json"
    ((info, problem),) = core_host.problems()
    assert (info.name, problem.kind) == ("mine", "clash")
    assert "'.json' of 'aaa-json' from plugin 'mine' is also claimed by 'json' from plugin 'scenedet'" \
        in problem.message
    assert problem.where.endswith("test_plugin_options.py:" + problem.where.rsplit(":", 1)[1])


def test_a_suffix_clash_fails_strict_like_a_name_clash(core_host):
    core_host.add_plugin(_exporters_plugin(
        ExporterSpec(name="other-csv", suffixes=(".csv",), function=_text)), "mine")
    result = CliRunner().invoke(cli, ["--strict", "plugins"])
    assert result.exit_code == 1
    assert "exporter suffix '.csv' of 'other-csv'" in result.output.strip().splitlines()[-1]
