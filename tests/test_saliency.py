"""Saliency maps: large where the generated cue (the synthetic data's magenta disc) is."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import scenedet
from scenedet.cli import cli
from scenedet.inference.model import SceneModel
from scenedet.inference.modelfile import ModelMeta, save_model_file
from scenedet.inference.preprocess import ImagePreprocess
from scenedet.media.encode import FilmWriter
from scenedet.outputs.saliency import (heat_overlay, parse_seconds, saliency, seconds_in_part,
                                       write_saliency)
from scenedet.synth.dataset import VISUAL_CUE_RGB

H, W = 120, 160
CENTRE, RADIUS = (60, 70), 28  # (y, x): inside ResNet's centre crop of a 160x120 still


def _cue_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels only the cue can have (docs/synthetic-data.md): R > 200, G < 60, B > 200."""
    return (rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] > 200)


@pytest.fixture(scope="module")
def cue_film(tmp_path_factory):
    """4 s at 12 fps on a grey ramp; the stills of seconds 1 and 2 show the magenta disc."""
    path = tmp_path_factory.mktemp("saliency") / "cue.mp4"
    yy, xx = np.mgrid[:H, :W]
    disc = (yy - CENTRE[0]) ** 2 + (xx - CENTRE[1]) ** 2 <= RADIUS ** 2
    background = np.repeat(((xx / W) * 120 + 60).astype(np.uint8)[..., None], 3, axis=2)
    with FilmWriter(path, width=W, height=H, fps=12, gop=12, audio_rate=None, crf=18) as w:
        for i in range(48):
            frame = background.copy()
            if 12 < i <= 36:  # stamped in (1, 3]: the stills of seconds 1 and 2
                frame[disc] = VISUAL_CUE_RGB
            w.write_frame(frame)
    return path


class MagentaBackbone(torch.nn.Module):
    """One feature: how much of the still is magenta (R + B - G above any grey)."""

    name = "magenta"
    input = "still"
    weights_id = "none"
    feature_dim = 1

    def __init__(self):
        super().__init__()
        self.preprocess = ImagePreprocess(resize=(H, W), crop=(H, W))

    def forward(self, x):
        mean = torch.tensor(self.preprocess.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.preprocess.std).view(1, 3, 1, 1)
        rgb = x * std + mean
        magenta = torch.relu(rgb[:, 0] + rgb[:, 2] - rgb[:, 1] - 1.2)
        return magenta.mean(dim=(1, 2))[:, None] * 100


def _magenta_model():
    head = torch.nn.Linear(1, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[0.0], [1.0]]))
        head.bias.zero_()
    return SceneModel([MagentaBackbone()], head).eval()


@pytest.mark.slow
def test_the_map_is_where_the_cue_is(cue_film):
    maps = saliency(_magenta_model(), cue_film, [0, 1])
    without, with_cue = maps
    mask = _cue_mask(with_cue.still)
    assert mask.sum() > 0.8 * np.pi * RADIUS ** 2  # the disc survived compression
    assert with_cue.combined.shape == (H, W)  # the still's own pixels
    assert with_cue.combined[mask].min() > 0
    yy, xx = np.mgrid[:H, :W]
    far = (yy - CENTRE[0]) ** 2 + (xx - CENTRE[1]) ** 2 > (RADIUS + 4) ** 2  # past blurred edges
    assert with_cue.combined[far].max() == 0  # the gradient lives on the disc alone
    assert without.combined.max() == 0  # no cue, nothing drives the score
    assert with_cue.probability > without.probability


def test_a_resnet_map_is_of_the_still_and_zero_outside_its_crop(cue_film, tmp_path):
    backbones = [scenedet.create_backbone("resnet18", weights="random:0")]
    head = torch.nn.Linear(512, 2)
    model = SceneModel(backbones, head).eval()
    (m,) = saliency(model, cue_film, [2])
    assert m.combined.shape == (H, W)
    mask = _cue_mask(m.still)
    assert (m.combined[mask] > 0).mean() > 0.95  # non-zero where the cue is
    # ResNet sees the centre 224 of the still resized to 256 high: the outer columns are cut
    assert m.combined[:, :20].max() == 0 and m.combined[:, -20:].max() == 0
    written = write_saliency([m], tmp_path, stem="cue")
    assert [p.name for p in written] == ["cue-second-00002.png", "cue-second-00002.npy"]
    with Image.open(written[0]) as img:
        assert img.size == (W, H)
    assert np.array_equal(np.load(written[1]), m.combined)


def test_overlay_keeps_the_still_where_the_map_is_zero():
    still = np.full((10, 12, 3), 100, np.uint8)
    heat = np.zeros((10, 12), np.float32)
    heat[2:4, 2:4] = 1.0
    out = heat_overlay(still, heat)
    assert out.shape == still.shape and out.dtype == np.uint8
    assert np.array_equal(out[6:, 6:], still[6:, 6:]) and not np.array_equal(out[2:4, 2:4], still[2:4, 2:4])


def test_a_part_of_the_film_names_its_whole_seconds():
    assert seconds_in_part(0, 3) == [0, 1, 2]
    assert seconds_in_part(1.5, 4.2) == [2, 3]  # [k, k+1) inside [start, end)
    assert seconds_in_part(2.2, 2.9) == []


def test_parse_seconds():
    assert parse_seconds("12,40,00:01:05") == [12, 40, 65]
    assert parse_seconds("10-12, 11") == [10, 11, 12]
    with pytest.raises(ValueError):
        parse_seconds("5-3")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*has no audio track")
def test_explain_command_writes_overlays_and_maps(cue_film, tmp_path):
    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    model = tmp_path / "m.pt"
    save_model_file(model, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                     backbone_weights=tuple(b.weights_id for b in backbones),
                                     feature_dims=(512, 128)), torch.nn.Linear(640, 2).state_dict())
    out = tmp_path / "maps"
    result = CliRunner().invoke(cli, ["explain", "-p", "kissing", "-m", str(model), str(cue_film),
                                      "--at", "1,2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "cue-second-00001.npy", "cue-second-00001.png", "cue-second-00002.npy", "cue-second-00002.png"]
    raw = np.load(out / "cue-second-00001.npy")
    assert raw.shape == (H, W) and raw.max() > 0
    assert f"-> {out}" in result.output
    bad = CliRunner().invoke(cli, ["explain", "-p", "kissing", "-m", str(model), str(cue_film),
                                   "--at", "9", "-o", str(out)])
    assert bad.exit_code == 2 and "outside the film" in bad.output
    part = tmp_path / "part"
    result = CliRunner().invoke(cli, ["explain", "-p", "kissing", "-m", str(model), str(cue_film),
                                      "--start", "1", "--duration", "1", "-o", str(part)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in part.iterdir()) == ["cue-second-00001.npy", "cue-second-00001.png"]
    both = CliRunner().invoke(cli, ["explain", "-p", "kissing", "-m", str(model), str(cue_film),
                                    "--at", "1", "--start", "1", "-o", str(part)])
    assert both.exit_code == 2 and "not both" in both.output
