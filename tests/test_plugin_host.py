"""The plugin host: discovery, isolation of broken plugins, registries, by-name reuse."""

import types

import pytest

import scenedet
from scenedet import AggregatorSpec, BackboneSpec, HeadSpec, SceneSpec, hookimpl
from scenedet.errors import UnknownComponentError
from scenedet.plugin._host import PluginHost, get_host, reset_host


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
