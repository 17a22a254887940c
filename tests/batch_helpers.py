"""A tiny film library and model for the batch tests (shared by test_batch*.py)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import torch
from films import cfr_times, click, write_film

import scenedet
from scenedet.inference.modelfile import ModelMeta, save_model_file

#: relative path -> seconds (two films named film.mp4 in different folders)
GOOD = {"a/film.mp4": 3, "b/film.mp4": 4, "c.mkv": 3}


def make_library(root: Path) -> Path:
    """``root/good`` holds :data:`GOOD`; ``root/bad.mp4`` is not a film."""
    for i, (rel, seconds) in enumerate(GOOD.items()):
        path = root / "good" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        fps = Fraction(8 + 2 * i)
        write_film(path, cfr_times(int(fps * seconds), fps), fps=fps, gop=int(fps),
                   audio=click(seconds, at=1.5 + 0.25 * i))
    (root / "bad.mp4").write_bytes(b"this is not a film\n" * 64)
    return root


def make_model(path: Path, *, seed: int = 0) -> Path:
    """A model file over random:0 backbones (nothing downloaded), head from ``seed``."""
    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    torch.manual_seed(seed)
    head = torch.nn.Linear(640, 2)
    save_model_file(path, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                    backbone_weights=tuple(b.weights_id for b in backbones),
                                    feature_dims=(512, 128)), head.state_dict())
    return path


def result_files(outdir: Path) -> dict[str, bytes]:
    """Every per-film result of OUTDIR, by file name, as bytes."""
    return {p.name: p.read_bytes() for p in sorted(outdir.glob("*.json"))}


# Module-scoped fixtures the batch tests share (import them by name: ``from batch_helpers
# import lib, model``): one generated library and one model file per test module.
@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return make_library(tmp_path_factory.mktemp("library"))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("model") / "kissing.pt")


def batch_cli(*args: object, input: str | None = None):
    """``scenedet batch -p kissing --threads 1 ARGS...`` in-process (click's test runner)."""
    from click.testing import CliRunner

    from scenedet.cli import cli

    return CliRunner().invoke(cli, ["batch", "-p", "kissing", "--threads", "1", *map(str, args)],
                              input=input)


@pytest.fixture(scope="module")
def reference(lib, model, tmp_path_factory):
    """An uninterrupted run over the good films, one worker: the results every resume must match."""
    out = tmp_path_factory.mktemp("reference")
    result = batch_cli(lib / "good", "-o", out, "-m", model, "-q")
    assert result.exit_code == 0, result.output
    return out
