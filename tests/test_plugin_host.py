"""The plugin host: discovery, isolation of broken plugins, registries, by-name reuse."""

import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

import scenedet
from scenedet import AggregatorSpec, BackboneSpec, HeadSpec, SceneSpec, hookimpl
from scenedet.errors import UnknownComponentError
from scenedet.plugin._host import PluginHost, get_host, reset_host


pytestmark = pytest.mark.filterwarnings("ignore:scenedet plugin:RuntimeWarning")


@pytest.fixture
def host():
    host = PluginHost()
    reset_host(host)
    yield host
    reset_host(None)


def _plugin(**hooks):
    module = types.ModuleType("fake_plugin")
    for name, fn in hooks.items():
        setattr(module, name, hookimpl(fn))
    return module


def _agg(labels, min_length, threshold):
    return [(0, len(labels) - 1)] if len(labels) >= min_length else []


def test_installed_entry_points_register_the_reference_set():
    reset_host(None)
    host = get_host()
    assert "scenedet" in host.plugins and "kissing" in host.plugins
    assert "kissing" in scenedet.list_scenes()
    assert {"still", "audio-logmel"} <= set(scenedet.list_extractors())
    assert "linear" in scenedet.list_heads()
    assert host.plugins["scenedet"].components["extractor"]


def test_register_callback_fills_registries_and_records_the_owner(host):
    def register_aggregators(register):
        register(AggregatorSpec(name="everything", function=_agg, aliases=("all",)))

    host.add_plugin(_plugin(register_aggregators=register_aggregators), "mine", version="1.2")
    assert scenedet.list_aggregators() == ["everything"]
    assert scenedet.create_aggregator("all") is _agg
    assert host.registries["aggregator"].owner("everything") == "mine"
    assert host.plugins["mine"].components == {"aggregator": ["everything"]}
    assert host.plugins["mine"].hooks == ["register_aggregators"]


def test_a_failing_plugin_is_reported_and_others_keep_working(host):
    def broken(register):
        raise RuntimeError("boom")

    def good(register):
        register(HeadSpec(name="tiny", factory=lambda **kw: None))

    with pytest.warns(RuntimeWarning, match="'bad': register_heads failed: RuntimeError: boom; it registered nothing"):
        host.add_plugin(_plugin(register_heads=broken), "bad")
    host.add_plugin(_plugin(register_heads=good), "good")
    assert scenedet.list_heads() == ["tiny"]
    assert "boom" in host.failures["bad"]


def test_wrong_spec_type_is_a_failure_not_a_crash(host):
    def wrong(register):
        register(HeadSpec(name="x", factory=lambda **kw: None))

    with pytest.warns(RuntimeWarning, match="takes a BackboneSpec"):
        host.add_plugin(_plugin(register_backbones=wrong), "wrong")
    assert scenedet.list_backbones() == []


def test_name_clash_names_both_plugins(host):
    def one(register):
        register(SceneSpec(name="fight", backbones=("resnet18",)))

    host.add_plugin(_plugin(register_scenes=one), "first")
    with pytest.warns(RuntimeWarning, match="'fight' from plugin 'second' is already registered by 'first'"):
        host.add_plugin(_plugin(register_scenes=one), "second")
    assert scenedet.get_scene("fight").backbones == ("resnet18",)


def test_unknown_name_lists_what_exists(host):
    def one(register):
        register(SceneSpec(name="fight", backbones=("resnet18",)))

    host.add_plugin(_plugin(register_scenes=one), "first")
    with pytest.raises(UnknownComponentError, match=r"unknown scene 'kiss' \(available: fight\)"):
        scenedet.get_scene("kiss")


def test_prefix_backbones_receive_the_variant(host):
    made = {}

    def factory(*, weights, variant):
        made.update(weights=weights, variant=variant)
        return "built"

    def backbones(register):
        register(BackboneSpec(name="zoo", factory=factory, input="still", modality="visual",
                              feature_dim=None, prefix=True))

    host.add_plugin(_plugin(register_backbones=backbones), "zoo")
    assert scenedet.create_backbone("zoo:big_net", weights="random:3") == "built"
    assert made == {"weights": "random:3", "variant": "big_net"}
    with pytest.raises(ValueError, match="needs a variant"):
        scenedet.create_backbone("zoo")
    assert scenedet.list_backbones(modality="audio") == []
    assert scenedet.list_backbones("z*", modality="visual") == ["zoo"]


def test_load_plugins_env_restricts_discovery(monkeypatch):
    monkeypatch.delenv("SCENEDET_PLUGINS", raising=False)  # the old name counts only without it
    monkeypatch.setenv("SCENEDET_LOAD_PLUGINS", "scenedet")
    host = PluginHost()
    host.load_entry_points()
    assert list(host.plugins) == ["scenedet"]
    monkeypatch.setenv("SCENEDET_LOAD_PLUGINS", "")
    host = PluginHost()
    host.load_entry_points()
    assert host.plugins == {}


def test_backbone_spec_rejects_unknown_modality():
    with pytest.raises(ValueError):
        BackboneSpec(name="x", factory=print, input="still", modality="smell", feature_dim=1)


def test_a_plugin_extractor_is_created_fresh_per_call(host):
    from scenedet import ExtractorSpec
    from scenedet.media.types import MediaRequest, Second
    import numpy as np

    class Brightness:
        name = "brightness"
        request = MediaRequest(frames=1)

        def reset(self):
            pass

        def __call__(self, second):
            return np.array([second.still.mean()], dtype=np.float32)

    def register_extractors(register):
        register(ExtractorSpec(name="brightness", factory=Brightness, output="(1,) float32"))

    host.add_plugin(_plugin(register_extractors=register_extractors), "bright")
    a, b = scenedet.create_extractor("brightness"), scenedet.create_extractor("brightness")
    assert a is not b
    still = np.full((4, 4, 3), 10, np.uint8)
    assert a(Second(index=0, frames=(still,))) == pytest.approx([10.0])


# -- specs are checked when built: a malformed one never reaches a registry ---------------------
def _fn(*args, **kwargs):
    return None


MALFORMED = [
    (lambda: SceneSpec(name="s", backbones="resnet18"), "SceneSpec('s'): backbones must be a tuple of names, got the string 'resnet18'"),
    (lambda: SceneSpec(name="s", backbones=()), "SceneSpec('s'): backbones must name at least one"),
    (lambda: SceneSpec(name="s", backbones=("resnet18", "")), "SceneSpec('s'): backbones must not be empty"),
    (lambda: SceneSpec(name="s", backbones=("a",), min_length=0), "SceneSpec('s'): min_length must be a whole number of seconds >= 1, got 0"),
    (lambda: SceneSpec(name="s", backbones=("a",), min_length=2.5), "min_length must be a whole number"),
    (lambda: SceneSpec(name="s", backbones=("a",), threshold=0), "SceneSpec('s'): threshold must be in (0, 1], got 0"),
    (lambda: SceneSpec(name="s", backbones=("a",), threshold=70), "threshold must be in (0, 1] (a fraction, not a percentage)"),
    (lambda: SceneSpec(name="s", backbones=("a",), threshold=True), "threshold must be a number"),
    (lambda: SceneSpec(name="s", backbones=("a",), label_threshold=1.5), "SceneSpec('s'): label_threshold must be a probability in [0, 1], got 1.5"),
    (lambda: SceneSpec(name="s", backbones=("a",), label_threshold=-0.1), "label_threshold must be a probability"),
    (lambda: SceneSpec(name="s", backbones=("a",), labels=("only one",)), "labels must be two non-empty strings"),
    (lambda: SceneSpec(name="", backbones=("a",)), "SceneSpec: name must not be empty"),
    (lambda: SceneSpec(name="two words", backbones=("a",)), "name must be one word without spaces or ':'"),
    (lambda: SceneSpec(name="s", backbones=("a",), aliases="fight"), "aliases must be a tuple of names, got the string 'fight'"),
    (lambda: BackboneSpec(name="b", factory="resnet", input="still", modality="visual", feature_dim=1), "BackboneSpec('b'): factory must be callable, got str 'resnet'"),
    (lambda: BackboneSpec(name="b", factory=_fn, input="still", modality="smell", feature_dim=1), "BackboneSpec('b'): modality must be one of 'visual', 'audio', got 'smell'"),
    (lambda: BackboneSpec(name="b", factory=_fn, input="still", modality="audio", feature_dim=0), "feature_dim must be a whole number >= 1"),
    (lambda: BackboneSpec(name="b", factory=_fn, input="", modality="audio", feature_dim=3), "input must not be empty"),
    (lambda: AggregatorSpec(name="a", function=None), "AggregatorSpec('a'): function must be callable, got NoneType None"),
    (lambda: HeadSpec(name="h", factory=3), "HeadSpec('h'): factory must be callable"),
    (lambda: HeadSpec(name=5, factory=_fn), "HeadSpec: name must be a string, got int 5"),
]


@pytest.mark.parametrize("build, message", MALFORMED, ids=[m for _, m in MALFORMED])
def test_a_malformed_spec_is_refused_with_one_line(build, message):
    from scenedet.plugin.specs import SpecError

    with pytest.raises(SpecError) as caught:
        build()
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)


def test_well_formed_edge_values_are_accepted():
    from fractions import Fraction

    for threshold in (1, "2/3", Fraction(1, 3), 0.01):
        SceneSpec(name="s", backbones=["a", "timm:convnext_tiny"], threshold=threshold)
    for label_threshold in (0, 1, 0.5):
        SceneSpec(name="s", backbones=("a",), label_threshold=label_threshold)
    assert SceneSpec(name="s", backbones=["a", "b"]).backbones == ("a", "b")
    BackboneSpec(name="zoo", factory=_fn, input="still", modality="visual", feature_dim=None, prefix=True)


def test_register_refuses_a_spec_of_the_wrong_kind_and_keeps_the_rest(host):
    def heads(register):
        register(BackboneSpec(name="b", factory=_fn, input="still", modality="audio", feature_dim=1))
        register(HeadSpec(name="kept", factory=_fn))

    with pytest.warns(RuntimeWarning, match="register\\(\\) in register_heads takes a HeadSpec, got BackboneSpec"):
        host.add_plugin(_plugin(register_heads=heads), "mixed")
    assert scenedet.list_heads() == ["kept"]
    assert host.plugins["mixed"].problems[0].where.endswith("test_plugin_host.py:" + str(
        heads.__code__.co_firstlineno + 1))


# -- precedence: the better rank keeps a name, whatever the order of adding ---------------------
@st.composite
def _claims(draw):
    """Plugins (distinct ranks) each claiming some of a few names, added in a random order."""
    n = draw(st.integers(1, 5))
    ranks = draw(st.lists(st.tuples(st.integers(0, 3), st.text("abc", max_size=2)), min_size=n,
                          max_size=n, unique=True))
    claims = [draw(st.lists(st.sampled_from("vwxyz"), max_size=3, unique=True)) for _ in range(n)]
    order = draw(st.permutations(range(n)))
    return ranks, claims, order


@given(_claims())
def test_registry_owner_is_the_best_ranked_claimant_in_any_order(case):
    from scenedet.plugin._registry import NameClash, Registry

    ranks, claims, order = case
    registry = Registry("aggregator")
    for i in order:
        for name in claims[i]:
            try:
                registry.add(AggregatorSpec(name=name, function=_fn), f"p{i}", ranks[i])
            except NameClash as clash:
                assert clash.owner != f"p{i}" and clash.plugin == f"p{i}"
    for name in {n for c in claims for n in c}:
        best = min((ranks[i], i) for i, c in enumerate(claims) if name in c)[1]
        assert registry.owner(name) == f"p{best}"


def test_a_displaced_component_is_dropped_whole_with_its_aliases():
    from scenedet.plugin._registry import NameClash, Registry

    registry = Registry("aggregator")
    thief = AggregatorSpec(name="gaps", function=_fn, aliases=("interval",))
    assert registry.add(thief, "thief", (2,)) == []
    assert registry.add(AggregatorSpec(name="interval", function=_fn), "segmentors", (1,)) == [(thief, "thief")]
    assert registry.names() == ["interval"] and "gaps" not in registry
    with pytest.raises(NameClash, match="'interval' from plugin 'late' is already registered by 'segmentors'"):
        registry.add(AggregatorSpec(name="interval", function=_fn), "late", (2,))


def test_commands_are_rebuilt_without_duplicates_when_a_plugin_is_added(host):
    import click

    def commands(cli):
        @cli.command("hello")
        def hello():
            click.echo("hi")

        @cli.command("run")
        def run():
            click.echo("hijacked")

    host.add_plugin(_plugin(register_commands=commands), "greeter")
    builtin = {"run": click.Command("run")}
    assert list(host.plugin_commands(builtin)) == ["hello"]
    host.add_plugin(_plugin(register_heads=lambda register: None), "other")
    assert list(host.plugin_commands(builtin)) == ["hello"]
    info = host.plugins["greeter"]
    assert info.components == {"command": ["hello"]}
    assert [p.kind for p in info.problems] == ["command-clash"]


def test_a_register_commands_hook_that_raises_keeps_none_of_its_commands(host):
    import click

    def commands(cli):
        @cli.command("half")
        def half():
            pass

        raise RuntimeError("broken click version")

    host.add_plugin(_plugin(register_commands=commands), "halfcli")
    assert host.plugin_commands({}) == {}
    [problem] = host.plugins["halfcli"].problems
    assert problem.message == ("register_commands failed: RuntimeError: broken click version; "
                               "none of its commands were kept")


def test_an_unmarked_hook_is_reported(host):
    module = types.ModuleType("forgetful")
    module.register_scenes = lambda register: None
    host.add_plugin(module, "forgetful")
    assert host.plugins["forgetful"].problems[0].message == \
        "register_scenes is not marked @hookimpl and is ignored"


def test_a_second_plugin_under_a_taken_name_is_listed_not_loaded(host):
    host.add_plugin(_plugin(), "dup", distribution="scenedet-first")
    info = host.add_plugin(_plugin(register_heads=lambda register: register(HeadSpec(name="h", factory=_fn))),
                           "dup", distribution="scenedet-second")
    assert info.name == "dup (scenedet-second)" and info.status == "failed"
    assert "plugin name 'dup' is already taken by scenedet-first, third party" in info.problems[0].message
    assert scenedet.list_heads() == []


def test_register_called_after_the_hook_returned_is_refused(host):
    kept = []

    def scenes(register):
        kept.append(register)

    host.add_plugin(_plugin(register_scenes=scenes), "late")
    kept[0](SceneSpec(name="late", backbones=("resnet18",)))
    assert scenedet.list_scenes() == []
    assert "register() called after register_scenes returned" in host.plugins["late"].problems[0].message


def test_a_wrapper_hook_is_skipped(host):
    module = types.ModuleType("wrapping")

    def register_heads(register):
        yield

    module.register_heads = hookimpl(wrapper=True)(register_heads)
    host.add_plugin(module, "wrapping")
    assert host.plugins["wrapping"].hooks == []
    assert "is a wrapper" in host.plugins["wrapping"].problems[0].message


def test_sys_exit_in_a_hook_ends_only_the_hook(host):
    import sys

    def scenes(register):
        sys.exit(3)

    host.add_plugin(_plugin(register_scenes=scenes, register_heads=lambda register: register(
        HeadSpec(name="still-here", factory=_fn))), "quitter")
    assert "register_scenes failed: SystemExit: 3" in host.plugins["quitter"].problems[0].message
    assert scenedet.list_heads() == ["still-here"]


def test_a_command_the_group_already_has_from_the_same_plugin_is_not_a_clash(host):
    import click

    def commands(cli):
        @cli.command("hello")
        def hello():
            click.echo("hi")

    plugin = _plugin(register_commands=commands)
    host.add_plugin(plugin, "greeter")
    group = click.Group("scenedet")
    plugin.register_commands(cli=group)  # the old way: the hook run on the group by hand
    assert host.plugin_commands(group.commands) == {}
    assert host.plugins["greeter"].problems == []
