"""The plugin guide's hook snippets, put together, are one working plugin.

They are run from docs/plugin-guide.md itself, next to the core's own plugin only (no reference
set, no third party): so the guide's examples work as printed, and a scene that depends on
scenedet alone works with the core's defaults (the ``linear`` head, the ``runs`` aggregator).
"""

from __future__ import annotations

import copy
import re
import types
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import scenedet
import scenedet.builtin
import scenedet.cli  # before any private host is installed: the real group gets only real plugins
from scenedet.plugin import Second, UsageError, WeightsError
from scenedet.plugin._host import PluginHost, reset_host

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugin-guide.md"
HOOK_HEADING = re.compile(r"^## (register_\w+)\(\w+\)$", flags=re.M)


def _snippets() -> dict[str, str]:
    """Hook name -> the Python blocks under its ``## register_...(...)`` heading."""
    text = GUIDE.read_text()
    parts = re.split(r"^(## .+)$", text, flags=re.M)
    found = {}
    for heading, body in zip(parts[1::2], parts[2::2]):
        match = HOOK_HEADING.match(heading)
        if match:
            blocks = re.findall(r"^```python\n(.*?)^```$", body, flags=re.M | re.S)
            if blocks:
                found[match.group(1)] = "\n".join(blocks)
    return found


@pytest.fixture(scope="module")
def guide_module() -> types.ModuleType:
    module = types.ModuleType("guide_plugin")
    for hook, code in _snippets().items():
        exec(compile(code, f"docs/plugin-guide.md ## {hook}", "exec"), module.__dict__)
    return module


@pytest.fixture
def host(guide_module):
    host = PluginHost()
    host.add_plugin(scenedet.builtin, "scenedet", version=scenedet.__version__)
    host.add_plugin(guide_module, "guide", version="0")
    reset_host(host)
    yield host
    reset_host(None)


def test_the_guide_has_snippets_for_the_component_hooks():
    assert {"register_extractors", "register_backbones", "register_heads", "register_scenes",
            "register_commands", "register_exporters", "register_detectors"} <= set(_snippets())


def test_the_snippets_load_as_one_plugin(host):
    assert not getattr(host, "failures", {})
    assert not getattr(host.plugins["guide"], "problems", [])
    components = host.plugins["guide"].components
    assert (components["extractor"], components["backbone"], components["head"],
            components["scene"], components["exporter"], components["detector"]) == (
        ["brightness"], ["tiny-still"], ["mlp"], ["bright-rooms"], ["youtube-chapters"], ["frozen"])


def test_register_extractors_guide_example_reads_each_still(host):
    extractor = scenedet.create_extractor("brightness")
    extractor.reset()
    still = np.full((12, 16, 3), 51, dtype=np.uint8)
    out = extractor(Second(index=3, frames=(still,)))
    assert out.dtype == np.float32 and out.shape == (1,)
    assert out[0] == pytest.approx(0.2)
    assert extractor.request.frames == 1 and not extractor.request.audio


def test_register_backbones_guide_example_builds_and_embeds(host):
    import torch

    backbone = scenedet.create_backbone("tiny-still", weights="random:0")
    assert (backbone.name, backbone.input, backbone.feature_dim) == ("tiny-still", "still", 8)
    assert backbone.weights_id == "random:0" and not backbone.training
    item = backbone.preprocess(np.zeros((90, 120, 3), dtype=np.uint8))
    assert item.shape == (3, 64, 64)  # ImagePreprocess: shorter side 72, centre crop 64
    with torch.no_grad():
        features = backbone(torch.stack([item, item]))
    assert features.shape == (2, 8)
    again = scenedet.create_backbone("tiny-still", weights="random:0")
    with torch.no_grad():
        assert torch.allclose(again(item[None]), features[:1], atol=1e-6)  # seeded: the same network
    with pytest.raises(WeightsError):
        scenedet.create_backbone("tiny-still", weights="pretrained")


def test_register_heads_guide_example_maps_features_to_logits(host):
    import torch

    head = scenedet.create_head("mlp", in_features=8)
    assert head(torch.zeros(4, 8)).shape == (4, 2)
    assert scenedet.create_head("mlp", in_features=8, num_classes=3, hidden=5)(torch.zeros(1, 8)).shape == (1, 3)


def test_register_scenes_guide_example_works_with_the_core_defaults(host):
    scene = scenedet.get_scene("bright-rooms")
    assert (scene.head, scene.aggregator, scene.backbones) == ("linear", "runs", ("tiny-still",))
    assert host.registries["head"].owner(scene.head) == "scenedet"
    assert host.registries["aggregator"].owner(scene.aggregator) == "scenedet"
    labels = [1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1]
    found = scenedet.segment(labels, min_length=scene.min_length, threshold=scene.threshold,
                             aggregator=scene.aggregator)
    assert [(s.start, s.end) for s in found] == [(0, 3), (7, 11)]


def test_register_commands_guide_example_adds_its_command(host, guide_module):
    cli = scenedet.cli.cli
    group = copy.copy(cli)  # never touch the real group
    group.commands = dict(cli.commands)
    guide_module.register_commands(cli=group)
    assert "tiny-backbones" in group.commands and "tiny-backbones" not in cli.commands
    result = CliRunner().invoke(group, ["tiny-backbones"])
    assert result.exit_code == 0, result.output
    assert result.output == "tiny-still\n"


# -- the exporter and the detector ------------------------------------------------------------------
def _scene_list(spans, duration):
    from scenedet.outputs.document import SceneList, make_scenes
    from scenedet.outputs.timecode import FrameRate

    rate = FrameRate(25)
    return SceneList(video="film.mp4", scene="bright-rooms", duration=duration, frame_rate=rate,
                     scenes=make_scenes(spans, rate))


def test_register_exporters_guide_example_writes_youtube_chapters_by_its_two_part_suffix(host, tmp_path):
    from scenedet.outputs import write_output
    from scenedet.plugin import get_exporter_for_suffix

    assert get_exporter_for_suffix("film.yt.txt").name == "youtube-chapters"
    assert get_exporter_for_suffix("FILM.YT.TXT").name == "youtube-chapters"
    with pytest.raises(UsageError, match="suffix '.txt' names no output format"):
        get_exporter_for_suffix("film.txt")  # the two-part suffix is not '.txt'
    scenes = _scene_list([(0.0, 12.0, 0.9), (75.0, 3700.0, 0.8)], duration=3725.0)
    out = tmp_path / "film.yt.txt"
    write_output(scenes, out)
    assert out.read_text().splitlines() == ["0:00 bright-rooms 1", "0:12 (between scenes)",
                                            "1:15 bright-rooms 2", "1:01:40 (between scenes)"]


def _batches(pictures, fps=25.0, size=(32, 18), step=10):
    from scenedet.plugin import FrameBatch

    for first in range(0, len(pictures), step):
        part = np.stack(pictures[first:first + step])
        times = np.arange(first, first + len(part)) / fps
        yield FrameBatch(index=first, times=times, images={size: part})


def test_register_detectors_guide_example_finds_a_frozen_picture(host):
    from scenedet.plugin import Detector, StreamInfo, create_detector, find_plugin

    rng = np.random.default_rng(0)
    moving = [rng.integers(0, 255, (18, 32, 3), dtype=np.uint8) for _ in range(20)]
    still = [np.full((18, 32, 3), 90, dtype=np.uint8)] * 75  # frames 20 .. 94: 3 s at 25 fps
    pictures = moving[:10] + still + moving[10:]
    detector = create_detector("frozen", min_duration="2.5")  # as -O min_duration=2.5 gives it
    assert isinstance(detector, Detector) and detector.min_duration == 2.5
    for batch in _batches(pictures):
        detector.add_frames(batch)
    info = StreamInfo(path=Path("film.mp4"), n_frames=len(pictures), fps=25.0,
                      duration=len(pictures) / 25, has_video=True, has_audio=False)
    found = detector.finish(info)
    assert [(s.start_frame, s.end_frame, s.start, s.end, s.label) for s in found] == [
        (10, 85, 0.4, 3.4, "frozen")]
    assert find_plugin("frozen")[0] == "detector"
    assert create_detector("frozen", min_duration=4).finish(info) == []


def test_register_detectors_guide_example_options_are_checked_as_the_guide_says(host):
    from scenedet.plugin import check_options, get_detector_spec

    spec = get_detector_spec("frozen")
    with pytest.raises(UsageError) as bad:
        check_options("frozen", spec, {"min_duration": "abc"})
    assert str(bad.value) == "frozen: min_duration must be a number, got 'abc'"
    with pytest.raises(UsageError) as typo:
        check_options("frozen", spec, {"min_durration": 5})
    assert str(typo.value) == ("frozen: unknown option 'min_durration'; did you mean "
                               "'min_duration'? (options: max_change, min_duration)")
    guide = GUIDE.read_text()
    assert str(bad.value) in " ".join(guide.split()) and str(typo.value) in " ".join(guide.split())
