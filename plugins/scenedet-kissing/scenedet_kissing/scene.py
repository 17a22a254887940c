"""The ``kissing`` scene: ResNet-18 on the last still of each second + VGGish on its audio.

The recipe of Ziai & al., "Detecting kissing scenes in a database of Hollywood films": a linear
head over the 640-d concatenation, scenes of at least 10 s with at least 70 % kissing seconds.
"""

from __future__ import annotations

from scenedet.plugin import hookimpl, SceneSpec


@hookimpl
def register_scenes(register):
    register(SceneSpec(
        name="kissing",
        backbones=("resnet18", "vggish"),
        head="linear",
        aggregator="interval",
        min_length=10,
        threshold=0.7,
        label_threshold=0.5,
        labels=("not kissing", "kissing"),
        summary="Kissing scenes: ResNet-18 still + VGGish audio, linear head (F1 0.95 in the paper)",
    ))
