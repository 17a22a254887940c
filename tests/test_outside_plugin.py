"""An outside author's plugin, written from docs/plugin-guide.md alone, through every front end.

The guide's snippets make one plugin (a backbone and a scene, a frame-level detector, an exporter
with a two-part suffix, a command; see tests/test_guide_plugin.py). Here it runs next to the
core only, through ``scenedet.run`` from Python, ``scenedet run`` alone and mixed with its scene,
``scenedet export`` and ``scenedet batch``; and a detector whose ``finish()`` raises is one line
naming it, exit 1, with no output left behind.
"""

from __future__ import annotations

import json
import types

import pytest
import torch
from click.testing import CliRunner

import scenedet
import scenedet.builtin
import scenedet.cli
from scenedet.plugin import DetectorSpec, FrameSegment, hookimpl
from scenedet.plugin._host import PluginHost, reset_host

from test_guide_plugin import guide_module  # noqa: F401  (the guide's snippets as one module)


class Breaks:
    """A detector whose finish() fails, as plugin code may."""

    def add_frames(self, batch):
        pass

    def finish(self, info) -> list[FrameSegment]:
        raise RuntimeError("the author forgot a case")


class BreaksEarly(Breaks):
    """A detector whose add_frames() fails on the first batch, with the film still decoding."""

    def add_frames(self, batch):
        raise ValueError("no frames expected")


breaker = types.ModuleType("breaker")


@hookimpl
def _register_detectors(register):
    register(DetectorSpec(name="breaks", factory=Breaks, width=32, height=18,
                          summary="fails in finish()"))
    register(DetectorSpec(name="breaks-early", factory=BreaksEarly, width=32, height=18,
                          summary="fails in add_frames()"))


breaker.register_detectors = _register_detectors


@pytest.fixture
def host(guide_module):  # noqa: F811
    host = PluginHost()
    host.add_plugin(scenedet.builtin, "scenedet", version=scenedet.__version__)
    host.add_plugin(guide_module, "guide", version="0")
    host.add_plugin(breaker, "breaker", version="0")
    reset_host(host)
    yield host
    reset_host(None)


@pytest.fixture
def model(host, tmp_path):
    """A model file for the guide's scene, over its tiny backbone's seeded weights."""
    from scenedet.inference.modelfile import ModelMeta, save_model_file

    backbone = scenedet.create_backbone("tiny-still", weights="random:0")
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 2)
    return save_model_file(tmp_path / "bright.pt", ModelMeta(
        scene="bright-rooms", backbones=("tiny-still",), backbone_weights=(backbone.weights_id,),
        feature_dims=(8,)), head.state_dict())


def _cli(*args):
    result = CliRunner().invoke(scenedet.cli.cli, [str(a) for a in args])
    return result


def test_the_library_runs_the_outside_detector_alone_and_with_its_scene(host, model, media_films):
    film = media_films.get("cfr24").path
    alone = scenedet.run(film, ["frozen"], progress=False)
    assert alone.names == ["frozen"] and alone["frozen"].n_frames == 120
    both = scenedet.run(film, ["bright-rooms", "frozen"], model=model, progress=False)
    assert both.names == ["bright-rooms", "frozen"]
    assert len(both["bright-rooms"].scores) == 5  # one probability per whole second
    assert both["frozen"].to_dict() == alone["frozen"].to_dict()  # the one decode, same frames
    docs = both.documents()
    assert [d["kind"] for d in docs.values()] == ["scene", "detector"]


def test_the_cli_runs_it_alone_mixed_exports_and_batches(host, model, media_films, tmp_path):
    film = media_films.get("cfr24").path
    out = _cli("run", "-p", "frozen", film, "-q", "-o", tmp_path / "frozen.yt.txt",
               "-o", tmp_path / "frozen.json")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "frozen.yt.txt").read_text().startswith("0:00 ")  # YouTube chapters
    mixed = _cli("run", "-p", "bright-rooms", "-p", "frozen", "-m", model, film, "-q",
                 "-o", tmp_path / "all.json", "-o", tmp_path / "f.{scene}.yt.txt")
    assert mixed.exit_code == 0, mixed.output
    run = json.loads((tmp_path / "all.json").read_text())
    assert [r["scene"] for r in run["results"]] == ["bright-rooms", "frozen"]
    assert (tmp_path / "f.bright-rooms.yt.txt").exists() and (tmp_path / "f.frozen.yt.txt").exists()
    exported = _cli("export", tmp_path / "frozen.json", "-o", tmp_path / "again.yt.txt", "-q")
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "again.yt.txt").read_text() == (tmp_path / "frozen.yt.txt").read_text()
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.mp4").write_bytes(film.read_bytes())
    batch = _cli("batch", "-p", "bright-rooms", "-p", "frozen", "-m", model, tmp_path / "lib",
                 "-o", tmp_path / "out", "--format", ".yt.txt", "-q")
    assert batch.exit_code == 0, batch.output
    (result,) = [p for p in (tmp_path / "out").glob("*.json")]
    data = json.loads(result.read_text())
    assert [r["scene"] for r in data["results"]] == ["bright-rooms", "frozen"]
    assert sorted(p.name.split(".", 1)[1] for p in (tmp_path / "out").glob("*.yt.txt")) == [
        "bright-rooms.yt.txt", "frozen.yt.txt"]
    again = _cli("batch", "-p", "bright-rooms", "-p", "frozen", "-m", model, tmp_path / "lib",
                 "-o", tmp_path / "out", "--format", ".yt.txt")
    assert again.exit_code == 0 and "0 film(s) to do, 1 already done" in again.output
    command = _cli("tiny-backbones")
    assert command.exit_code == 0 and "tiny-still" in command.output


def test_a_detector_raising_in_finish_is_one_line_naming_it_and_no_output(host, media_films,
                                                                          tmp_path):
    film = media_films.get("cfr24").path
    for plugins in (["breaks"], ["frozen", "breaks"]):
        args = [a for p in plugins for a in ("-p", p)]
        out = _cli("run", *args, film, "-q", "-o", tmp_path / "out.{scene}.json")
        assert out.exit_code == 1, out.output
        lines = out.output.strip().splitlines()
        assert lines == ["Error: breaks: finish() failed: RuntimeError: the author forgot a case"]
        assert list(tmp_path.iterdir()) == []
    shown = _cli("--traceback", "run", "-p", "breaks", film, "-q")
    assert shown.exit_code == 1 and "Traceback" in shown.output
    assert "the author forgot a case" in shown.output.splitlines()[-1]
    with pytest.raises(scenedet.PluginError) as failed:
        scenedet.run(film, ["breaks"], progress=False)
    assert (failed.value.plugin, failed.value.component) == ("breaks", "finish()")
    assert isinstance(failed.value.__cause__, RuntimeError)


def test_a_detector_raising_mid_pass_leaves_no_decoding_behind(host, media_films):
    """The pass is closed at once: no decoding thread outlives the error (stop_all finds none)."""
    import threading

    from scenedet.inference.stream import stop_all

    film = media_films.get("long").path
    for workers in (1, 2):
        with pytest.raises(scenedet.PluginError, match="breaks-early: add_frames\\(\\) failed: "
                                                       "ValueError: no frames expected") as failed:
            scenedet.run(film, ["breaks-early"], decode_workers=workers, progress=False)
        assert failed.value.component == "add_frames()"  # while the film was still decoding
        assert not [t for t in threading.enumerate() if t.name.startswith("scenedet-decode")]
        del failed
        assert stop_all(timeout=1)
