"""The plugin SDK: one import root, and the reference plugin set uses nothing else."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import scenedet
import scenedet.plugin as sdk

ROOT = Path(__file__).resolve().parents[1]
# every plugin distribution shipped in this repository, the reference set first
PLUGIN_MODULES = sorted(ROOT.glob("plugins/*/scenedet_*/*.py")) + sorted(ROOT.glob("examples/*/*.py"))


def test_every_promised_name_resolves():
    assert sdk.__all__, "the SDK promises nothing"
    missing = [name for name in sdk.__all__ if not hasattr(sdk, name)]
    assert missing == []
    assert len(set(sdk.__all__)) == len(sdk.__all__)


def test_the_sdk_covers_what_plugins_need():
    for name in ("hookimpl", "ExtractorSpec", "BackboneSpec", "HeadSpec", "AggregatorSpec",
                 "SceneSpec", "Extractor", "Backbone", "MediaRequest", "Second", "ImagePreprocess",
                 "parse_weights", "build_with_weights", "make_backbone", "KnownWeights",
                 "UsageError", "ScenedetError", "WeightsError", "Segment", "create_backbone",
                 # detectors and exporters
                 "DetectorSpec", "Detector", "OptionSpec", "check_options", "find_plugin",
                 "FrameBatch", "FrameSegment", "AudioChunk", "StreamInfo", "ExporterSpec",
                 "Exporter"):
        assert name in sdk.__all__, name


def test_a_detector_written_to_the_protocol_is_one():
    class Mine:
        settings = {"level": 3}

        def add_frames(self, batch): ...

        def add_audio(self, chunk): ...

        def finish(self, info):
            return [sdk.FrameSegment(start=0.0, end=1.0, start_frame=0, end_frame=25, score=1.0,
                                     label="mine")]

    assert isinstance(Mine(), sdk.Detector)
    assert not isinstance(object(), sdk.Detector)
    assert isinstance(lambda scenes: "", sdk.Exporter)


def test_frame_batch_index_is_the_first_frames_index():
    import numpy as np

    batch = sdk.FrameBatch(index=50, times=np.arange(50, 53) / 25.0, images={})
    assert len(batch) == 3 and batch.index == 50
    assert "the first one's" in sdk.FrameBatch.__doc__.splitlines()[0]


def test_code_outside_the_sdk_has_a_public_registry_module():
    import scenedet.plugin.registry as registry

    assert {"find_plugin", "check_options", "create_detector", "get_exporter_for_suffix",
            "get_scene"} <= set(registry.__all__)


def test_the_top_level_names_stay_and_are_the_same_objects():
    from scenedet import AggregatorSpec, SceneSpec, hookimpl

    assert SceneSpec is sdk.SceneSpec and AggregatorSpec is sdk.AggregatorSpec
    assert hookimpl is sdk.hookimpl
    assert scenedet.segment([1, 1], min_length=2) == [sdk.Segment(0, 2, None)]


def _scenedet_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "scenedet":
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "scenedet"]
    return found


@pytest.mark.parametrize("module", PLUGIN_MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_shipped_plugins_import_only_the_sdk(module):
    """The reference set and our other plugins are written exactly as a third party would."""
    bad = [m for m in _scenedet_imports(module) if m not in ("scenedet", "scenedet.plugin")]
    assert bad == [], f"{module.name} imports private scenedet modules: {bad}"


def test_importing_the_sdk_does_not_import_torch():
    code = "import sys, scenedet.plugin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
