"""scenedet.inference.weights: resolving ``weights=`` and the shared image preprocessing.

Small modules stand in for backbones here; the real backbones are tested in their own files.
"""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from scenedet.errors import WeightsError
from scenedet.inference.preprocess import ImagePreprocess
from scenedet.inference.weights import (KnownWeights, build_with_weights, checkpoints_dir,
                              fetch_pretrained, file_sha256, load_file, parse_weights)


def tiny() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))


def known_for(content: bytes, name: str = "tiny") -> KnownWeights:
    prefix = hashlib.sha256(content).hexdigest()[:8]
    return KnownWeights(url=f"https://example.invalid/models/{name}-{prefix}.pth",
                        weights_id=f"test:{name}")


def saved(path: Path, module: nn.Module) -> bytes:
    torch.save(module.state_dict(), path)
    return path.read_bytes()


# -- parsing ------------------------------------------------------------------------------------

def test_parse_weights_forms(tmp_path):
    assert parse_weights("pretrained").kind == parse_weights(None).kind == "pretrained"
    assert parse_weights("random:7").seed == 7
    file = tmp_path / "w.pth"
    file.write_bytes(b"x")
    assert parse_weights(str(file)).path == file


@pytest.mark.parametrize("bad", ["random", "random:x", "random:-1", "no/such/file.pth"])
def test_parse_weights_rejects(bad):
    with pytest.raises(WeightsError) as err:
        parse_weights(bad)
    assert "\n" not in str(err.value)


def test_known_weights_follow_torch_hub_convention():
    known = KnownWeights(url="https://download.pytorch.org/models/resnet18-f37072fd.pth",
                         weights_id="tv")
    assert known.file_name == "resnet18-f37072fd.pth"
    assert known.hash_prefix == "f37072fd"
    assert known.cache_path == Path(torch.hub.get_dir()) / "checkpoints" / known.file_name
    assert str(known.cache_path).startswith(str(checkpoints_dir()))
    with pytest.raises(ValueError):
        KnownWeights(url="https://example.invalid/nohash.pth", weights_id="x")


# -- official files -----------------------------------------------------------------------------

def test_offline_without_file_says_where_to_put_it():
    known = known_for(b"abc")
    with pytest.raises(WeightsError) as err:
        fetch_pretrained(known, backbone="tiny")
    message = str(err.value)
    assert str(known.cache_path) in message and known.url in message
    assert "path as the weights" in message and "SCENEDET_OFFLINE" in message and "\n" not in message
    assert " --" not in message, "a library error names no CLI flag"


def test_cached_file_is_used_when_its_hash_matches(tmp_path):
    content = saved(tmp_path / "w.pth", tiny())
    known = known_for(content)
    known.cache_path.parent.mkdir(parents=True)
    known.cache_path.write_bytes(content)
    assert fetch_pretrained(known, backbone="tiny") == known.cache_path


def test_cached_file_with_wrong_hash_is_refused():
    known = known_for(b"the official bytes")
    known.cache_path.parent.mkdir(parents=True)
    known.cache_path.write_bytes(b"something else")
    with pytest.raises(WeightsError, match="checksum") as err:
        fetch_pretrained(known, backbone="tiny")
    assert str(known.cache_path) in str(err.value)
    assert known.cache_path.exists()  # left for the user to inspect


def test_download_once_with_hash_check(monkeypatch):
    content = b"downloaded weights"
    known = known_for(content)
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, hash_prefix))
        Path(dst).write_bytes(content)

    monkeypatch.setenv("SCENEDET_OFFLINE", "0")
    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    assert fetch_pretrained(known, backbone="tiny") == known.cache_path
    assert fetch_pretrained(known, backbone="tiny") == known.cache_path  # cached: no second call
    assert calls == [(known.url, known.hash_prefix)]


def test_failed_download_says_where_to_put_the_file(monkeypatch):
    def no_network(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setenv("SCENEDET_OFFLINE", "0")
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    known = known_for(b"abc")
    with pytest.raises(WeightsError) as err:
        fetch_pretrained(known, backbone="tiny")
    assert "URLError" in str(err.value) and str(known.cache_path) in str(err.value)


def test_downloaded_file_with_wrong_hash_is_reported(monkeypatch):
    def bad_hash(url, dst, hash_prefix=None, progress=True):
        raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "0000")')

    monkeypatch.setenv("SCENEDET_OFFLINE", "0")
    monkeypatch.setattr(torch.hub, "download_url_to_file", bad_hash)
    with pytest.raises(WeightsError, match="fails the checksum"):
        fetch_pretrained(known_for(b"abc"), backbone="tiny")


# -- building with weights ----------------------------------------------------------------------

def test_random_weights_are_seeded_and_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, id_a = build_with_weights(tiny, "random:0", backbone="tiny")
    b, _ = build_with_weights(tiny, "random:0", backbone="tiny")
    c, _ = build_with_weights(tiny, "random:1", backbone="tiny")
    assert torch.equal(torch.random.get_rng_state(), state)
    assert id_a == "random:0" and not a.training
    assert torch.equal(a[0].weight, b[0].weight) and not torch.equal(a[0].weight, c[0].weight)


def test_path_route_round_trips_and_ids_the_file(tmp_path):
    source, _ = build_with_weights(tiny, "random:3", backbone="tiny")
    path = tmp_path / "w.pth"
    saved(path, source)
    loaded, weights_id = build_with_weights(tiny, str(path), backbone="tiny")
    assert weights_id == f"file:{file_sha256(path)[:16]}"
    assert all(torch.equal(source.state_dict()[k], v) for k, v in loaded.state_dict().items())
    assert not any(t.is_meta for t in loaded.parameters())


def test_path_to_the_official_file_gets_the_official_id(tmp_path):
    path = tmp_path / "copy.pth"
    known = known_for(saved(path, tiny()))
    _, weights_id = build_with_weights(tiny, str(path), backbone="tiny", known=known)
    assert weights_id == known.weights_id


def test_pretrained_goes_through_the_cache(tmp_path):
    source, _ = build_with_weights(tiny, "random:4", backbone="tiny")
    content = saved(tmp_path / "w.pth", source)
    known = known_for(content)
    known.cache_path.parent.mkdir(parents=True)
    known.cache_path.write_bytes(content)
    loaded, weights_id = build_with_weights(tiny, "pretrained", backbone="tiny", known=known)
    assert weights_id == "test:tiny" and torch.equal(loaded[0].weight, source[0].weight)


def test_pretrained_without_known_file_uses_the_given_message():
    with pytest.raises(WeightsError, match="nothing to download"):
        build_with_weights(tiny, "pretrained", backbone="tiny", no_pretrained="nothing to download")


def test_wrong_shapes_give_one_line_listing_them(tmp_path):
    path = tmp_path / "w.pth"
    torch.save({"0.weight": torch.zeros(5, 4), "0.bias": torch.zeros(3), "extra": torch.zeros(1)},
               path)
    with pytest.raises(WeightsError) as err:
        build_with_weights(tiny, str(path), backbone="tiny")
    message = str(err.value)
    assert "\n" not in message
    assert "0.weight (5, 4) vs (3, 4)" in message and "unexpected extra" in message
    assert "missing 1.weight" in message


def test_checkpoint_wrappers_and_module_prefix_are_unwrapped(tmp_path):
    source, _ = build_with_weights(tiny, "random:5", backbone="tiny")
    path = tmp_path / "ckpt.pth"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}},
               path)
    loaded, _ = build_with_weights(tiny, str(path), backbone="tiny")
    assert torch.equal(loaded[0].weight, source[0].weight)


def test_safetensors_file(tmp_path):
    from safetensors.torch import save_file

    source, _ = build_with_weights(tiny, "random:6", backbone="tiny")
    path = tmp_path / "w.safetensors"
    save_file(source.state_dict(), str(path))
    loaded, _ = build_with_weights(tiny, str(path), backbone="tiny")
    assert torch.equal(loaded[1].running_var, source[1].running_var)


class _Payload:
    """Pickled objects that need code to load are refused (weights_only)."""


def test_files_with_python_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": tiny().state_dict(), "extra": _Payload()}, path)
    with pytest.raises(WeightsError, match="Python objects"):
        build_with_weights(tiny, str(path), backbone="tiny")


def test_garbage_file_is_a_weights_error(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read"):
        build_with_weights(tiny, str(path), backbone="tiny")


def test_numpy_arrays_load_when_allowed(tmp_path):
    path = tmp_path / "pca.pth"
    torch.save({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(3)}, path)
    with pytest.raises(WeightsError):
        load_file(path, backbone="x")
    assert load_file(path, backbone="x", allow_numpy=True)["a"].shape == (2, 3)


# -- image preprocessing ------------------------------------------------------------------------

IMAGENET = ImagePreprocess(resize=256, crop=224)


def test_solid_colour_gives_exactly_the_normalised_values():
    still = np.empty((90, 160, 3), np.uint8)
    still[:] = (255, 0, 128)
    out = IMAGENET(still)
    expected = (torch.tensor([255, 0, 128]) / 255 - torch.tensor(IMAGENET.mean)) / torch.tensor(IMAGENET.std)
    assert out.shape == (3, 224, 224) and out.dtype == torch.float32
    assert torch.equal(out, expected.view(3, 1, 1).expand(3, 224, 224))


def test_shorter_side_resize_then_centre_crop_keeps_only_the_centre():
    still = np.zeros((100, 300, 3), np.uint8)  # wide: only the middle third survives the crop
    still[:, :100] = (255, 0, 0)
    still[:, 100:200] = (0, 0, 255)
    still[:, 200:] = (255, 0, 0)
    out = ImagePreprocess(resize=256, crop=224, mean=(0, 0, 0), std=(1, 1, 1))(still)
    assert torch.equal(out[0], torch.zeros(224, 224)) and torch.equal(out[2], torch.ones(224, 224))


def test_batches_and_read_only_arrays():
    frames = np.random.default_rng(0).integers(0, 256, (4, 40, 60, 3), dtype=np.uint8)
    frames.flags.writeable = False
    batch = ImagePreprocess(resize=36, crop=32)(frames)
    assert batch.shape == (4, 3, 32, 32)
    assert torch.equal(batch[2], ImagePreprocess(resize=36, crop=32)(frames[2]))


@pytest.mark.parametrize("bad", [np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.uint8),
                                 np.zeros((8, 8, 4), np.uint8)])
def test_preprocess_rejects_other_arrays(bad):
    with pytest.raises(ValueError):
        IMAGENET(bad)
