"""Fight scenes: ResNet-18 on each second's still + VGGish on its audio, short gaps merged."""

import click

from scenedet.plugin import AggregatorSpec, SceneSpec, get_scene, hookimpl

MAX_GAP = 2  # calm seconds that may sit inside one fight


def merge_gaps(labels, min_length, threshold):
    """Runs of positive seconds joined across gaps of at most MAX_GAP seconds; scenes at least
    min_length long with at least threshold positive, as half-open (start, end) pairs."""
    scenes = []
    for i, positive in enumerate(labels):
        if positive and scenes and i - scenes[-1][1] <= MAX_GAP:
            scenes[-1][1] = i + 1
        elif positive:
            scenes.append([i, i + 1])
    return [(s, e) for s, e in scenes
            if e - s >= min_length and sum(labels[s:e]) >= threshold * (e - s)]


@hookimpl
def register_aggregators(register):
    register(AggregatorSpec(name="merge-gaps", function=merge_gaps,
                            summary=f"positive runs joined across gaps of <= {MAX_GAP} s"))


@hookimpl
def register_scenes(register):
    register(SceneSpec(name="fight", backbones=("resnet18", "vggish"), aggregator="merge-gaps",
                       min_length=5, threshold=0.6, labels=("calm", "fight"),
                       summary="Fights: ResNet-18 still + VGGish audio, gaps <= 2 s merged"))


@hookimpl
def register_commands(cli):
    @cli.command("fight-recipe")
    def fight_recipe():
        """Show what the fight scene is made of."""
        scene = get_scene("fight")
        click.echo(f"{scene.name}: {' + '.join(scene.backbones)} -> {scene.head} head "
                   f"-> {scene.aggregator} (>= {scene.min_length} s, >= {scene.threshold:.0%})")
