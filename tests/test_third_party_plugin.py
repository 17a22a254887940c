"""A third-party plugin, written as docs/plugin-guide.md says, works beside the reference set."""

import types

import click
import pytest
from click.testing import CliRunner

import scenedet
from scenedet import AggregatorSpec, SceneSpec, hookimpl
from scenedet.plugin._host import PluginHost, get_host, reset_host


def longest_run(labels, min_length, threshold):
    runs, start = [], None
    for i, positive in enumerate(list(labels) + [False]):
        if positive and start is None:
            start = i
        elif not positive and start is not None:
            if i - start >= min_length:
                runs.append((start, i))  # end-exclusive, the SDK convention
            start = None
    return runs


def _fight_plugin():
    module = types.ModuleType("scenedet_fight")

    def register_scenes(register):
        register(SceneSpec(name="fight", backbones=("r3d34", "vggish"), min_length=5,
                           threshold=0.6, labels=("calm", "fight")))

    def register_aggregators(register):
        register(AggregatorSpec(name="longest-runs", function=longest_run))

    def register_commands(cli):
        @cli.command("fight-info")
        def fight_info():
            click.echo("fight plugin here")

    for fn in (register_scenes, register_aggregators, register_commands):
        setattr(module, fn.__name__, hookimpl(fn))
    return module


@pytest.fixture
def host_with_fight():
    reset_host(None)
    host = get_host()  # the installed plugins, as a user has them
    host.add_plugin(_fight_plugin(), "fight", version="0.1.0")
    yield host
    reset_host(None)


def test_scene_reuses_reference_backbones_by_name(host_with_fight):
    scene = scenedet.get_scene("fight")
    for name in scene.backbones:
        spec = scenedet.get_backbone_spec(name)
        assert host_with_fight.registries["backbone"].owner(name) in ("r3d", "vggish")
        assert spec.feature_dim in (512, 128)
    assert "fight" in scenedet.list_scenes() and "kissing" in scenedet.list_scenes()


def test_its_aggregator_serves_segment(host_with_fight):
    labels = [0, 1, 1, 1, 1, 1, 0, 1, 1, 0]
    found = scenedet.segment(labels, min_length=5, threshold=1, aggregator="longest-runs")
    assert [(s.start, s.end) for s in found] == [(1, 6)]


def test_its_command_joins_the_cli(host_with_fight):
    from scenedet.cli import cli

    result = CliRunner().invoke(cli, ["fight-info"])  # the host asks it for its commands
    assert result.exit_code == 0 and result.output == "fight plugin here\n"
    assert "fight-info" not in cli.commands  # beside the built-in commands, not among them
    assert host_with_fight.plugins["fight"].components["command"] == ["fight-info"]


def test_kissing_recipe_is_the_papers():
    reset_host(None)
    scene = scenedet.get_scene("kissing")
    assert scene.backbones == ("resnet18", "vggish")
    assert (scene.head, scene.aggregator, scene.min_length, scene.threshold) == ("linear", "interval", 10, 0.7)
    assert scenedet.get_backbone_spec("resnet18").feature_dim + scenedet.get_backbone_spec("vggish").feature_dim == 640
