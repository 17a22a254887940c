"""Model files: round trip, safe loading, and refusal of files that do not fit."""

import pickle

import pytest
import torch

from scenedet.errors import ModelFileError
from scenedet.inference.modelfile import (PREPROCESSING_VERSION, ModelMeta, check_compatible,
                                          load_model_file, save_model_file)
from scenedet.paths import default_model_path


def _meta(**kw):
    base = dict(scene="kissing", backbones=("resnet18", "vggish"),
                backbone_weights=("random:0", "random:0"), feature_dims=(512, 128),
                training={"test": {"f1": 0.9}})
    base.update(kw)
    return ModelMeta(**base)


def test_round_trip_keeps_metadata_and_weights(tmp_path):
    head = torch.nn.Linear(640, 2)
    path = save_model_file(tmp_path / "m.pt", _meta(), head.state_dict(),
                           {"vggish": {"w": torch.ones(3)}})
    loaded = load_model_file(path)
    assert loaded.meta == _meta()
    assert loaded.meta.in_features == 640
    assert torch.equal(loaded.head_state["weight"], head.weight.detach())
    assert torch.equal(loaded.backbone_states["vggish"]["w"], torch.ones(3))
    assert not list(tmp_path.glob("*.tmp"))


def test_plain_pickle_is_never_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("open('%s', 'w').write('pwned')" % (tmp_path / "pwned"),))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelFileError, match="not a scenedet model file"):
        load_model_file(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("content", [b"", b"hello", b"PK\x03\x04broken"])
def test_garbage_is_one_line_error(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        load_model_file(path)
    assert "\n" not in str(info.value)


def test_torch_file_without_metadata_is_refused(tmp_path):
    path = tmp_path / "plain.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(ModelFileError, match="no scenedet metadata"):
        load_model_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="model file not found"):
        load_model_file(tmp_path / "nope.pt")


def test_refuses_other_scene_preprocessing_or_feature_sizes(tmp_path):
    head = torch.nn.Linear(640, 2).state_dict()
    good = load_model_file(save_model_file(tmp_path / "a.pt", _meta(), head))
    check_compatible(good, "kissing", {"resnet18": 512, "vggish": 128})
    with pytest.raises(ModelFileError, match="trained for scene 'kissing', not 'fight'"):
        check_compatible(good, "fight", {"resnet18": 512, "vggish": 128})
    with pytest.raises(ModelFileError, match="expects 512-d features from 'resnet18'"):
        check_compatible(good, "kissing", {"resnet18": 1024, "vggish": 128})
    old = load_model_file(save_model_file(tmp_path / "b.pt",
                                          _meta(preprocessing=PREPROCESSING_VERSION + 1), head))
    with pytest.raises(ModelFileError, match="preprocessing version"):
        check_compatible(old, "kissing", {"resnet18": 512, "vggish": 128})


def test_default_model_path_follows_scenedet_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENEDET_HOME", str(tmp_path))
    assert default_model_path("kissing") == tmp_path / "models" / "kissing.pt"


def test_provenance_names_random_backbones_as_a_test_pattern_and_nothing_else():
    from scenedet.inference.modelfile import ModelMeta, provenance

    real = provenance(ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                backbone_weights=("pretrained", "embedded"),
                                feature_dims=(512, 128)), "k.pt")
    assert real == {"model": "k.pt", "backbones": {"resnet18": "pretrained", "vggish": "embedded"},
                    "head": "linear", "test_pattern": False}
    mixed = provenance(ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                 backbone_weights=("pretrained", "random:3"),
                                 feature_dims=(512, 128)), "k.pt")
    assert mixed["test_pattern"] and mixed["note"] == ("backbones: vggish random:3, a test "
                                                       "pattern, not a trained detector")
